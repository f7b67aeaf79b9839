import { and, desc, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import { audit } from "../platform/audit.server";
import { purgeExpiredBootstrapTokens } from "./bootstrap.server";
import type { Config } from "../platform/config.server";
import type { Database } from "../platform/context.server";
import { workspaceEvents, workspaces } from "../db/schema";
import { probeAgent, type AgentProbe } from "./probe.server";
import { ownedSelector, userClouds, zoneClient, type CloudsFactory, type ZoneClient } from "./clouds.server";
import { reapOrphanRecords, reapOrphans } from "./sweep-orphans.server";
import { runVolumeRetention, type VolumeRetentionReport } from "./volume-retention.server";
import { type CostCapReport, runTaskCostCaps } from "../tasks/cost-cap.server";
import { finishStop, teardown } from "./teardown.server";
import {
  claimStop,
  HEARTBEAT_INTERVAL_MS,
  idleDecision,
  MISSED_HEARTBEATS,
  PROVISIONING_TIMEOUT_MS,
  recordEvent,
  stopReasons,
  transition,
  type Deps,
  type Workspace,
} from "./workspaces.server";

/**
 * The periodic sweep (docs/architecture.md, "Sweep"): production runs it from a scheduler Worker's cron, locally
 * `scripts/dev.mjs` calls POST /api/internal/sweep. It repairs what a lost request or a dead VM left:
 * provisioning that never finished, agents that went silent, idle workspaces whose heartbeats stopped
 * arriving, servers, firewalls and DNS records that belong to no live workspace, volumes that belong to no
 * workspace, volumes whose stopped workspace outlived the policy's retention, and expired bootstrap tokens.
 */

export interface SweepContext {
  db: Database;
  config: Config;
}

export interface SweepReport {
  provisioningTimedOut: string[];
  stopped: Array<{ id: string; reason: string }>;
  /** Silent (no heartbeat for several intervals) but answering the probe: kept running. */
  silentButAlive: string[];
  stuckStopsFinished: string[];
  leftoversCleaned: string[];
  orphanServersDeleted: number[];
  orphanFirewallsDeleted: number[];
  orphanDnsRecordsDeleted: string[];
  orphanVolumesDeleted: number[];
  /** Reminders and deletions of volumes kept past the policy's retention (volume-retention.server.ts). */
  volumeRetention: VolumeRetentionReport | null;
  /** Tasks stopped at their cost cap (app/tasks/cost-cap.server.ts). */
  taskCostCaps: CostCapReport | null;
  bootstrapTokensPurged: number;
  /** Calls made to Hetzner, Cloudflare and the agents (each a subrequest of the invocation). */
  calls: number;
  /** Passes cut short because the call budget was spent; the next run goes on with them. */
  deferred: string[];
  errors: string[];
}

/**
 * Calls one sweep may make. A cron invocation on the Workers Free plan may make 50 subrequests; the rest is
 * headroom for a unit of work that needs more than its estimate (a paged list, a retried delete).
 */
export const SWEEP_CALL_BUDGET = 40;

/**
 * The most calls one unit of work may need, reserved before it starts so that no teardown is cut off half-way:
 * a teardown lists and deletes servers, DNS records and firewalls and revokes the certificate; a stop of a
 * silent workspace first probes the agent and lists its servers. A workspace with a volume adds the shutdown
 * and its looks (at most 7), then the volume's check and detach, or its listing, detach and delete.
 */
const TEARDOWN_CALLS = 8;
const VOLUME_CALLS = 12;
const SILENT_PROBE_CALLS = 2;

const teardownCalls = (workspace: Pick<Workspace, "volumeId">) =>
  TEARDOWN_CALLS + (workspace.volumeId ? VOLUME_CALLS : 0);

/** A stop whose request died half-way (waitUntil cut short) is finished after this long. */
const STUCK_STOP_MS = 5 * 60 * 1000;

type AuditWriter = (userId: string | null, action: string, details: Record<string, unknown>) => Promise<void>;

/** What every pass of one sweep shares: the clock, the clouds, the report it adds to and its audit writer. */
export interface Sweep {
  deps: Deps;
  now: number;
  clouds: CloudsFactory;
  report: SweepReport;
  record: AuditWriter;
  /** Runs one unit of work; a failure is noted in the report and the sweep goes on. */
  attempt: (what: string, work: () => Promise<void>) => Promise<void>;
  /**
   * Whether `calls` more fit in the budget; when not, the pass is noted as deferred and must stop there (its
   * remaining work is still there next run: rows keep their state, orphans pass from a cursor).
   */
  affords: (pass: string, calls: number) => boolean;
}

/** Counts each call on a client (every method is one request to the provider). */
function metered<T extends object>(client: T, count: () => void): T {
  return new Proxy(client, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        count();
        return value.apply(target, args);
      };
    },
  });
}

export async function runSweep(
  context: SweepContext,
  options: { now?: number; clouds?: CloudsFactory; zone?: ZoneClient; probe?: AgentProbe; budget?: number } = {},
): Promise<SweepReport> {
  const deps: Deps = { db: context.db, config: context.config };
  const budget = options.budget ?? SWEEP_CALL_BUDGET;
  const count = () => void report.calls++;
  const clouds = options.clouds ?? userClouds;
  const report: SweepReport = {
    provisioningTimedOut: [],
    stopped: [],
    silentButAlive: [],
    stuckStopsFinished: [],
    leftoversCleaned: [],
    orphanServersDeleted: [],
    orphanFirewallsDeleted: [],
    orphanDnsRecordsDeleted: [],
    orphanVolumesDeleted: [],
    volumeRetention: null,
    taskCostCaps: null,
    bootstrapTokensPurged: 0,
    calls: 0,
    deferred: [],
    errors: [],
  };
  const sweep: Sweep = {
    deps,
    now: options.now ?? Date.now(),
    clouds: async (factoryDeps, userId) => {
      const made = await clouds(factoryDeps, userId);
      return made && { hetzner: metered(made.hetzner, count), zone: metered(made.zone, count) };
    },
    report,
    record: (userId, action, details) => audit(deps, null, { userId, action, details: { ...details, by: "sweep" } }),
    attempt: async (what, work) => {
      try {
        await work();
      } catch (error) {
        report.errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    affords: (pass, calls) => {
      if (report.calls + calls <= budget) return true;
      if (!report.deferred.includes(pass)) report.deferred.push(pass);
      return false;
    },
  };
  const probe = options.probe ?? probeAgent;
  const meteredProbe: AgentProbe = (probeConfig, workspaceId) => {
    count();
    return probe(probeConfig, workspaceId);
  };
  await timeOutProvisioning(sweep);
  await stopLostIdleAndOverAge(sweep, meteredProbe);
  await finishStuckStops(sweep);
  await retryFailedCleanups(sweep);
  await sweep.attempt("orphans", () => reapOrphans(sweep));
  const zone = metered(options.zone ?? zoneClient(context.config), count);
  await sweep.attempt("orphan DNS records", () => reapOrphanRecords(sweep, zone));
  await sweep.attempt("volume retention", async () => {
    report.volumeRetention = await runVolumeRetention(deps, sweep);
  });
  await sweep.attempt("task cost caps", async () => {
    report.taskCostCaps = await runTaskCostCaps(deps, {
      now: sweep.now,
      clouds: sweep.clouds,
      affords: () => sweep.affords("task cost caps", TEARDOWN_CALLS + VOLUME_CALLS),
    });
    for (const error of report.taskCostCaps.errors) report.errors.push(`task cost caps: ${error}`);
  });
  await purgeBootstrapTokens(sweep);
  return report;
}

/**
 * Provisioning past its timeout: clean up, then error. A workspace whose agent already checked in but whose
 * provisioning never recorded a DNS record (the app died half-way) counts too: nobody will finish it.
 */
async function timeOutProvisioning({ deps, now, clouds, report, record, attempt, affords }: Sweep) {
  const lateCreates = await deps.db.query.workspaces.findMany({
    where: and(
      or(eq(workspaces.status, "creating"), and(eq(workspaces.status, "running"), isNull(workspaces.dnsRecordId))),
      lt(workspaces.startedAt, new Date(now - PROVISIONING_TIMEOUT_MS)),
    ),
  });
  for (const workspace of lateCreates) {
    if (!affords("provisioning timeouts", teardownCalls(workspace))) return;
    await attempt(`provisioning timeout ${workspace.id}`, async () => {
      const claimed = await transition(deps.db, { id: workspace.id }, ["creating", "running"], { status: "stopping" });
      if (!claimed) return;
      const minutes = PROVISIONING_TIMEOUT_MS / 60_000;
      await recordEvent(
        deps.db,
        claimed.id,
        "boot",
        "error",
        `The agent did not report ready within ${minutes} minutes`,
      );
      const failure = `The server did not finish starting within ${minutes} minutes, so SAM removed it. Check the timeline for the last step, then retry.`;
      if (await finishStop(deps, claimed, { clouds, failure })) {
        report.provisioningTimedOut.push(claimed.id);
        await record(claimed.userId, "workspace.provisioning_timed_out", { workspaceId: claimed.id });
      }
    });
  }
}

/**
 * Running workspaces that are over age, idle, or whose agent went silent. Silence alone deletes nothing: a
 * control-plane outage silences every heartbeat at once, so after MISSED_HEARTBEATS intervals the sweep
 * probes the agent. An agent that answers keeps its workspace (noted once on the timeline); one that does
 * not is stopped; and when Hetzner no longer has the server, the workspace is marked stopped (nothing is
 * left to delete but its DNS record and firewall).
 */
async function stopLostIdleAndOverAge(
  { deps, now, clouds, report, record, attempt, affords }: Sweep,
  probe: AgentProbe,
) {
  const running = await deps.db.query.workspaces.findMany({ where: eq(workspaces.status, "running") });
  for (const workspace of running) {
    let reason = stopReason(workspace, now);
    if (!reason) continue;
    if (!affords("stops", teardownCalls(workspace) + SILENT_PROBE_CALLS)) return;
    await attempt(`stop ${workspace.id}`, async () => {
      if (reason === "heartbeat") {
        if (await probe(deps.config, workspace.id)) {
          report.silentButAlive.push(workspace.id);
          await noteSilentButAlive(deps, workspace, now);
          return;
        }
        if (await serverGone(deps, clouds, workspace)) reason = "serverGone";
      }
      const claimed = await claimStop(deps, { id: workspace.id }, stopReasons[reason!]);
      if (!claimed) return;
      // A server Hetzner no longer has is not deleted again; its DNS record and firewall still go.
      await finishStop(deps, reason === "serverGone" ? { ...claimed, serverId: null } : claimed, { clouds });
      report.stopped.push({ id: claimed.id, reason: reason! });
      await record(claimed.userId, "workspace.stopped", { workspaceId: claimed.id, reason });
    });
  }
}

/** Once per silence: the timeline says why a workspace without heartbeats is still running. */
async function noteSilentButAlive(deps: Deps, workspace: Workspace, now: number) {
  const [last] = await deps.db
    .select({ step: workspaceEvents.step })
    .from(workspaceEvents)
    .where(eq(workspaceEvents.workspaceId, workspace.id))
    .orderBy(desc(workspaceEvents.id))
    .limit(1);
  if (last?.step === "heartbeat") return;
  const silentFor = Math.round((now - (workspace.lastHeartbeatAt ?? workspace.updatedAt).getTime()) / 1000);
  await recordEvent(
    deps.db,
    workspace.id,
    "heartbeat",
    "info",
    `No heartbeat for ${silentFor} s, but the agent answers its health check: kept running`,
  );
}

/** True only when Hetzner answered and the recorded server is not among the workspace's servers. */
async function serverGone(deps: Deps, clouds: CloudsFactory, workspace: Workspace): Promise<boolean> {
  if (!workspace.serverId) return false;
  const client = await clouds(deps, workspace.userId).catch(() => null);
  if (!client) return false;
  const servers = await client.hetzner
    .listServers({ labelSelector: `${ownedSelector(deps.config)},workspace=${workspace.id}` })
    .catch(() => null);
  return servers !== null && !servers.some((server) => server.id === workspace.serverId);
}

/** Stops whose request died half-way (waitUntil cut short). */
async function finishStuckStops({ deps, now, clouds, report, record, attempt, affords }: Sweep) {
  const stuck = await deps.db.query.workspaces.findMany({
    where: and(eq(workspaces.status, "stopping"), lt(workspaces.updatedAt, new Date(now - STUCK_STOP_MS))),
  });
  for (const workspace of stuck) {
    if (!affords("stuck stops", teardownCalls(workspace))) return;
    await attempt(`finish stop ${workspace.id}`, async () => {
      await finishStop(deps, workspace, { clouds });
      report.stuckStopsFinished.push(workspace.id);
      await record(workspace.userId, "workspace.stop_finished", { workspaceId: workspace.id });
    });
  }
}

/** Failed workspaces whose cleanup failed too: try the teardown again. */
async function retryFailedCleanups({ deps, clouds, report, record, attempt, affords }: Sweep) {
  const leftovers = await deps.db.query.workspaces.findMany({
    where: and(
      eq(workspaces.status, "error"),
      or(isNotNull(workspaces.serverId), isNotNull(workspaces.firewallId), isNotNull(workspaces.dnsRecordId)),
    ),
  });
  for (const workspace of leftovers) {
    if (!affords("failed cleanups", TEARDOWN_CALLS)) return;
    await attempt(`clean up ${workspace.id}`, async () => {
      const client = await clouds(deps, workspace.userId);
      if (!client) return;
      await teardown(deps, client, workspace);
      await deps.db
        .update(workspaces)
        .set({ serverId: null, firewallId: null, dnsRecordId: null, ipv4: null })
        .where(and(eq(workspaces.id, workspace.id), eq(workspaces.status, "error")));
      report.leftoversCleaned.push(workspace.id);
      await record(workspace.userId, "workspace.leftovers_removed", { workspaceId: workspace.id });
    });
  }
}

async function purgeBootstrapTokens({ deps, now, report, record }: Sweep) {
  report.bootstrapTokensPurged = await purgeExpiredBootstrapTokens(deps.db, now);
  if (report.bootstrapTokensPurged > 0)
    await record(null, "bootstrap_tokens.purged", { count: report.bootstrapTokensPurged });
}

function stopReason(workspace: Workspace, now: number): keyof typeof stopReasons | null {
  if (workspace.startedAt && now - workspace.startedAt.getTime() >= workspace.maxLifetimeSeconds * 1000)
    return "lifetime";
  // A silent agent's activity is unknown, so it is not judged idle: the probe decides.
  const lastSign = workspace.lastHeartbeatAt?.getTime() ?? workspace.updatedAt.getTime();
  if (now - lastSign > MISSED_HEARTBEATS * HEARTBEAT_INTERVAL_MS) return "heartbeat";
  // Activity is only as fresh as the last heartbeat, so idleness is judged as of one and a half intervals
  // ago: a busy agent's next heartbeat would by then have reported newer activity.
  const decision = idleDecision({
    now: now - 1.5 * HEARTBEAT_INTERVAL_MS,
    startedAt: workspace.startedAt,
    lastActivityAt: workspace.lastActivityAt,
    idleTimeoutSeconds: workspace.idleTimeoutSeconds,
    maxLifetimeSeconds: workspace.maxLifetimeSeconds,
    agentRunning: false,
  });
  return decision.action === "stop" && decision.reason === "idle" ? "idle" : null;
}

/** The bearer the local runner sends to /api/internal/sweep: HMAC-SHA256(SESSION_SECRET, purpose), hex. */
export async function sweepSecret(config: Pick<Config, "SESSION_SECRET">): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(config.SESSION_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("sam-internal-sweep"));
  return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
