import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, inArray, isNotNull } from "drizzle-orm";
import { tasks, workspaces } from "../db/schema";
import { notify } from "../notifications/notifications.server";
import { audit } from "../platform/audit.server";
import type { CloudsFactory } from "../workspaces/clouds.server";
import { costSoFar } from "../workspaces/cost";
import { finishStop, type ShutdownWait } from "../workspaces/teardown.server";
import { claimStop, type Deps, type Workspace } from "../workspaces/workspaces.server";
import { formatCents } from "./schema";
import { recordTaskEvent, transitionTask, type Task } from "./tasks.server";

/**
 * The cost cap: a sweep pass that stops a task whose workspace has cost more on Hetzner than the task allows.
 * Spend is the server's hours at the hourly price recorded at create (all runs: billed plus the current one)
 * and the volume's monthly price prorated over the time since the task began (a month counted as 30 days).
 * The task fails with the reason, its branch stays, and its owner is told. Model spend is not capped.
 */

const MONTH_MS = 30 * 24 * 3600 * 1000;
const CAPPED_STATUSES = ["queued", "provisioning", "working", "needs_input", "ready"] as const;

/** Euro cents spent on Hetzner by the task's workspace so far. */
export function taskSpendCents(
  task: Pick<Task, "createdAt">,
  workspace: Pick<
    Workspace,
    "hourlyPrice" | "billedSeconds" | "startedAt" | "status" | "volumeId" | "volumeMonthlyPrice"
  >,
  now: number,
): number {
  const server = costSoFar(workspace, now) ?? 0;
  const monthly =
    workspace.volumeId !== null && workspace.volumeMonthlyPrice ? Number(workspace.volumeMonthlyPrice) : 0;
  const volume = Number.isFinite(monthly) ? (monthly * Math.max(0, now - task.createdAt.getTime())) / MONTH_MS : 0;
  return (server + volume) * 100;
}

export interface CostCapReport {
  stopped: Array<{ taskId: string; workspaceId: string; spentCents: number }>;
  errors: string[];
}

export async function runTaskCostCaps(
  deps: Deps,
  options: {
    now?: number;
    clouds?: CloudsFactory;
    shutdown?: ShutdownWait;
    /** Asked before each stop (the sweep's call budget); false ends the pass, and the next sweep goes on. */
    affords?: () => boolean;
  } = {},
): Promise<CostCapReport> {
  const now = options.now ?? Date.now();
  const report: CostCapReport = { stopped: [], errors: [] };
  const capped = await deps.db.query.tasks.findMany({
    where: and(
      inArray(tasks.status, [...CAPPED_STATUSES]),
      isNotNull(tasks.costCapCents),
      isNotNull(tasks.workspaceId),
    ),
  });
  if (!capped.length) return report;
  const rows = await deps.db.query.workspaces.findMany({
    where: inArray(workspaces.id, [...new Set(capped.map((task) => task.workspaceId!))]),
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const task of capped) {
    const workspace = byId.get(task.workspaceId!);
    if (!workspace || (workspace.status !== "creating" && workspace.status !== "running")) continue;
    const spent = taskSpendCents(task, workspace, now);
    if (spent < task.costCapCents!) continue;
    if (options.affords && !options.affords()) break;
    try {
      await stopAtCap(deps, task, workspace, spent, options);
      report.stopped.push({ taskId: task.id, workspaceId: workspace.id, spentCents: Math.round(spent) });
    } catch (error) {
      report.errors.push(`cost cap of task ${task.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return report;
}

async function stopAtCap(
  deps: Deps,
  task: Task,
  workspace: Workspace,
  spentCents: number,
  options: { clouds?: CloudsFactory; shutdown?: ShutdownWait },
) {
  const reason = `Stopped at its cost cap of ${formatCents(task.costCapCents!)}: its workspace has cost ${formatCents(Math.ceil(spentCents))} on Hetzner (server hours and volume). The branch ${task.branch} is kept.`;
  const failed = await transitionTask(deps.db, { id: task.id }, CAPPED_STATUSES, { status: "failed", error: reason });
  if (!failed) return;
  await recordTaskEvent(deps.db, failed, "error", reason);
  const claimed = await claimStop(deps, { id: workspace.id }, "The task reached its cost cap: stopped");
  await audit(deps, null, {
    userId: task.userId,
    action: "task.cost_cap_stopped",
    details: {
      taskId: task.id,
      workspaceId: workspace.id,
      capCents: task.costCapCents,
      spentCents: Math.round(spentCents),
      by: "sweep",
    },
  });
  // notify() reads only the database and the configuration, which the sweep has.
  await notify(deps as AppLoadContext, {
    userId: task.userId,
    kind: "task_failed",
    title: "Task stopped at its cost cap",
    body: `${task.title} — ${reason}`.slice(0, 500),
    url: `/tasks/${task.id}`,
    workspaceId: workspace.id,
    taskId: task.id,
  });
  if (claimed) await finishStop(deps, claimed, { clouds: options.clouds, shutdown: options.shutdown });
}
