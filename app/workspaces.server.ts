import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { audit } from "./audit.server";
import { mintBootstrapToken, revokeBootstrapTokens } from "./bootstrap.server";
import { archForServerType, renderCloudInit } from "./cloud-init.server";
import type { Config } from "./config.server";
import type { Database } from "./context.server";
import { readCredential } from "./credentials.server";
import { cloudflare } from "./cloudflare.server";
import { workspaceEvents, workspaces, type WorkspaceStatus } from "./db/schema";
import { hetzner, type HetznerClient } from "./hetzner.server";
import { isProviderError, ProviderError, providerNames } from "./http.server";
import { github } from "./github.server";
import { listInstallations } from "./installations.server";
import { getPolicy, sizes, type Policy, type Size } from "./policy.server";
import type { WorkspaceForm, WorkspaceFormLimits } from "./workspace-schema";
import { costSoFar } from "./workspace-cost";
import { workspaceHostname, workspaceIdOf } from "./workspace-url";

/**
 * Workspaces: the rows, their state machine (ARCHITECTURE.md §5) and the cloud work behind each
 * transition. Every transition is one conditional UPDATE … RETURNING, so of two racing requests only one
 * acts; every user-facing query takes the user id.
 */

export type Workspace = typeof workspaces.$inferSelect;
export type WorkspaceEvent = typeof workspaceEvents.$inferSelect;
/** What the cloud work needs: the database and the configuration (a load context, or the sweep's). */
export type Deps = Pick<AppLoadContext, "db" | "config">;

export const LIVE_STATUSES = ["creating", "running", "stopping"] as const satisfies WorkspaceStatus[];
export const PROVISIONING_TIMEOUT_MS = 10 * 60 * 1000;
export const HEARTBEAT_INTERVAL_MS = 30 * 1000;
/** A running workspace missing this many heartbeats in a row is considered lost. */
export const MISSED_HEARTBEATS = 3;
export const MANAGED_BY = "sam";
const DNS_COMMENT = `managed-by=${MANAGED_BY}`;
const IMAGE = "ubuntu-24.04";

// ---- ids and queries ----------------------------------------------------------------------------------

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** 12 lowercase base32 characters (60 random bits): short, and safe as a DNS label and a Hetzner label. */
export function newWorkspaceId(): string {
  return [...crypto.getRandomValues(new Uint8Array(12))].map((byte) => BASE32[byte & 31]).join("");
}

export const isWorkspaceId = (value: string | undefined): value is string => typeof value === "string" && /^[a-z2-7]{12}$/.test(value);

export function listWorkspaces(db: Database, userId: string) {
  return db.query.workspaces.findMany({ where: eq(workspaces.userId, userId), orderBy: [desc(workspaces.createdAt)] });
}

export async function getWorkspace(db: Database, { id, userId }: { id: string; userId: string }): Promise<Workspace | null> {
  if (!isWorkspaceId(id)) return null;
  return (await db.query.workspaces.findFirst({ where: and(eq(workspaces.id, id), eq(workspaces.userId, userId)) })) ?? null;
}

/** For agent endpoints, whose caller proved the workspace id with a callback token. */
export async function getWorkspaceForAgent(db: Database, id: string): Promise<Workspace | null> {
  return (await db.query.workspaces.findFirst({ where: eq(workspaces.id, id) })) ?? null;
}

/** The timeline; the caller has already checked whose workspace it is. */
export function listEvents(db: Database, workspaceId: string) {
  return db.query.workspaceEvents.findMany({ where: eq(workspaceEvents.workspaceId, workspaceId), orderBy: [asc(workspaceEvents.id)] });
}

export async function recordEvent(db: Database, workspaceId: string, step: string, status: WorkspaceEvent["status"], message?: string | null) {
  await db.insert(workspaceEvents).values({ workspaceId, step, status, message: message ? message.slice(0, 2000) : null });
}

export async function countLiveWorkspaces(db: Database, userId: string): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)` })
    .from(workspaces)
    .where(and(eq(workspaces.userId, userId), inArray(workspaces.status, [...LIVE_STATUSES])));
  return row?.count ?? 0;
}

// ---- transitions --------------------------------------------------------------------------------------

/** Which row (and, for provisioning, which run of it: the run's `startedAt`) a write may touch. */
type Scope = { id: string; userId?: string; run?: Date | null };

const runMatches = (run: Date | null | undefined) =>
  run === undefined ? undefined : run === null ? isNull(workspaces.startedAt) : eq(workspaces.startedAt, run);

/** The one way a status changes: `UPDATE … WHERE id = ? [AND user_id = ?] AND status IN (from) RETURNING`. */
export async function transition(
  db: Database,
  scope: Scope,
  from: readonly WorkspaceStatus[],
  set: Partial<typeof workspaces.$inferInsert> & { status: WorkspaceStatus },
): Promise<Workspace | null> {
  const [row] = await db
    .update(workspaces)
    .set({ ...set, updatedAt: new Date() })
    .where(
      and(
        eq(workspaces.id, scope.id),
        scope.userId ? eq(workspaces.userId, scope.userId) : undefined,
        runMatches(scope.run),
        inArray(workspaces.status, [...from]),
      ),
    )
    .returning();
  return row ?? null;
}

/**
 * Records provisioning progress only while the workspace is still being created by this run: after a stop
 * and a restart, a late answer to the old run must not write into the new one.
 */
export async function saveWhileCreating(db: Database, run: Pick<Workspace, "id" | "startedAt">, set: Partial<typeof workspaces.$inferInsert>): Promise<boolean> {
  const [row] = await db
    .update(workspaces)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(workspaces.id, run.id), eq(workspaces.status, "creating"), runMatches(run.startedAt)))
    .returning({ id: workspaces.id });
  return Boolean(row);
}

/** Seconds of the current run, added to billedSeconds when the servers go. */
function runSeconds(workspace: Pick<Workspace, "startedAt">, now: number) {
  return workspace.startedAt ? Math.max(0, Math.round((now - workspace.startedAt.getTime()) / 1000)) : 0;
}

const cleared = { serverId: null, firewallId: null, ipv4: null, dnsRecordId: null, startedAt: null, lastHeartbeatAt: null } as const;

// ---- the clouds ---------------------------------------------------------------------------------------

/** The instance's Cloudflare zone: workspace hostnames' DNS records and their Origin CA certificates. */
export interface ZoneClient {
  createRecord(hostname: string, ipv4: string): Promise<string>;
  deleteRecord(id: string): Promise<void>;
  findRecords(hostname: string): Promise<string[]>;
  /** Every record this instance made (its comment and a `ws-<id>.<BASE_DOMAIN>` name), with the workspace it serves. */
  listManaged(): Promise<Array<{ id: string; workspaceId: string }>>;
  /** Signs the agent's CSR for its hostname (90 days, ECC). */
  issueCertificate(hostname: string, csr: string): Promise<{ id: string; certificate: string }>;
  revokeCertificate(id: string): Promise<void>;
}

export interface Clouds {
  hetzner: Pick<HetznerClient, "createServer" | "deleteServer" | "listServers" | "createFirewall" | "deleteFirewall" | "listFirewalls">;
  zone: ZoneClient;
}

export function zoneClient(config: Config): ZoneClient {
  const client = cloudflare({ baseUrl: config.CLOUDFLARE_API_URL, token: config.CLOUDFLARE_API_TOKEN });
  const zone = config.CLOUDFLARE_ZONE_ID;
  return {
    createRecord: async (hostname, ipv4) =>
      (await client.createDnsRecord(zone, { type: "A", name: hostname, content: ipv4, proxied: true, comment: DNS_COMMENT })).id,
    deleteRecord: async (id) => {
      await client.deleteDnsRecord(zone, id);
    },
    findRecords: async (hostname) => (await client.listDnsRecords(zone, { name: hostname })).map((record) => record.id),
    listManaged: async () =>
      (await client.listDnsRecords(zone, { type: "A", comment: DNS_COMMENT })).flatMap((record) => {
        const workspaceId = workspaceIdOf(config, record.name);
        return workspaceId ? [{ id: record.id, workspaceId }] : [];
      }),
    issueCertificate: async (hostname, csr) => {
      const { id, certificate } = await client.createOriginCertificate({ csr, hostnames: [hostname], requestType: "origin-ecc", validityDays: 90 });
      return { id, certificate };
    },
    revokeCertificate: (id) => client.revokeOriginCertificate(id),
  };
}

export function cloudsFor(config: Config, hetznerToken: string): Clouds {
  return { hetzner: hetzner({ baseUrl: config.HETZNER_API_URL, token: hetznerToken }), zone: zoneClient(config) };
}

/** Builds the clouds for a workspace's owner; null when they have no Hetzner token any more. */
export type CloudsFactory = (deps: Deps, userId: string) => Promise<Clouds | null>;

export const userClouds: CloudsFactory = async (deps, userId) => {
  const token = await readCredential(deps as AppLoadContext, userId, "hetzner");
  return token ? cloudsFor(deps.config, token) : null;
};

/**
 * Cloudflare's published ranges (https://www.cloudflare.com/ips-v4 and /ips-v6): the only sources the
 * agent's port is open to, since browsers reach it through Cloudflare's proxy.
 */
export const CLOUDFLARE_IP_RANGES = [
  "173.245.48.0/20",
  "103.21.244.0/22",
  "103.22.200.0/22",
  "103.31.4.0/22",
  "141.101.64.0/18",
  "108.162.192.0/18",
  "190.93.240.0/20",
  "188.114.96.0/20",
  "197.234.240.0/22",
  "198.41.128.0/17",
  "162.158.0.0/15",
  "104.16.0.0/13",
  "104.24.0.0/14",
  "172.64.0.0/13",
  "131.0.72.0/22",
  "2400:cb00::/32",
  "2606:4700::/32",
  "2803:f800::/32",
  "2405:b500::/32",
  "2405:8100::/32",
  "2a06:98c0::/29",
  "2c0f:f248::/32",
];

export const AGENT_PORT = "8443";

/**
 * Which SAM instance made a resource (its app host, as a Hetzner label value), so two instances sharing a
 * Hetzner project never reap each other's servers as orphans.
 */
export function instanceLabel(config: Pick<Config, "APP_URL">): string {
  return new URL(config.APP_URL).host.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
}

/** The label selector for everything this instance made. */
export function ownedSelector(config: Pick<Config, "APP_URL">): string {
  return `managed-by=${MANAGED_BY},instance=${instanceLabel(config)}`;
}

export function labelsFor(workspace: Pick<Workspace, "id" | "userId">, config: Pick<Config, "APP_URL">) {
  return { "managed-by": MANAGED_BY, instance: instanceLabel(config), workspace: workspace.id, user: workspace.userId };
}

// ---- errors a person can act on -----------------------------------------------------------------------

export class ProvisioningAborted extends Error {
  constructor() {
    super("the workspace was stopped or deleted while it was being created");
    this.name = "ProvisioningAborted";
  }
}

/** A sentence that says what went wrong and what to do; never a secret, never a stack trace. */
export function explainError(error: unknown, workspace: Pick<Workspace, "serverType" | "location">): string {
  if (!(error instanceof ProviderError)) {
    return `Something unexpected went wrong (${error instanceof Error ? error.message : String(error)}): retry, and if it happens again check the server logs.`;
  }
  const name = providerNames[error.provider];
  const said = error.message ? ` (${name} said: ${error.message.replace(/\.$/, "")})` : "";
  if (error.provider === "hetzner") {
    if (error.status === 401 || error.code === "unauthorized") return "Hetzner rejected the token: check it in Settings.";
    if (error.code === "token_readonly") return "The Hetzner token is read-only: create one with Read & Write access and save it in Settings.";
    if (error.code === "resource_limit_exceeded")
      return `Your Hetzner project has reached a resource limit${said}: delete unused servers or ask Hetzner to raise the limit, then retry.`;
    if (error.code === "resource_unavailable" || error.code === "placement_error" || error.status === 412)
      return `Hetzner has no capacity for ${workspace.serverType} in ${workspace.location}: pick another location or size.`;
    if (error.status === 403) return `Hetzner refused the request${said}: check the token's permissions in Settings.`;
  }
  if (error.status === 429 || error.code === "rate_limited" || error.code === "rate_limit_exceeded")
    return `${name} is rate-limiting requests${error.retryAfterSeconds ? ` for about ${error.retryAfterSeconds} s` : ""}: wait a minute, then retry.`;
  if (error.status === 0 && error.code === "timeout") return `${name} did not answer in time: retry in a minute; if it keeps happening, check ${name}'s status page.`;
  if (error.status === 0) return `SAM could not reach ${name}: retry in a minute.`;
  if (error.status >= 500) return `${name} had an internal error (${error.status}): retry in a minute; if it keeps happening, check ${name}'s status page.`;
  if (error.provider === "cloudflare")
    return `Cloudflare refused the request${said}: the instance's Cloudflare token or zone may be wrong; tell the administrator.`;
  return `${name} refused the request${said}: check your settings and retry.`;
}

// ---- provisioning -------------------------------------------------------------------------------------

async function step<T>(db: Database, workspace: Workspace, name: string, started: string, work: () => Promise<T>, done: (result: T) => string): Promise<T> {
  await recordEvent(db, workspace.id, name, "started", started);
  try {
    const result = await work();
    await recordEvent(db, workspace.id, name, "ok", done(result));
    return result;
  } catch (error) {
    if (!(error instanceof ProvisioningAborted)) await recordEvent(db, workspace.id, name, "error", explainError(error, workspace));
    throw error;
  }
}

/**
 * Creates the cloud side of a workspace in `creating`: bootstrap token, firewall, server, DNS record.
 * Any failure undoes what was made and leaves `error` with a sentence to act on; nothing that bills stays.
 * Runs after the response (waitUntil).
 */
export async function provision(deps: Deps, workspace: Workspace, options: { clouds?: CloudsFactory } = {}): Promise<void> {
  const { db, config } = deps;
  const clouds = await (options.clouds ?? userClouds)(deps, workspace.userId);
  if (!clouds) {
    await failProvisioning(deps, workspace, null, "There is no Hetzner token saved: add it in Settings, then retry.");
    return;
  }
  const hostname = workspaceHostname(config, workspace.id);
  const made: { firewallId?: number; serverId?: number; dnsRecordId?: string } = {};
  try {
    // A restart from `error` may find leftovers of the failed attempt.
    if (workspace.serverId || workspace.firewallId || workspace.dnsRecordId) await teardown(deps, clouds, workspace);

    const { token } = await mintBootstrapToken(db, workspace.id);
    const userData = renderCloudInit({
      workspaceId: workspace.id,
      appUrl: config.APP_URL,
      hostname,
      bootstrapToken: token,
      arch: archForServerType(workspace.serverType),
    });
    await recordEvent(db, workspace.id, "cloud-init", "ok", `Prepared the boot script (${userData.length} bytes, no secrets)`);

    const suffix = Date.now().toString(36);
    const labels = labelsFor(workspace, deps.config);
    const { firewall } = await step(
      db,
      workspace,
      "firewall",
      "Creating a firewall that admits only Cloudflare on port 8443",
      () =>
        clouds.hetzner.createFirewall({
          name: `sam-${workspace.id}-${suffix}`,
          labels,
          rules: [{ description: "agent via Cloudflare", direction: "in", protocol: "tcp", port: AGENT_PORT, source_ips: CLOUDFLARE_IP_RANGES }],
        }),
      ({ firewall }) => `Firewall ${firewall.id} created`,
    );
    made.firewallId = firewall.id;
    if (!(await saveWhileCreating(db, workspace, { firewallId: firewall.id }))) throw new ProvisioningAborted();

    const { server } = await step(
      db,
      workspace,
      "server",
      `Creating a ${workspace.serverType} server in ${workspace.location}`,
      async () => {
        try {
          return await clouds.hetzner.createServer({
            name: `sam-${workspace.id}-${suffix}`,
            serverType: workspace.serverType,
            location: workspace.location,
            image: IMAGE,
            userData,
            labels,
            firewallIds: [firewall.id],
          });
        } catch (error) {
          // A lost answer may still have made a server; the teardown finds it by its label.
          made.serverId = -1;
          throw error;
        }
      },
      ({ server }) => `Server ${server.id} created${server.public_net.ipv4 ? ` at ${server.public_net.ipv4.ip}` : ""}`,
    );
    made.serverId = server.id;
    const ipv4 = server.public_net.ipv4?.ip;
    if (!(await saveWhileCreating(db, workspace, { serverId: server.id, ipv4: ipv4 ?? null }))) throw new ProvisioningAborted();
    if (!ipv4) throw new Error(`Hetzner gave server ${server.id} no IPv4 address`);

    const dnsRecordId = await step(
      db,
      workspace,
      "dns",
      `Pointing ${hostname} at the server`,
      () => clouds.zone.createRecord(hostname, ipv4),
      () => `${hostname} → ${ipv4} (proxied by Cloudflare)`,
    );
    made.dnsRecordId = dnsRecordId;
    if (!(await saveWhileCreating(db, workspace, { dnsRecordId }))) throw new ProvisioningAborted();
    await recordEvent(db, workspace.id, "boot", "started", "Waiting for the server to boot and the agent to check in");
  } catch (error) {
    const leftovers = { ...workspace, firewallId: made.firewallId ?? null, serverId: made.serverId ?? null, dnsRecordId: made.dnsRecordId ?? null };
    if (error instanceof ProvisioningAborted) {
      // Stopped or deleted meanwhile. If a newer run has begun, only what this run made may go: searching by
      // label or name would find the new run's server and record too.
      const current = await db.query.workspaces.findFirst({ where: eq(workspaces.id, workspace.id), columns: { startedAt: true, status: true } });
      const newerRun = current && (current.status === "creating" || current.status === "running") && current.startedAt?.getTime() !== workspace.startedAt?.getTime();
      const undo = newerRun ? deleteExactly(clouds, made) : teardown(deps, clouds, leftovers);
      await undo.catch(() => undefined); // the sweep reaps what this could not
      return;
    }
    // Never let a failure here leave the row in `creating` silently: the sweep is the backstop, the log says why.
    await failProvisioning(deps, leftovers, clouds, explainError(error, workspace)).catch((failure) =>
      console.error(`workspace ${workspace.id}: could not record the failed provisioning`, failure instanceof Error ? failure.message : failure),
    );
  }
}

/** Undoes what was made and records the failure; nothing that bills may be left behind. */
async function failProvisioning(deps: Deps, workspace: Workspace, clouds: Clouds | null, message: string) {
  let error = message;
  let leftovers: Partial<Workspace> = cleared;
  if (clouds) {
    try {
      await teardown(deps, clouds, workspace);
      await recordEvent(deps.db, workspace.id, "cleanup", "ok", "Removed what had been created");
    } catch (cleanupError) {
      const why = explainError(cleanupError, workspace);
      await recordEvent(deps.db, workspace.id, "cleanup", "error", why);
      error = `${message} Cleaning up also failed (${why}); SAM retries that on the next sweep, or delete the workspace.`;
      leftovers = { startedAt: null, lastHeartbeatAt: null };
    }
  }
  // "running" too: the agent may check in before a slow last step fails, and the server is gone either way.
  const row = await transition(deps.db, { id: workspace.id, run: workspace.startedAt }, ["creating", "running", "stopping"], {
    status: "error",
    error,
    ...leftovers,
    stoppedAt: new Date(),
    billedSeconds: workspace.billedSeconds + runSeconds(workspace, Date.now()),
  });
  if (row) await revokeBootstrapTokens(deps.db, workspace.id);
}

// ---- teardown -----------------------------------------------------------------------------------------

/** Deletes just the resources one provisioning run recorded making. */
async function deleteExactly(clouds: Clouds, made: { serverId?: number; firewallId?: number; dnsRecordId?: string }) {
  if (made.dnsRecordId) await clouds.zone.deleteRecord(made.dnsRecordId);
  if (made.serverId && made.serverId > 0) await clouds.hetzner.deleteServer(made.serverId);
  if (made.firewallId) await clouds.hetzner.deleteFirewall(made.firewallId);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Deletes the workspace's DNS record, servers and firewalls: those recorded on the row and any others
 * carrying its label or name (a create whose answer was lost). Each delete tolerates "already gone".
 * Throws when a server or DNS record could not be deleted; a firewall that stays (it costs nothing) is
 * left to the sweep.
 */
export async function teardown(deps: Deps, clouds: Clouds, workspace: Pick<Workspace, "id" | "serverId" | "firewallId" | "dnsRecordId">) {
  // Servers first (they bill), and each part is tried even when another fails; the first failure is thrown
  // afterwards so the workspace records it and the sweep tries again.
  const failures: unknown[] = [];
  const attempt = (work: () => Promise<void>) => work().catch((error: unknown) => void failures.push(error));
  const selector = `${ownedSelector(deps.config)},workspace=${workspace.id}`;

  await attempt(async () => {
    const serverIds = new Set((await clouds.hetzner.listServers({ labelSelector: selector })).map((server) => server.id));
    if (workspace.serverId && workspace.serverId > 0) serverIds.add(workspace.serverId);
    for (const id of serverIds) await clouds.hetzner.deleteServer(id);
  });
  await attempt(async () => {
    const recordIds = new Set(await clouds.zone.findRecords(workspaceHostname(deps.config, workspace.id)));
    if (workspace.dnsRecordId) recordIds.add(workspace.dnsRecordId);
    for (const id of recordIds) await clouds.zone.deleteRecord(id);
  });
  await attempt(async () => {
    const firewallIds = new Set((await clouds.hetzner.listFirewalls({ labelSelector: selector })).map((firewall) => firewall.id));
    if (workspace.firewallId) firewallIds.add(workspace.firewallId);
    for (const id of firewallIds) await deleteFirewallWhenFree(clouds, id);
  });
  await revokeCertificate(deps, clouds, workspace.id);
  if (failures.length) throw failures[0];
}

/**
 * Revokes the Origin CA certificate the run's agent got (read from the row, which the agent's bootstrap
 * may have written after the caller read it). Its private key went with the server, so this only keeps
 * the account's certificates true: a failure is noted on the timeline and never fails the stop.
 */
async function revokeCertificate(deps: Deps, clouds: Clouds, workspaceId: string) {
  const row = await deps.db.query.workspaces.findFirst({ columns: { certificateId: true }, where: eq(workspaces.id, workspaceId) });
  const certificateId = row?.certificateId;
  if (!certificateId) return;
  try {
    await clouds.zone.revokeCertificate(certificateId);
    await deps.db
      .update(workspaces)
      .set({ certificateId: null })
      .where(and(eq(workspaces.id, workspaceId), eq(workspaces.certificateId, certificateId)));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    await recordEvent(deps.db, workspaceId, "certificate", "error", `Could not revoke the server's certificate (${why}); it expires by itself within 90 days.`);
  }
}

/** Hetzner detaches a firewall from a deleted server a moment later; until then the delete answers 422. */
async function deleteFirewallWhenFree(clouds: Clouds, id: number) {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await clouds.hetzner.deleteFirewall(id);
      return;
    } catch (error) {
      if (!(isProviderError(error, 422) && error.code === "resource_in_use") || attempt === 5) return;
      await sleep(attempt * 1000);
    }
  }
}

// ---- stop, restart, delete ----------------------------------------------------------------------------

/** Claims the stop (creating/running → stopping); null when someone else already did, or it is not live. */
export async function claimStop(deps: Deps, scope: Scope, reason: string): Promise<Workspace | null> {
  const row = await transition(deps.db, scope, ["creating", "running"], { status: "stopping" });
  if (row) await recordEvent(deps.db, row.id, "stop", "started", reason);
  return row;
}

/** Claims a delete from any settled or live state except a stop already in progress. */
export async function claimDelete(deps: Deps, scope: Scope): Promise<Workspace | null> {
  const row = await transition(deps.db, scope, ["creating", "running", "stopped", "error"], { status: "stopping", error: null });
  if (row) await recordEvent(deps.db, row.id, "delete", "started", "Deleting the workspace");
  return row;
}

/** After claimStop/claimDelete: deletes the cloud side, then settles the row (stopped, deleted or error). */
export async function finishStop(deps: Deps, workspace: Workspace, options: { remove?: boolean; clouds?: CloudsFactory } = {}) {
  const { db } = deps;
  await revokeBootstrapTokens(db, workspace.id);
  const now = Date.now();
  const billed = workspace.billedSeconds + runSeconds(workspace, now);
  const hasCloud = workspace.serverId || workspace.firewallId || workspace.dnsRecordId || workspace.startedAt;
  const clouds = hasCloud ? await (options.clouds ?? userClouds)(deps, workspace.userId) : null;
  if (hasCloud && !clouds) {
    await transition(db, { id: workspace.id }, ["stopping"], {
      status: "error",
      error: "SAM cannot delete the server: there is no Hetzner token saved. Add it in Settings, then stop or delete again.",
      billedSeconds: billed,
      startedAt: null,
    });
    return;
  }
  try {
    if (clouds) await teardown(deps, clouds, workspace);
  } catch (error) {
    const message = `Could not remove the server: ${explainError(error, workspace)}`;
    await recordEvent(db, workspace.id, options.remove ? "delete" : "stop", "error", message);
    await transition(db, { id: workspace.id }, ["stopping"], { status: "error", error: message, billedSeconds: billed, startedAt: null });
    return;
  }
  if (options.remove) {
    await db.delete(workspaces).where(and(eq(workspaces.id, workspace.id), eq(workspaces.status, "stopping")));
    return;
  }
  const row = await transition(db, { id: workspace.id }, ["stopping"], { status: "stopped", ...cleared, stoppedAt: new Date(now), billedSeconds: billed });
  if (row) await recordEvent(db, workspace.id, "stop", "ok", "Server, firewall and DNS record deleted; nothing is billed while stopped");
}

/** stopped/error → creating, with a fresh bootstrap token and server (provision runs after). */
export async function claimRestart(deps: Deps, scope: Scope): Promise<Workspace | null> {
  const row = await transition(deps.db, scope, ["stopped", "error"], {
    status: "creating",
    error: null,
    startedAt: new Date(),
    lastActivityAt: null,
    lastHeartbeatAt: null,
  });
  if (row) await recordEvent(deps.db, row.id, "restart", "started", "Restarting on a fresh server");
  return row;
}

/** "Keep alive": counts as activity now. */
export async function keepAlive(db: Database, scope: Required<Omit<Scope, "run">>) {
  const [row] = await db
    .update(workspaces)
    .set({ lastActivityAt: new Date(), updatedAt: new Date() })
    .where(and(eq(workspaces.id, scope.id), eq(workspaces.userId, scope.userId), eq(workspaces.status, "running")))
    .returning({ id: workspaces.id });
  return Boolean(row);
}

// ---- idle ---------------------------------------------------------------------------------------------

export interface IdleInput {
  now: number;
  /** When the current run started (the server was asked for). */
  startedAt: Date | null;
  lastActivityAt: Date | null;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
  agentRunning: boolean;
}

export type IdleDecision = { action: "continue"; idleStopAt: number | null } | { action: "stop"; reason: "idle" | "lifetime" };

/**
 * The control plane's rule: stop after the maximum lifetime, or after the idle timeout without input or
 * output — unless an agent CLI is at work, which counts as activity.
 */
export function idleDecision(input: IdleInput): IdleDecision {
  if (!input.startedAt) return { action: "continue", idleStopAt: null };
  const started = input.startedAt.getTime();
  if (input.now - started >= input.maxLifetimeSeconds * 1000) return { action: "stop", reason: "lifetime" };
  if (input.agentRunning) return { action: "continue", idleStopAt: input.now + input.idleTimeoutSeconds * 1000 };
  const last = Math.max(started, input.lastActivityAt?.getTime() ?? 0);
  const idleStopAt = last + input.idleTimeoutSeconds * 1000;
  if (input.now >= idleStopAt) return { action: "stop", reason: "idle" };
  return { action: "continue", idleStopAt };
}

/** When the workspace will stop for idleness or lifetime, whichever is first (for the UI). */
export function stopsAt(workspace: Pick<Workspace, "status" | "startedAt" | "lastActivityAt" | "idleTimeoutSeconds" | "maxLifetimeSeconds">) {
  if (workspace.status !== "running" || !workspace.startedAt) return null;
  const started = workspace.startedAt.getTime();
  const idle = Math.max(started, workspace.lastActivityAt?.getTime() ?? 0) + workspace.idleTimeoutSeconds * 1000;
  const lifetime = started + workspace.maxLifetimeSeconds * 1000;
  return idle <= lifetime ? { at: idle, reason: "idle" as const } : { at: lifetime, reason: "lifetime" as const };
}

export const stopReasons = {
  idle: "No input or output for the idle timeout: stopped to save cost",
  lifetime: "Reached its maximum lifetime: stopped",
  heartbeat: `The agent stopped reporting (no heartbeat for ${(MISSED_HEARTBEATS * HEARTBEAT_INTERVAL_MS) / 1000} s): stopped`,
  agent: "The workspace asked to be stopped",
  user: "Stopped by you",
} as const;

// ---- agent callbacks ----------------------------------------------------------------------------------

export interface Heartbeat {
  last_input_at: string | null;
  last_output_at: string | null;
  attached_clients: number;
  sessions: number;
  agent_running: boolean;
}

/**
 * Records a heartbeat and decides whether the workspace should go on. A stop decided here is claimed at
 * once; the returned `stop` (when set) deletes the server and should run after the response.
 */
export async function recordHeartbeat(
  deps: Deps,
  workspace: Workspace,
  heartbeat: Heartbeat,
  now = Date.now(),
): Promise<{ action: "continue" | "stop"; stop?: () => Promise<void> }> {
  if (workspace.status !== "running" && workspace.status !== "creating") return { action: "stop" };
  const reported = [heartbeat.last_input_at, heartbeat.last_output_at]
    .map((value) => (value ? Date.parse(value) : Number.NaN))
    .filter((value) => Number.isFinite(value))
    .map((value) => Math.min(value, now));
  const activity = Math.max(workspace.lastActivityAt?.getTime() ?? 0, ...reported, heartbeat.agent_running ? now : 0);
  const [updated] = await deps.db
    .update(workspaces)
    .set({ lastHeartbeatAt: new Date(now), ...(activity > 0 ? { lastActivityAt: new Date(activity) } : {}) })
    .where(and(eq(workspaces.id, workspace.id), inArray(workspaces.status, ["creating", "running"])))
    .returning();
  if (!updated) return { action: "stop" };
  if (updated.status !== "running") return { action: "continue" };
  const decision = idleDecision({
    now,
    startedAt: updated.startedAt,
    lastActivityAt: updated.lastActivityAt,
    idleTimeoutSeconds: updated.idleTimeoutSeconds,
    maxLifetimeSeconds: updated.maxLifetimeSeconds,
    agentRunning: heartbeat.agent_running,
  });
  if (decision.action === "continue") return { action: "continue" };
  const claimed = await claimStop(deps, { id: workspace.id }, stopReasons[decision.reason]);
  if (claimed) {
    await audit(deps as AppLoadContext, null, { userId: claimed.userId, action: "workspace.stopped", details: { workspaceId: claimed.id, reason: decision.reason } });
  }
  return { action: "stop", stop: claimed ? () => finishStop(deps, claimed) : undefined };
}

/** creating → running, once; the agent may repeat the call. */
export async function markReady(deps: Deps, workspace: Workspace, now = Date.now()): Promise<"ready" | "already" | "conflict"> {
  const row = await transition(deps.db, { id: workspace.id }, ["creating"], {
    status: "running",
    lastHeartbeatAt: new Date(now),
    lastActivityAt: new Date(now),
    error: null,
  });
  if (row) {
    await recordEvent(deps.db, workspace.id, "boot", "ok", "The agent checked in");
    return "ready";
  }
  return workspace.status === "running" ? "already" : "conflict";
}

// ---- the create form ----------------------------------------------------------------------------------

export interface RepositoryChoice {
  fullName: string;
  defaultBranch: string;
  installationId: number;
  private: boolean;
}

export interface SizeChoice {
  size: Size;
  label: string;
  serverType: string;
  cores: number;
  memory: number;
  disk: number;
  /** Gross hourly price (EUR) per location, as Hetzner's /server_types says. */
  hourly: Record<string, string>;
}

export type Missing = "hetzner-token" | "installation" | "github-sign-in";

function limitsOf(policy: Policy): WorkspaceFormLimits {
  return { sizes: policy.allowedSizes, locations: policy.allowedLocations, maxIdleMinutes: policy.maxIdleMinutes, maxLifetimeHours: policy.maxLifetimeHours };
}

/** What the policy allows, for validating a submission with the form's schema. */
export async function formLimits(context: AppLoadContext) {
  return limitsOf(await getPolicy(context));
}

/** Everything the create form offers: what the policy allows, intersected with what Hetzner has today. */
export async function loadCreateForm(context: AppLoadContext, userId: string) {
  const policy = await getPolicy(context);
  const [hetznerToken, githubToken, installations] = await Promise.all([
    readCredential(context, userId, "hetzner"),
    readCredential(context, userId, "github_user_token"),
    listInstallations(context, userId),
  ]);
  const active = installations.filter((installation) => !installation.suspended);
  const missing: Missing[] = [];
  if (!hetznerToken) missing.push("hetzner-token");
  if (active.length === 0) missing.push("installation");
  else if (!githubToken) missing.push("github-sign-in");

  const limits = limitsOf(policy);
  const defaults = { idleTimeoutMinutes: policy.defaultIdleMinutes, maxLifetimeHours: policy.defaultLifetimeHours };
  const base = { limits, defaults, missing, repositories: [] as RepositoryChoice[], sizes: [] as SizeChoice[], locations: [] as Array<{ name: string; city: string; country: string }>, problem: null as string | null };
  if (missing.length) return base;

  try {
    const [repositories, catalog] = await Promise.all([listRepositories(context, githubToken!, active), hetznerCatalog(context.config, hetznerToken!, policy)]);
    return { ...base, repositories, ...catalog, limits: { ...limits, sizes: catalog.sizes.map((choice) => choice.size), locations: catalog.locations.map((location) => location.name) } };
  } catch (error) {
    if (error instanceof ProviderError && error.provider === "github" && error.status === 401) return { ...base, missing: ["github-sign-in" as const] };
    return { ...base, problem: explainError(error, { serverType: "the chosen size", location: "that location" }) };
  }
}

async function listRepositories(context: AppLoadContext, githubToken: string, installations: Array<{ installationId: number }>): Promise<RepositoryChoice[]> {
  const client = github({ apiUrl: context.config.GITHUB_API_URL });
  const lists = await Promise.all(
    installations.map(async ({ installationId }) =>
      (
        await client.listUserInstallationRepositories(githubToken, installationId).catch((error: unknown) => {
          // An installation the user can no longer see (they left the organisation: no webhook tells us)
          // offers nothing, rather than hiding every other installation's repositories.
          if (error instanceof ProviderError && (error.status === 403 || error.status === 404)) return [];
          throw error;
        })
      )
        .filter((repository) => !repository.archived)
        .map((repository) => ({
          fullName: repository.full_name,
          defaultBranch: repository.default_branch ?? "main",
          installationId,
          private: repository.private,
        })),
    ),
  );
  const seen = new Map<string, RepositoryChoice>();
  for (const repository of lists.flat()) if (!seen.has(repository.fullName)) seen.set(repository.fullName, repository);
  return [...seen.values()].sort((a, b) => a.fullName.localeCompare(b.fullName));
}

async function hetznerCatalog(config: Config, token: string, policy: Policy) {
  const client = hetzner({ baseUrl: config.HETZNER_API_URL, token });
  const [types, locations] = await Promise.all([client.listServerTypes(), client.listLocations()]);
  const offeredLocations = locations.filter((location) => policy.allowedLocations.includes(location.name));
  const sizeChoices: SizeChoice[] = [];
  for (const size of policy.allowedSizes) {
    const { label, serverType } = sizes[size];
    const type = types.find((candidate) => candidate.name === serverType && !candidate.deprecated);
    if (!type) continue;
    const hourly: Record<string, string> = {};
    for (const price of type.prices) {
      const available = type.locations?.find((location) => location.name === price.location)?.available ?? true;
      if (available) hourly[price.location] = price.price_hourly.gross;
    }
    sizeChoices.push({ size, label, serverType, cores: type.cores, memory: type.memory, disk: type.disk, hourly });
  }
  return {
    sizes: sizeChoices,
    locations: offeredLocations.map((location) => ({ name: location.name, city: location.city, country: location.country })),
  };
}

/** Branch names of a repository the user's installations can see (for the branch picker). */
export async function listBranchNames(context: AppLoadContext, userId: string, fullName: string): Promise<string[]> {
  const token = await readCredential(context, userId, "github_user_token");
  const [owner, name] = fullName.split("/");
  if (!token || !owner || !name) return [];
  try {
    return (await github({ apiUrl: context.config.GITHUB_API_URL }).listBranches(token, owner, name)).map((branch) => branch.name);
  } catch {
    return [];
  }
}

export type CreateResult = { kind: "created"; workspace: Workspace } | { kind: "invalid"; fieldErrors: Record<string, string[]>; formErrors: string[] };

/** Checks the submission against GitHub, Hetzner and the per-user limit, then inserts the row (`creating`). */
export async function createWorkspace(context: AppLoadContext, userId: string, form: WorkspaceForm): Promise<CreateResult> {
  const invalid = (fieldErrors: Record<string, string[]>, formErrors: string[] = []): CreateResult => ({ kind: "invalid", fieldErrors, formErrors });
  const policy = await getPolicy(context);
  const [hetznerToken, githubToken] = await Promise.all([readCredential(context, userId, "hetzner"), readCredential(context, userId, "github_user_token")]);
  if (!hetznerToken) return invalid({}, ["There is no Hetzner token saved: add it in Settings first."]);
  if (!githubToken) return invalid({}, ["SAM cannot see your repositories any more: sign out and sign in again."]);
  if ((await countLiveWorkspaces(context.db, userId)) >= policy.maxWorkspacesPerUser) {
    return invalid({}, [`You already have ${policy.maxWorkspacesPerUser} live workspaces, the most this instance allows: stop or delete one first.`]);
  }

  const installations = (await listInstallations(context, userId)).filter((installation) => !installation.suspended);
  const serverType = sizes[form.size as Size].serverType;
  let repository: RepositoryChoice | undefined;
  let hourlyPrice: string | undefined;
  try {
    const [repositories, catalog] = await Promise.all([listRepositories(context, githubToken, installations), hetznerCatalog(context.config, hetznerToken, policy)]);
    repository = repositories.find((candidate) => candidate.fullName.toLowerCase() === form.repository.toLowerCase());
    hourlyPrice = catalog.sizes.find((choice) => choice.size === form.size)?.hourly[form.location];
  } catch (error) {
    return invalid({}, [explainError(error, { serverType, location: form.location })]);
  }
  if (!repository) return invalid({ repository: ["The GitHub App cannot see this repository: pick one from the list, or add it to the installation in Settings."] });
  if (!hourlyPrice) return invalid({ location: [`Hetzner does not offer ${serverType} in ${form.location} right now: pick another location.`] });
  let branch = repository.defaultBranch;
  if (form.branch) {
    const [owner, name] = repository.fullName.split("/") as [string, string];
    const branches = await github({ apiUrl: context.config.GITHUB_API_URL })
      .listBranches(githubToken, owner, name)
      .catch(() => null);
    if (branches && !branches.some((candidate) => candidate.name === form.branch)) {
      return invalid({ branch: [`${repository.fullName} has no branch "${form.branch}".`] });
    }
    branch = form.branch;
  }

  const [workspace] = await context.db
    .insert(workspaces)
    .values({
      id: newWorkspaceId(),
      userId,
      name: form.name,
      status: "creating",
      repository: repository.fullName,
      branch,
      installationId: repository.installationId,
      size: form.size,
      serverType,
      location: form.location,
      agentCli: form.agentCli,
      hourlyPrice,
      idleTimeoutSeconds: form.idleTimeoutMinutes * 60,
      maxLifetimeSeconds: form.maxLifetimeHours * 3600,
      startedAt: new Date(),
    })
    .returning();
  // Two creates racing past the count above: the later one steps back.
  if ((await countLiveWorkspaces(context.db, userId)) > policy.maxWorkspacesPerUser) {
    await context.db.delete(workspaces).where(and(eq(workspaces.id, workspace!.id), eq(workspaces.userId, userId)));
    return invalid({}, [`You already have ${policy.maxWorkspacesPerUser} live workspaces, the most this instance allows: stop or delete one first.`]);
  }
  await recordEvent(context.db, workspace!.id, "create", "ok", `Requested ${sizes[form.size as Size].label.toLowerCase()} (${serverType}) in ${form.location}`);
  return { kind: "created", workspace: workspace! };
}

// ---- what pages show ----------------------------------------------------------------------------------

/** The fields a page shows, with cost and the next automatic stop worked out; no provider ids. */
export function presentWorkspace(workspace: Workspace, now = Date.now()) {
  const stop = stopsAt(workspace);
  return {
    id: workspace.id,
    name: workspace.name,
    status: workspace.status,
    repository: workspace.repository,
    branch: workspace.branch,
    size: workspace.size,
    sizeLabel: sizes[workspace.size as Size]?.label ?? workspace.size,
    serverType: workspace.serverType,
    location: workspace.location,
    agentCli: workspace.agentCli,
    hourlyPrice: workspace.hourlyPrice === null ? null : Number(workspace.hourlyPrice),
    costSoFar: costSoFar(workspace, now),
    stopsAt: stop?.at ?? null,
    stopReason: stop?.reason ?? null,
    idleTimeoutSeconds: workspace.idleTimeoutSeconds,
    maxLifetimeSeconds: workspace.maxLifetimeSeconds,
    error: workspace.error,
    createdAt: workspace.createdAt.getTime(),
    now,
  };
}

export type PresentedWorkspace = ReturnType<typeof presentWorkspace>;
