import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, desc, eq, inArray } from "drizzle-orm";
import { getPolicy } from "../admin/policy.server";
import { tasks, users, workspaceEvents, type TaskStatus } from "../db/schema";
import type { Database } from "../platform/context.server";
import { createWorkspace } from "../workspaces/form.server";
import { claimStop, newWorkspaceId, recordEvent, type Deps, type Workspace } from "../workspaces/workspaces.server";
import { taskBranchName, taskTitle, type TaskForm } from "./schema";

/**
 * Tasks (docs/architecture.md, "Tasks"): a prompt on a repository that runs in a workspace of its own on the
 * branch `sam/<slug>-<id>`, and ends in a reviewed pull request. The rows and their state machine live here;
 * every status change is one conditional UPDATE … RETURNING, so of two racing writers only one moves it.
 * What a task did (the agent's turns, a refused push) is written on its workspace's timeline under the steps
 * below, which the task page reads back.
 */

export type Task = typeof tasks.$inferSelect;

/** Timeline steps a task writes on its workspace. */
export const TASK_STEPS = { task: "task", summary: "task-summary", pushBlocked: "push-blocked" } as const;

export const PUSH_BLOCKED_NOTICE = "The coding agent tried to push; SAM refused it — only SAM pushes the task branch.";

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isTaskId = (value: string | undefined): value is string =>
  typeof value === "string" && TASK_ID.test(value);

// ---- queries ------------------------------------------------------------------------------------------

export async function getTask(db: Database, { id, userId }: { id: string; userId: string }): Promise<Task | null> {
  if (!isTaskId(id)) return null;
  return (await db.query.tasks.findFirst({ where: and(eq(tasks.id, id), eq(tasks.userId, userId)) })) ?? null;
}

/** The task a workspace runs, for the agent's callbacks (the caller proved the workspace with a callback token). */
export async function taskOfWorkspace(db: Database, workspaceId: string): Promise<Task | null> {
  return (
    (await db.query.tasks.findFirst({
      where: eq(tasks.workspaceId, workspaceId),
      orderBy: [desc(tasks.createdAt)],
    })) ?? null
  );
}

export function listTasks(db: Database, userId: string, filter: { statuses?: TaskStatus[] } = {}) {
  return db.query.tasks.findMany({
    where: and(eq(tasks.userId, userId), filter.statuses?.length ? inArray(tasks.status, filter.statuses) : undefined),
    orderBy: [desc(tasks.createdAt)],
    limit: 200,
  });
}

/** The task's lines on its workspace's timeline, oldest first. */
export async function taskTimeline(db: Database, task: Pick<Task, "workspaceId">) {
  if (!task.workspaceId) return [];
  return db.query.workspaceEvents.findMany({
    where: and(
      eq(workspaceEvents.workspaceId, task.workspaceId),
      inArray(workspaceEvents.step, [TASK_STEPS.task, TASK_STEPS.pushBlocked]),
    ),
    orderBy: (event, { asc }) => [asc(event.id)],
  });
}

/** What the agent said at the end of its last turn (for the pull request's description). */
export async function lastSummary(db: Database, task: Pick<Task, "workspaceId">): Promise<string | null> {
  if (!task.workspaceId) return null;
  const row = await db.query.workspaceEvents.findFirst({
    where: and(eq(workspaceEvents.workspaceId, task.workspaceId), eq(workspaceEvents.step, TASK_STEPS.summary)),
    orderBy: (event, { desc: descending }) => [descending(event.id)],
  });
  return row?.message ?? null;
}

export async function recordTaskEvent(
  db: Database,
  task: Pick<Task, "workspaceId">,
  status: "started" | "ok" | "error" | "info",
  message: string,
  step: string = TASK_STEPS.task,
) {
  if (task.workspaceId) await recordEvent(db, task.workspaceId, step, status, message);
}

// ---- transitions --------------------------------------------------------------------------------------

type TaskScope = { id: string; userId?: string };

/** The one way a task's status changes: `UPDATE … WHERE id = ? [AND user_id = ?] AND status IN (from) RETURNING`. */
export async function transitionTask(
  db: Database,
  scope: TaskScope,
  from: readonly TaskStatus[],
  set: Partial<typeof tasks.$inferInsert> & { status: TaskStatus },
): Promise<Task | null> {
  const [row] = await db
    .update(tasks)
    .set({ ...set, updatedAt: new Date() })
    .where(
      and(
        eq(tasks.id, scope.id),
        scope.userId ? eq(tasks.userId, scope.userId) : undefined,
        inArray(tasks.status, [...from]),
      ),
    )
    .returning();
  return row ?? null;
}

/** Writes fields without moving the status, only while the task is in one of `while`. */
export async function updateTaskWhile(
  db: Database,
  id: string,
  within: readonly TaskStatus[],
  set: Partial<typeof tasks.$inferInsert>,
): Promise<Task | null> {
  const [row] = await db
    .update(tasks)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(tasks.id, id), inArray(tasks.status, [...within])))
    .returning();
  return row ?? null;
}

// ---- create and cancel --------------------------------------------------------------------------------

export type CreateTaskResult =
  | { kind: "created"; task: Task; workspace: Workspace }
  | { kind: "invalid"; fieldErrors: Record<string, string[]>; formErrors: string[] };

/**
 * Inserts the task (queued), then creates its workspace through the workspace create (same checks: the
 * repository through the user's installations, the base branch, Hetzner, the per-user limit) on the base
 * branch, and links the two (queued → provisioning). The caller starts provisioning the workspace. A task
 * whose workspace could not be created is removed again, and the form shows why.
 */
export async function createTask(context: AppLoadContext, userId: string, form: TaskForm): Promise<CreateTaskResult> {
  const title = taskTitle(form.prompt);
  const [inserted] = await context.db
    .insert(tasks)
    .values({
      userId,
      status: "queued",
      title,
      prompt: form.prompt,
      repository: form.repository,
      installationId: 0,
      baseBranch: form.baseBranch || "",
      branch: taskBranchName(form.prompt, newWorkspaceId().slice(0, 6)),
      agentCli: form.agentCli,
      size: form.size,
      costCapCents: form.costCapEuros === undefined ? null : Math.round(form.costCapEuros * 100),
    })
    .returning();
  const task = inserted!;
  const removeTask = () => context.db.delete(tasks).where(and(eq(tasks.id, task.id), eq(tasks.userId, userId)));
  let result: Awaited<ReturnType<typeof createWorkspace>> | null = null;
  try {
    result = await createTaskWorkspace(context, userId, form, title);
  } catch (error) {
    await removeTask();
    throw error;
  }
  if (!result || result.kind === "invalid") {
    await removeTask();
    const fieldErrors = result?.fieldErrors ?? {};
    return {
      kind: "invalid",
      fieldErrors: {
        ...(fieldErrors.repository ? { repository: fieldErrors.repository } : {}),
        ...(fieldErrors.branch ? { baseBranch: fieldErrors.branch } : {}),
        ...(fieldErrors.location
          ? { size: ["Hetzner does not offer this size in any location this instance allows right now."] }
          : {}),
      },
      formErrors: result?.formErrors ?? ["There is no location this instance allows."],
    };
  }
  const { workspace } = result;
  const linked = await transitionTask(context.db, { id: task.id, userId }, ["queued"], {
    status: "provisioning",
    workspaceId: workspace.id,
    repository: workspace.repository!,
    installationId: workspace.installationId!,
    baseBranch: workspace.branch!,
  });
  await recordEvent(
    context.db,
    workspace.id,
    TASK_STEPS.task,
    "info",
    `Task branch ${task.branch} from ${workspace.branch}`,
  );
  return { kind: "created", task: linked!, workspace };
}

/** The task's workspace on its base branch; tasks ask for no location: the first allowed one that offers the size. */
async function createTaskWorkspace(context: AppLoadContext, userId: string, form: TaskForm, title: string) {
  const policy = await getPolicy(context);
  let result: Awaited<ReturnType<typeof createWorkspace>> | null = null;
  for (const location of policy.allowedLocations) {
    result = await createWorkspace(context, userId, {
      name: title.slice(0, 60),
      repository: form.repository,
      branch: form.baseBranch || undefined,
      size: form.size,
      location,
      idleTimeoutMinutes: policy.defaultIdleMinutes,
      maxLifetimeHours: policy.defaultLifetimeHours,
      agentCli: form.agentCli,
    });
    if (result.kind === "created" || !result.fieldErrors.location) break;
  }
  return result;
}

/**
 * Cancels the task (any state before review is done) and claims the stop of its workspace; the branch stays
 * on GitHub. Returns the claimed workspace for the caller to finish the stop after the response (finishStop).
 */
export async function cancelTask(
  deps: Deps,
  scope: { id: string; userId: string },
): Promise<{ task: Task; stopping: Workspace | null } | null> {
  const task = await transitionTask(deps.db, scope, ["queued", "provisioning", "working", "needs_input", "ready"], {
    status: "cancelled",
  });
  if (!task) return null;
  await recordTaskEvent(deps.db, task, "info", "Task cancelled; the branch is kept");
  const stopping = task.workspaceId
    ? await claimStop(deps, { id: task.workspaceId, userId: scope.userId }, "The task was cancelled: stopped")
    : null;
  return { task, stopping };
}

// ---- the VM agent's bootstrap -------------------------------------------------------------------------

export interface BootstrapTask {
  id: string;
  branch: string;
  base_branch: string;
  prompt: string;
  agent_cli: string;
  author_name: string;
  author_email: string;
  /** The task's chat from an earlier run of the workspace (its log is on the volume), so it goes on there. */
  chat_session_id?: string;
}

/**
 * What the VM agent needs to run the workspace's task, or null for a workspace that runs none. Commits carry
 * the owner's GitHub identity with their noreply address (`<id>+<login>@users.noreply.github.com`), which
 * GitHub links to the account without publishing an email.
 */
export async function taskForBootstrap(
  context: Pick<AppLoadContext, "db">,
  workspaceId: string,
): Promise<BootstrapTask | null> {
  const task = await taskOfWorkspace(context.db, workspaceId);
  if (!task || task.status === "cancelled") return null;
  const owner = await context.db.query.users.findFirst({
    columns: { githubId: true, login: true, name: true },
    where: eq(users.id, task.userId),
  });
  if (!owner) return null;
  return {
    id: task.id,
    branch: task.branch,
    base_branch: task.baseBranch,
    prompt: task.prompt,
    agent_cli: task.agentCli,
    author_name: owner.name?.trim() || owner.login,
    author_email: `${owner.githubId}+${owner.login}@users.noreply.github.com`,
    ...(task.chatSessionId ? { chat_session_id: task.chatSessionId } : {}),
  };
}
