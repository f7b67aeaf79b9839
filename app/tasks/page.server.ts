import type { AppLoadContext } from "@remix-run/cloudflare";
import { data } from "@remix-run/cloudflare";
import { parseWithZod } from "@conform-to/zod/v4";
import { requireUser } from "../auth/auth.server";
import { chatAgents, isChatAgent } from "../chat/agents";
import { audit } from "../platform/audit.server";
import { notFound, readForm } from "../platform/responses.server";
import { redirectWithToast } from "../platform/toast.server";
import { finishStop } from "../workspaces/teardown.server";
import { terminalAccess } from "../workspaces/terminal.server";
import { getWorkspace } from "../workspaces/workspaces.server";
import { changesFromGitHub, draftPullRequest, openTaskPull } from "./review.server";
import { pullRequestFormSchema } from "./schema";
import {
  cancelTask,
  getTask,
  PUSH_BLOCKED_NOTICE,
  recordTaskEvent,
  TASK_STEPS,
  taskTimeline,
  transitionTask,
} from "./tasks.server";

/** The task page's loader and action (routes/tasks.$id.tsx): the task, its workspace's access, and its review. */

export type TaskTab = "chat" | "changes" | "terminal";
const tabs: TaskTab[] = ["chat", "changes", "terminal"];

async function requireTask(request: Request, context: AppLoadContext, id: string) {
  const user = await requireUser(request, context);
  const task = await getTask(context.db, { id, userId: user.id });
  if (!task) throw notFound("There is no task with this address, or it is not yours.");
  return { user, task };
}

export async function loadTaskPage(request: Request, context: AppLoadContext, id: string) {
  const { user, task } = await requireTask(request, context, id);
  const requested = new URL(request.url).searchParams.get("tab");
  const tab: TaskTab = tabs.includes(requested as TaskTab) ? (requested as TaskTab) : "chat";
  const workspace = task.workspaceId ? await getWorkspace(context.db, { id: task.workspaceId, userId: user.id }) : null;
  const running = workspace?.status === "running";
  const access = running ? await terminalAccess(request, context, workspace.id) : null;
  const timeline = await taskTimeline(context.db, task);
  // Once the workspace has stopped, the changes are what GitHub has on the branch.
  const stored =
    tab === "changes" && !running
      ? await changesFromGitHub(context, task).then((answer) =>
          answer.ok ? { changes: answer.changes, message: null } : { changes: null, message: answer.message },
        )
      : { changes: null, message: null };
  return {
    tab,
    task: {
      id: task.id,
      title: task.title,
      prompt: task.prompt,
      status: task.status,
      repository: task.repository,
      baseBranch: task.baseBranch,
      branch: task.branch,
      agentLabel: isChatAgent(task.agentCli) ? chatAgents[task.agentCli].label : task.agentCli,
      chatSessionId: task.chatSessionId,
      headSha: task.headSha,
      pullNumber: task.pullNumber,
      pullUrl: task.pullUrl,
      costCapCents: task.costCapCents,
      error: task.error,
      createdAt: task.createdAt.getTime(),
    },
    workspace: workspace ? { id: workspace.id, status: workspace.status, name: workspace.name } : null,
    agentUrl: access?.agentUrl ?? null,
    token: access?.token ?? null,
    expiresAt: access?.expiresAt ?? null,
    timeline: timeline.map((event) => ({
      id: event.id,
      step: event.step,
      status: event.status,
      message: event.message,
      at: event.createdAt.getTime(),
    })),
    pushBlocked: timeline.some((event) => event.step === TASK_STEPS.pushBlocked) ? PUSH_BLOCKED_NOTICE : null,
    draft: task.status === "ready" ? await draftPullRequest(context, task) : null,
    stored,
  };
}

export async function taskPageAction(request: Request, context: AppLoadContext, id: string) {
  const { user, task } = await requireTask(request, context, id);
  const formData = await readForm(request);
  const intent = formData.get("intent");
  if (intent === "cancel") {
    const cancelled = await cancelTask(context, { id: task.id, userId: user.id });
    if (!cancelled) return data({ intent, error: `The task is ${task.status}: it cannot be cancelled now.` }, 409);
    if (cancelled.stopping) context.cloudflare.ctx.waitUntil(finishStop(context, cancelled.stopping));
    await audit(context, request, { userId: user.id, action: "task.cancelled", details: { taskId: task.id } });
    return redirectWithToast(request, context, `/tasks/${task.id}`, {
      kind: "success",
      title: "Task cancelled",
      description: `Its workspace is stopping; ${task.branch} is kept.`,
    });
  }
  if (intent === "pull-request") {
    const submission = parseWithZod(formData, { schema: pullRequestFormSchema });
    if (submission.status !== "success") return data({ intent, result: submission.reply() }, 400);
    const opened = await openTaskPull(context, task, submission.value);
    if (opened.kind === "refused")
      return data(
        { intent, result: submission.reply({ formErrors: [opened.message] }), pullUrl: opened.url ?? null },
        409,
      );
    return redirectWithToast(request, context, `/tasks/${task.id}`, {
      kind: "success",
      title: `Opened pull request #${opened.number}`,
      description: `${task.branch} into ${task.baseBranch}.`,
    });
  }
  if (intent === "comments-sent") {
    // The agent is at work on the comments: the task is back to working until its turn ends.
    const moved = await transitionTask(context.db, { id: task.id, userId: user.id }, ["ready"], { status: "working" });
    const count = Number(formData.get("count")) || 0;
    if (moved)
      await recordTaskEvent(
        context.db,
        moved,
        "info",
        `Sent ${count} review comment${count === 1 ? "" : "s"} to the agent`,
      );
    return data({ intent, ok: true });
  }
  return data({ intent: null, error: "Unknown action." }, 400);
}
