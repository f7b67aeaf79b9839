import type { AppLoadContext } from "@remix-run/cloudflare";
import { z } from "zod";
import { chatAgents, isChatAgent } from "../chat/agents";
import { notify } from "../notifications/notifications.server";
import { audit } from "../platform/audit.server";
import type { Workspace } from "../workspaces/workspaces.server";
import { mintPermissionAnswerTokens, permissionAnswerPath } from "./permission-answers.server";
import {
  PUSH_BLOCKED_NOTICE,
  recordTaskEvent,
  TASK_STEPS,
  taskOfWorkspace,
  transitionTask,
  updateTaskWhile,
  type Task,
} from "./tasks.server";

/**
 * What a workspace's VM agent tells the control plane about its chats and its task (POST
 * /api/workspaces/:id/events), and what each does to the task's state. docs/architecture.md, "Tasks".
 */

const chatSessionId = z.string().min(1).max(200);
const sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "must be a full commit SHA");

export const workspaceEventSchema = z.discriminatedUnion("event", [
  z.object({ event: z.literal("task_started"), chat_session_id: chatSessionId }),
  z.object({
    event: z.literal("turn_ended"),
    chat_session_id: chatSessionId,
    head_sha: sha.nullable(),
    pushed: z.boolean(),
    summary: z.string().max(100_000),
  }),
  z.object({ event: z.literal("push_blocked"), command: z.string().max(2000) }),
  z.object({
    event: z.literal("permission_waiting"),
    chat_session_id: chatSessionId,
    request_id: z.string().min(1).max(200),
    title: z.string().max(500),
  }),
  z.object({
    event: z.literal("permission_answered"),
    chat_session_id: chatSessionId,
    request_id: z.string().min(1).max(200),
  }),
  z.object({ event: z.literal("failed"), error: z.string().max(2000) }),
]);

export type WorkspaceAgentEvent = z.infer<typeof workspaceEventSchema>;

export type EventOutcome =
  | { kind: "applied"; task: Task | null }
  /** Well-formed but it changed nothing: a late or repeated event, or another chat's turn. */
  | { kind: "ignored"; task: Task | null; why: string }
  | { kind: "no-task" };

const taskUrl = (task: Pick<Task, "id">) => `/tasks/${task.id}`;
const agentLabel = (agentCli: string) => (isChatAgent(agentCli) ? chatAgents[agentCli].label : agentCli);

export async function applyWorkspaceEvent(
  context: AppLoadContext,
  workspace: Workspace,
  event: WorkspaceAgentEvent,
): Promise<EventOutcome> {
  const task = await taskOfWorkspace(context.db, workspace.id);
  if (event.event === "permission_waiting") return permissionWaiting(context, workspace, task, event);
  if (!task) return { kind: "no-task" };
  const ignored = (why: string): EventOutcome => ({ kind: "ignored", task, why });
  const otherChat = (id: string) => task.chatSessionId !== null && task.chatSessionId !== id;

  switch (event.event) {
    case "task_started": {
      const moved = await transitionTask(context.db, { id: task.id }, ["provisioning"], {
        status: "working",
        chatSessionId: event.chat_session_id,
      });
      if (!moved) return ignored(`the task is ${task.status}`);
      await recordTaskEvent(context.db, moved, "started", `${agentLabel(moved.agentCli)} started on the prompt`);
      return { kind: "applied", task: moved };
    }
    case "turn_ended": {
      if (otherChat(event.chat_session_id)) return ignored("another chat's turn");
      const changed = event.head_sha !== null || event.pushed;
      const fields = changed ? { headSha: event.head_sha ?? task.headSha } : {};
      // Only the writer that moves the task into review tells the owner; a later turn (a line comment answered,
      // also after the pull request opened) only updates the branch's head.
      const reviewed = await transitionTask(context.db, { id: task.id }, ["working", "needs_input"], {
        status: "ready",
        ...fields,
      });
      const moved = reviewed ?? (await updateTaskWhile(context.db, task.id, ["ready", "pr_open"], fields));
      if (!moved) return ignored(`the task is ${task.status}`);
      const summary = event.summary.trim();
      if (summary) await recordTaskEvent(context.db, moved, "info", summary, TASK_STEPS.summary);
      const head = (event.head_sha ?? moved.headSha ?? "").slice(0, 7);
      const line = !changed
        ? "Turn ended with no changes: nothing was committed or pushed"
        : event.head_sha !== null && event.head_sha === task.headSha
          ? `Turn ended with no new commits; ${moved.branch} stays at ${head}`
          : `Turn ended; pushed ${head} to ${moved.branch}`;
      await recordTaskEvent(context.db, moved, "ok", line);
      if (reviewed)
        await notify(context, {
          userId: moved.userId,
          kind: "task_ready",
          title: changed ? "Ready for review" : "Ready for review (no changes)",
          body: `${moved.title} — ${changed ? `review the changes on ${moved.branch}` : "the agent changed nothing"}`,
          url: taskUrl(moved),
          workspaceId: workspace.id,
          taskId: moved.id,
        });
      return { kind: "applied", task: moved };
    }
    case "push_blocked": {
      await recordTaskEvent(
        context.db,
        task,
        "error",
        `${PUSH_BLOCKED_NOTICE} (${event.command.slice(0, 300)})`,
        TASK_STEPS.pushBlocked,
      );
      await audit(context, null, {
        userId: task.userId,
        action: "task.push_blocked",
        details: { taskId: task.id, workspaceId: workspace.id, command: event.command.slice(0, 300) },
      });
      return { kind: "applied", task };
    }
    case "permission_answered": {
      if (otherChat(event.chat_session_id)) return ignored("another chat's request");
      const moved = await transitionTask(context.db, { id: task.id }, ["needs_input"], { status: "working" });
      if (!moved) return ignored(`the task is ${task.status}`);
      await recordTaskEvent(context.db, moved, "info", "Permission answered; the agent goes on");
      return { kind: "applied", task: moved };
    }
    case "failed": {
      const moved = await transitionTask(
        context.db,
        { id: task.id },
        ["queued", "provisioning", "working", "needs_input", "ready"],
        { status: "failed", error: event.error },
      );
      if (!moved) return ignored(`the task is ${task.status}`);
      await recordTaskEvent(context.db, moved, "error", `Task failed: ${event.error}`);
      await notify(context, {
        userId: moved.userId,
        kind: "task_failed",
        title: "Task failed",
        body: `${moved.title} — ${event.error}`.slice(0, 500),
        url: taskUrl(moved),
        workspaceId: workspace.id,
        taskId: moved.id,
      });
      return { kind: "applied", task: moved };
    }
  }
}

/**
 * A permission request waits and nobody is watching: the task (when the chat is its chat) needs input, and
 * the owner gets a notification with Allow and Deny, each a one-time answer.
 */
async function permissionWaiting(
  context: AppLoadContext,
  workspace: Workspace,
  task: Task | null,
  event: Extract<WorkspaceAgentEvent, { event: "permission_waiting" }>,
): Promise<EventOutcome> {
  const taskChat = task && (task.chatSessionId === null || task.chatSessionId === event.chat_session_id);
  const moved = taskChat
    ? await transitionTask(context.db, { id: task.id }, ["working", "ready"], { status: "needs_input" })
    : null;
  if (moved) await recordTaskEvent(context.db, moved, "info", `Waiting for permission: ${event.title}`);
  const tokens = await mintPermissionAnswerTokens(context, {
    userId: workspace.userId,
    workspaceId: workspace.id,
    chatSessionId: event.chat_session_id,
    requestId: event.request_id,
  });
  const agent = agentLabel(task?.agentCli ?? workspace.agentCli);
  await notify(context, {
    userId: workspace.userId,
    kind: "permission_waiting",
    title: `${agent} is waiting for your permission`,
    body: `${event.title || "A tool call"} — ${task?.title ?? workspace.name}`.slice(0, 500),
    url:
      taskChat && task
        ? taskUrl(task)
        : `/workspaces/${workspace.id}/chat/${encodeURIComponent(event.chat_session_id)}`,
    workspaceId: workspace.id,
    taskId: taskChat && task ? task.id : undefined,
    actions: [
      { action: "allow", title: "Allow", url: permissionAnswerPath(tokens.allow) },
      { action: "deny", title: "Deny", url: permissionAnswerPath(tokens.deny) },
    ],
  });
  return { kind: "applied", task: moved ?? task };
}
