import { and, eq, inArray, isNotNull, isNull, or, lt } from "drizzle-orm";
import { getPolicy, type Policy } from "../admin/policy.server";
import { workspaces } from "../db/schema";
import { notify } from "../notifications/notifications.server";
import { audit } from "../platform/audit.server";
import { userClouds, type Clouds, type CloudsFactory } from "./clouds.server";
import { recordEvent, type Deps, type Workspace } from "./workspaces.server";

/**
 * How long a stopped workspace keeps its volume (the admin policy's retention): a reminder to its owner some
 * days before, then the volume is deleted in the owner's Hetzner project. A volume bills by the month whether
 * a server uses it or not, so without this, forgotten workspaces would go on costing.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** Where a workspace may hold a volume that nothing runs on. */
const RESTING_STATUSES = ["stopped", "error"] as const;

/** A volume delete is one call; Hetzner's 423 (locked) is waited out inside it. */
const VOLUME_DELETE_CALLS = 1;

const PASS = "volume retention";

/**
 * When the workspace last ran, from which its volume's retention counts: the later of its stop and its last
 * start (a restart that failed leaves an older stop behind), or its creation.
 */
export function volumeRestingSince(workspace: Pick<Workspace, "stoppedAt" | "startedAt" | "createdAt">): number {
  return Math.max(
    workspace.stoppedAt?.getTime() ?? 0,
    workspace.startedAt?.getTime() ?? 0,
    workspace.createdAt.getTime(),
  );
}

/** When the volume of a stopped (or failed) workspace is deleted, and when its owner is reminded (null: not). */
export function volumeDeadlines(
  workspace: Pick<Workspace, "stoppedAt" | "startedAt" | "createdAt">,
  policy: Pick<Policy, "volumeRetentionDays" | "volumeReminderDays">,
) {
  const since = volumeRestingSince(workspace);
  const deleteAt = since + policy.volumeRetentionDays * DAY_MS;
  return {
    since,
    deleteAt,
    remindAt: policy.volumeReminderDays > 0 ? deleteAt - policy.volumeReminderDays * DAY_MS : null,
  };
}

export interface VolumeRetentionReport {
  /** Workspaces whose owner was told their volume will be deleted. */
  reminded: string[];
  /** Volume ids deleted, the retention being over. */
  deleted: number[];
  /** Past the retention, but the owner has no Hetzner token to delete with: listed for admins on /admin. */
  noToken: string[];
  errors: string[];
}

/**
 * The sweep's pieces this pass uses (app/workspaces/sweep.server.ts's `Sweep` has them all, so the sweep passes
 * itself): its clock, its metered clouds, its call budget, its audit writer and its error handling.
 */
export interface VolumeRetentionOptions {
  now?: number;
  clouds?: CloudsFactory;
  /** Whether `calls` more fit in the sweep's budget; when not, the rest waits for the next run. */
  affords?: (pass: string, calls: number) => boolean;
  record?: (userId: string | null, action: string, details: Record<string, unknown>) => Promise<void>;
  /** Runs one unit of work; a failure is noted and the pass goes on. */
  attempt?: (what: string, work: () => Promise<void>) => Promise<void>;
}

/**
 * Reminds the owners of stopped workspaces whose volume's retention ends soon (one notification per stop,
 * without a call to any cloud), and deletes the volumes whose retention is over, as many as the call budget
 * allows; the rest stay as they are and the next run goes on with them.
 */
export async function runVolumeRetention(
  context: Deps,
  options: VolumeRetentionOptions = {},
): Promise<VolumeRetentionReport> {
  const report: VolumeRetentionReport = { reminded: [], deleted: [], noToken: [], errors: [] };
  const now = options.now ?? Date.now();
  const clouds = options.clouds ?? userClouds;
  const affords = options.affords ?? (() => true);
  const record =
    options.record ??
    ((userId, action, details) => audit(context, null, { userId, action, details: { ...details, by: "sweep" } }));
  const attempt =
    options.attempt ??
    (async (what, work) => {
      try {
        await work();
      } catch (error) {
        report.errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });

  const policy = await getPolicy(context);
  // Only rows whose clock may have run out: the retention counted from the newest possible start of the rest.
  const latestSince = new Date(now - (policy.volumeRetentionDays - policy.volumeReminderDays) * DAY_MS);
  const resting = await context.db.query.workspaces.findMany({
    where: and(
      inArray(workspaces.status, [...RESTING_STATUSES]),
      isNotNull(workspaces.volumeId),
      // A server still recorded holds the volume attached; the sweep's cleanup removes it first.
      isNull(workspaces.serverId),
      lt(workspaces.createdAt, latestSince),
      or(isNull(workspaces.stoppedAt), lt(workspaces.stoppedAt, latestSince)),
    ),
  });
  const cloudsOf = new Map<string, Promise<Clouds | null>>();
  const cloudsFor = (userId: string) => {
    let made = cloudsOf.get(userId);
    if (!made) cloudsOf.set(userId, (made = clouds(context, userId).catch(() => null)));
    return made;
  };

  for (const workspace of resting) {
    const { deleteAt, remindAt } = volumeDeadlines(workspace, policy);
    if (now >= deleteAt) {
      if (!affords(PASS, VOLUME_DELETE_CALLS)) return report;
      await attempt(`delete volume of ${workspace.id}`, async () => {
        const client = await cloudsFor(workspace.userId);
        if (!client) {
          report.noToken.push(workspace.id);
          return;
        }
        if (await deleteExpiredVolume(context, client, workspace, policy)) {
          report.deleted.push(workspace.volumeId!);
          await record(workspace.userId, "volume.retention_deleted", {
            workspaceId: workspace.id,
            volumeId: workspace.volumeId,
            sizeGb: workspace.volumeSizeGb,
            retentionDays: policy.volumeRetentionDays,
          });
        }
      });
    } else if (remindAt !== null && now >= remindAt) {
      await attempt(`remind of volume of ${workspace.id}`, async () => {
        if (await remind(context, workspace, deleteAt, now)) {
          report.reminded.push(workspace.id);
          await record(workspace.userId, "volume.retention_reminded", {
            workspaceId: workspace.id,
            volumeId: workspace.volumeId,
            deleteAt: new Date(deleteAt).toISOString(),
          });
        }
      });
    }
  }
  return report;
}

const day = new Intl.DateTimeFormat("en", { dateStyle: "long", timeZone: "UTC" });

/** One reminder per rest: one sent before the workspace last ran does not count. */
async function remind(context: Deps, workspace: Workspace, deleteAt: number, now: number): Promise<boolean> {
  const since = new Date(volumeRestingSince(workspace));
  const [claimed] = await context.db
    .update(workspaces)
    .set({ volumeReminderAt: new Date(now) })
    .where(
      and(
        eq(workspaces.id, workspace.id),
        eq(workspaces.volumeId, workspace.volumeId!),
        inArray(workspaces.status, [...RESTING_STATUSES]),
        or(isNull(workspaces.volumeReminderAt), lt(workspaces.volumeReminderAt, since)),
      ),
    )
    .returning({ id: workspaces.id });
  if (!claimed) return false;
  const when = day.format(new Date(deleteAt));
  // In the app and, where the owner turned it on, by push: the files go unless they act.
  await notify(context, {
    userId: workspace.userId,
    kind: "volume_expiring",
    title: `${workspace.name}: its files are deleted on ${when}`,
    body: `The workspace has not run since ${day.format(since)}, and this instance keeps a stopped workspace's volume (its repository, home directory and session logs) for a limited time. Restart it before ${when} to keep them, or delete it now if you no longer need it.`,
    url: `/workspaces/${workspace.id}`,
    workspaceId: workspace.id,
    at: now,
  });
  await recordEvent(context.db, workspace.id, "volume", "info", `Volume to be deleted on ${when}; the owner was told`);
  return true;
}

/**
 * Deletes the volume in the owner's project. The row lets go of it first, with one conditional update, so a
 * restart racing this finds no volume to attach rather than one being deleted; a failed delete gives it back.
 */
async function deleteExpiredVolume(
  context: Deps,
  client: Clouds,
  workspace: Workspace,
  policy: Pick<Policy, "volumeRetentionDays">,
): Promise<boolean> {
  const volumeId = workspace.volumeId!;
  const [claimed] = await context.db
    .update(workspaces)
    .set({ volumeId: null, volumeSizeGb: null, volumeMonthlyPrice: null, volumeReminderAt: null, unsavedWork: null })
    .where(
      and(
        eq(workspaces.id, workspace.id),
        eq(workspaces.volumeId, volumeId),
        inArray(workspaces.status, [...RESTING_STATUSES]),
        isNull(workspaces.serverId),
      ),
    )
    .returning({ id: workspaces.id });
  if (!claimed) return false;
  try {
    await client.hetzner.deleteVolume(volumeId);
  } catch (error) {
    await context.db
      .update(workspaces)
      .set({
        volumeId,
        volumeSizeGb: workspace.volumeSizeGb,
        volumeMonthlyPrice: workspace.volumeMonthlyPrice,
        volumeReminderAt: workspace.volumeReminderAt,
        unsavedWork: workspace.unsavedWork,
      })
      .where(and(eq(workspaces.id, workspace.id), isNull(workspaces.volumeId)));
    throw error;
  }
  await recordEvent(
    context.db,
    workspace.id,
    "volume",
    "ok",
    `Volume deleted: the workspace had not run for ${policy.volumeRetentionDays} days. Its files are gone; a restart starts afresh.`,
  );
  return true;
}
