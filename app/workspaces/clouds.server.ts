import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq } from "drizzle-orm";
import { mintBootstrapToken, revokeBootstrapTokens } from "./bootstrap.server";
import { archForServerType, renderCloudInit } from "./cloud-init.server";
import { cloudflare } from "../providers/cloudflare.server";
import type { Config } from "../platform/config.server";
import { readCredential } from "../settings/credentials.server";
import type { Database } from "../platform/context.server";
import { workspaces } from "../db/schema";
import { hetzner, type HetznerClient } from "../providers/hetzner.server";
import { isProviderError, ProviderError, providerNames } from "../providers/http.server";
import { workspaceHostname, workspaceIdOf } from "./url";
import { cleared, recordEvent, runSeconds, saveWhileCreating, transition, type Deps, type Workspace } from "./workspaces.server";

/**
 * The cloud side of a workspace: the Hetzner server and firewall and the Cloudflare DNS record and
 * certificate that provisioning makes, labels and records step by step, and that teardown removes —
 * servers first, since they bill — along with the sentences that explain a provider's failure.
 */

export const MANAGED_BY = "sam";
const DNS_COMMENT = `managed-by=${MANAGED_BY}`;
const IMAGE = "ubuntu-24.04";

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

// ---- stop and delete ----------------------------------------------------------------------------------

/**
 * After claimStop/claimDelete: deletes the cloud side, then settles the row (stopped, deleted or error).
 * With `failure`, a workspace that never came up: once its cloud side is gone it ends in `error` with that
 * sentence rather than `stopped`. Returns the settled row, or null when it ended otherwise.
 */
export async function finishStop(
  deps: Deps,
  workspace: Workspace,
  options: { remove?: boolean; failure?: string; clouds?: CloudsFactory } = {},
): Promise<Workspace | null> {
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
    return null;
  }
  try {
    if (clouds) await teardown(deps, clouds, workspace);
  } catch (error) {
    const message = `Could not remove the server: ${explainError(error, workspace)}`;
    await recordEvent(db, workspace.id, options.remove ? "delete" : "stop", "error", message);
    await transition(db, { id: workspace.id }, ["stopping"], { status: "error", error: message, billedSeconds: billed, startedAt: null });
    return null;
  }
  if (options.remove) {
    await db.delete(workspaces).where(and(eq(workspaces.id, workspace.id), eq(workspaces.status, "stopping")));
    return null;
  }
  const settled = options.failure ? { status: "error" as const, error: options.failure } : { status: "stopped" as const };
  const row = await transition(db, { id: workspace.id }, ["stopping"], { ...settled, ...cleared, stoppedAt: new Date(now), billedSeconds: billed });
  if (row && options.failure) await recordEvent(db, workspace.id, "cleanup", "ok", "Removed what had been created");
  else if (row) await recordEvent(db, workspace.id, "stop", "ok", "Server, firewall and DNS record deleted; nothing is billed while stopped");
  return row;
}

