import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, asc, eq, gte, inArray, isNull, sql } from "drizzle-orm";
import { audit } from "../platform/audit.server";
import type { Database } from "../platform/context.server";
import { LIVE_STATUSES, notifications, workspaceEvents, workspaces, type WorkspaceStatus } from "../db/schema";
import { notify } from "../notifications/notifications.server";
import { sizes, type Size } from "../admin/policy.server";
import { costSoFar } from "./cost";
import { IDLE_WARNING_MS } from "./schema";

/**
 * Workspaces: the rows and their state machine (docs/architecture.md, "Workspace states"), idle decisions, the agent's
 * callbacks and what pages show. Every transition is one conditional UPDATE … RETURNING, so of two racing
 * requests only one acts; every user-facing query takes the user id. The cloud work behind a transition is
 * in provision.server.ts and teardown.server.ts, the create form in form.server.ts, the dashboard's list in
 * list.server.ts.
 */

export type Workspace = typeof workspaces.$inferSelect;
export type WorkspaceEvent = typeof workspaceEvents.$inferSelect;
/** What the cloud work needs: the database and the configuration (a load context, or the sweep's). */
export type Deps = Pick<AppLoadContext, "db" | "config">;

export const PROVISIONING_TIMEOUT_MS = 10 * 60 * 1000;
export const HEARTBEAT_INTERVAL_MS = 30 * 1000;
/** A running workspace missing this many heartbeats in a row is considered lost. */
export const MISSED_HEARTBEATS = 3;

// ---- ids and queries ----------------------------------------------------------------------------------

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** 12 lowercase base32 characters (60 random bits): short, and safe as a DNS label and a Hetzner label. */
export function newWorkspaceId(): string {
  return [...crypto.getRandomValues(new Uint8Array(12))].map((byte) => BASE32[byte & 31]).join("");
}

export const isWorkspaceId = (value: string | undefined): value is string =>
  typeof value === "string" && /^[a-z2-7]{12}$/.test(value);

export async function getWorkspace(
  db: Database,
  { id, userId }: { id: string; userId: string },
): Promise<Workspace | null> {
  if (!isWorkspaceId(id)) return null;
  return (
    (await db.query.workspaces.findFirst({ where: and(eq(workspaces.id, id), eq(workspaces.userId, userId)) })) ?? null
  );
}

/** For agent endpoints, whose caller proved the workspace id with a callback token. */
export async function getWorkspaceForAgent(db: Database, id: string): Promise<Workspace | null> {
  return (await db.query.workspaces.findFirst({ where: eq(workspaces.id, id) })) ?? null;
}

/** The timeline; the caller has already checked whose workspace it is. */
export function listEvents(db: Database, workspaceId: string) {
  return db.query.workspaceEvents.findMany({
    where: eq(workspaceEvents.workspaceId, workspaceId),
    orderBy: [asc(workspaceEvents.id)],
  });
}

export async function recordEvent(
  db: Database,
  workspaceId: string,
  step: string,
  status: WorkspaceEvent["status"],
  message?: string | null,
) {
  await db
    .insert(workspaceEvents)
    // 8 KiB: a batch of a setup script's output (the agent sends at most 4 KiB at once) fits whole.
    .values({ workspaceId, step, status, message: message ? message.slice(0, 8192) : null });
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
export async function saveWhileCreating(
  db: Database,
  run: Pick<Workspace, "id" | "startedAt">,
  set: Partial<typeof workspaces.$inferInsert>,
): Promise<boolean> {
  const [row] = await db
    .update(workspaces)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(workspaces.id, run.id), eq(workspaces.status, "creating"), runMatches(run.startedAt)))
    .returning({ id: workspaces.id });
  return Boolean(row);
}

/** Seconds of the current run, added to billedSeconds when the servers go. */
export function runSeconds(workspace: Pick<Workspace, "startedAt">, now: number) {
  return workspace.startedAt ? Math.max(0, Math.round((now - workspace.startedAt.getTime()) / 1000)) : 0;
}

export const cleared = {
  serverId: null,
  firewallId: null,
  ipv4: null,
  dnsRecordId: null,
  startedAt: null,
  lastHeartbeatAt: null,
} as const;

// ---- stop, restart, delete ----------------------------------------------------------------------------

/** Claims the stop (creating/running → stopping); null when someone else already did, or it is not live. */
export async function claimStop(deps: Deps, scope: Scope, reason: string): Promise<Workspace | null> {
  const row = await transition(deps.db, scope, ["creating", "running"], { status: "stopping" });
  if (row) await recordEvent(deps.db, row.id, "stop", "started", reason);
  return row;
}

/** Claims a delete from any settled or live state except a stop already in progress. */
export async function claimDelete(deps: Deps, scope: Scope): Promise<Workspace | null> {
  const row = await transition(deps.db, scope, ["creating", "running", "stopped", "error"], {
    status: "stopping",
    error: null,
  });
  if (row) await recordEvent(deps.db, row.id, "delete", "started", "Deleting the workspace");
  return row;
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

export type IdleDecision =
  | { action: "continue"; idleStopAt: number | null }
  | { action: "stop"; reason: "idle" | "lifetime" };

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
export function stopsAt(
  workspace: Pick<Workspace, "status" | "startedAt" | "lastActivityAt" | "idleTimeoutSeconds" | "maxLifetimeSeconds">,
) {
  if (workspace.status !== "running" || !workspace.startedAt) return null;
  const started = workspace.startedAt.getTime();
  const idle = Math.max(started, workspace.lastActivityAt?.getTime() ?? 0) + workspace.idleTimeoutSeconds * 1000;
  const lifetime = started + workspace.maxLifetimeSeconds * 1000;
  return idle <= lifetime ? { at: idle, reason: "idle" as const } : { at: lifetime, reason: "lifetime" as const };
}

export const stopReasons = {
  idle: "No input or output for the idle timeout: stopped to save cost",
  lifetime: "Reached its maximum lifetime: stopped",
  heartbeat: `The agent stopped reporting (no heartbeat for ${(MISSED_HEARTBEATS * HEARTBEAT_INTERVAL_MS) / 1000} s) and did not answer a health check: stopped`,
  agent: "The workspace asked to be stopped",
  access: "The owner's access to this instance ended: stopped, and its tokens revoked",
  serverGone: "Hetzner no longer has this workspace's server: marked stopped",
  user: "Stopped by you",
} as const;

// ---- agent callbacks ----------------------------------------------------------------------------------

export interface Heartbeat {
  last_input_at: string | null;
  last_output_at: string | null;
  attached_clients: number;
  sessions: number;
  agent_running: boolean;
  /** A coding agent's chat turn is in flight (older agents do not send it). */
  agent_turn_in_flight?: boolean;
  /** Uncommitted and unpushed work in the repository; null when there is none to look at, absent from older agents. */
  unsaved_work?: { uncommitted: number; unpushed: number } | null;
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
): Promise<{ action: "continue" | "stop"; claimed?: Workspace }> {
  const unsaved = heartbeat.unsaved_work === undefined ? {} : { unsavedWork: heartbeat.unsaved_work };
  if (workspace.status !== "running" && workspace.status !== "creating") {
    // The agent's last heartbeat while its server shuts down: the count the workspace page shows while stopped.
    if (workspace.status === "stopping" && heartbeat.unsaved_work !== undefined)
      await deps.db
        .update(workspaces)
        .set(unsaved)
        .where(and(eq(workspaces.id, workspace.id), eq(workspaces.status, "stopping")));
    return { action: "stop" };
  }
  const reported = [heartbeat.last_input_at, heartbeat.last_output_at]
    .map((value) => (value ? Date.parse(value) : Number.NaN))
    .filter((value) => Number.isFinite(value))
    .map((value) => Math.min(value, now));
  const working = heartbeat.agent_running || heartbeat.agent_turn_in_flight === true;
  const activity = Math.max(workspace.lastActivityAt?.getTime() ?? 0, ...reported, working ? now : 0);
  const [updated] = await deps.db
    .update(workspaces)
    .set({
      lastHeartbeatAt: new Date(now),
      ...(activity > 0 ? { lastActivityAt: new Date(activity) } : {}),
      ...unsaved,
    })
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
    agentRunning: working,
  });
  if (decision.action === "continue") {
    if (decision.idleStopAt !== null && decision.idleStopAt - now <= IDLE_WARNING_MS)
      await warnIdleStop(deps, updated, decision.idleStopAt, now);
    return { action: "continue" };
  }
  const claimed = await claimStop(deps, { id: workspace.id }, stopReasons[decision.reason]);
  if (claimed) {
    await audit(deps, null, {
      userId: claimed.userId,
      action: "workspace.stopped",
      details: { workspaceId: claimed.id, reason: decision.reason },
    });
  }
  return { action: "stop", claimed: claimed ?? undefined };
}

/**
 * Tells the owner, once per quiet spell, that the workspace stops soon for idleness (the page offers "keep
 * alive"); a later spell, after new activity, is told again.
 */
async function warnIdleStop(deps: Deps, workspace: Workspace, idleStopAt: number, now: number) {
  const spell = new Date(idleStopAt - IDLE_WARNING_MS - HEARTBEAT_INTERVAL_MS);
  const told = await deps.db.query.notifications.findFirst({
    columns: { id: true },
    where: and(
      eq(notifications.workspaceId, workspace.id),
      eq(notifications.kind, "idle_stop_soon"),
      gte(notifications.createdAt, spell),
    ),
  });
  if (told) return;
  const minutes = Math.max(1, Math.round((idleStopAt - now) / 60_000));
  await notify(deps, {
    userId: workspace.userId,
    kind: "idle_stop_soon",
    title: `${workspace.name} stops in ${minutes} minute${minutes === 1 ? "" : "s"}`,
    body: "Nothing has happened in it for a while. Open it and choose Keep alive to keep it running; a stop keeps its files.",
    url: `/workspaces/${workspace.id}`,
    workspaceId: workspace.id,
    at: now,
  });
}

/** creating → running, once; the agent may repeat the call. */
export async function markReady(
  deps: Deps,
  workspace: Workspace,
  now = Date.now(),
): Promise<"ready" | "already" | "conflict"> {
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
