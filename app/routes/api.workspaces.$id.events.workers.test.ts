import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "~/db/schema";
import { issueCallbackToken } from "~/security/agent-auth.server";
import { newTask } from "~/tasks/fakes.workers";
import { taskTimeline } from "~/tasks/tasks.server";
import type { Workspace } from "~/workspaces/workspaces.server";
import { callAgentRoute, config, db, newWorkspace, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { action } from "./api.workspaces.$id.events";

useFreshUser();

const running = () => newWorkspace({ status: "running", startedAt: new Date(Date.now() - 60_000) });
const send = async (workspace: Workspace, body: unknown, token?: string) => {
  const response = await callAgentRoute(action, workspace, body, token).then(
    ({ response }) => response,
    (error: Response) => error,
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const taskRow = async (id: string) => (await db.query.tasks.findFirst({ where: eq(schema.tasks.id, id) }))!;
const notificationsOf = (kind: (typeof schema.notifications.$inferSelect)["kind"]) =>
  db.query.notifications.findMany({
    where: and(eq(schema.notifications.userId, userId), eq(schema.notifications.kind, kind)),
  });
const sha = "0123456789abcdef0123456789abcdef01234567";

describe("POST /api/workspaces/:id/events", () => {
  it("follows a task from its start through a turn to ready for review, with one notification", async () => {
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id });

    expect(await send(workspace, { event: "task_started", chat_session_id: "chat-1" })).toEqual({
      status: 200,
      body: { ok: true, applied: true, task_status: "working" },
    });
    expect(await taskRow(task.id)).toMatchObject({ status: "working", chatSessionId: "chat-1" });
    // A repeat changes nothing and says so.
    expect((await send(workspace, { event: "task_started", chat_session_id: "chat-2" })).body).toMatchObject({
      applied: false,
      task_status: "working",
    });

    const ended = {
      event: "turn_ended",
      chat_session_id: "chat-1",
      head_sha: sha,
      pushed: true,
      summary: "Added hello.",
    };
    expect((await send(workspace, ended)).body).toMatchObject({ applied: true, task_status: "ready" });
    expect(await taskRow(task.id)).toMatchObject({ status: "ready", headSha: sha, chatSessionId: "chat-1" });
    const ready = await notificationsOf("task_ready");
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ title: "Ready for review", url: `/tasks/${task.id}`, taskId: task.id });
    expect((await taskTimeline(db, task)).map((event) => event.message)).toContain(
      `Turn ended; pushed ${sha.slice(0, 7)} to ${task.branch}`,
    );
    // The next turn changed nothing: the branch stays where it was, and nobody is told again.
    expect((await send(workspace, ended)).body).toMatchObject({ applied: true, task_status: "ready" });
    expect((await taskTimeline(db, task)).at(-1)?.message).toBe(
      `Turn ended with no new commits; ${task.branch} stays at ${sha.slice(0, 7)}`,
    );
    expect(await notificationsOf("task_ready")).toHaveLength(1);
  });

  it("a turn that changed nothing still ends ready, and the task says there were no changes", async () => {
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id, status: "working", chatSessionId: "c" });
    await send(workspace, { event: "turn_ended", chat_session_id: "c", head_sha: null, pushed: false, summary: "" });
    expect(await taskRow(task.id)).toMatchObject({ status: "ready", headSha: null });
    expect((await notificationsOf("task_ready"))[0]?.title).toContain("no changes");
    expect((await taskTimeline(db, task)).at(-1)?.message).toContain("no changes");
  });

  it("another chat's turn on the task's workspace leaves the task alone", async () => {
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id, status: "working", chatSessionId: "task-chat" });
    const body = { event: "turn_ended", chat_session_id: "side-chat", head_sha: sha, pushed: true, summary: "" };
    expect((await send(workspace, body)).body).toMatchObject({ applied: false });
    expect((await taskRow(task.id)).status).toBe("working");
  });

  it("racing turn ends notify once", async () => {
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id, status: "working", chatSessionId: "c" });
    const body = { event: "turn_ended", chat_session_id: "c", head_sha: sha, pushed: true, summary: "" };
    await Promise.all([send(workspace, body), send(workspace, body), send(workspace, body)]);
    expect((await taskRow(task.id)).status).toBe("ready");
    expect(await notificationsOf("task_ready")).toHaveLength(1);
  });

  it("a refused push is written on the task's timeline with the notice", async () => {
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id, status: "working" });
    expect((await send(workspace, { event: "push_blocked", command: "git push origin main" })).status).toBe(200);
    const [line] = await taskTimeline(db, task);
    expect(line).toMatchObject({ step: "push-blocked", status: "error" });
    expect(line?.message).toContain(
      "The coding agent tried to push; SAM refused it — only SAM pushes the task branch.",
    );
    expect(line?.message).toContain("git push origin main");
  });

  it("a waiting permission: the task needs input, a notification with one-time Allow and Deny, then back to work", async () => {
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id, status: "working", chatSessionId: "c" });
    const waiting = { event: "permission_waiting", chat_session_id: "c", request_id: "r1", title: "Edit README.md" };
    expect((await send(workspace, waiting)).body).toMatchObject({ applied: true, task_status: "needs_input" });

    const [notification] = await notificationsOf("permission_waiting");
    expect(notification).toMatchObject({ url: `/tasks/${task.id}`, taskId: task.id, workspaceId: workspace.id });
    expect(notification?.body).toContain("Edit README.md");
    const tokens = await db.query.permissionAnswerTokens.findMany({
      where: eq(schema.permissionAnswerTokens.workspaceId, workspace.id),
    });
    expect(tokens.map((row) => row.decision).sort()).toEqual(["allow", "deny"]);
    for (const row of tokens) {
      expect(row).toMatchObject({ userId, chatSessionId: "c", requestId: "r1", consumedAt: null });
      expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.expiresAt.getTime() - Date.now()).toBeGreaterThan(59 * 60_000);
      expect(row.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    }

    expect(
      (await send(workspace, { event: "permission_answered", chat_session_id: "c", request_id: "r1" })).body,
    ).toMatchObject({
      applied: true,
      task_status: "working",
    });
  });

  it("a waiting permission in a workspace without a task still notifies, linking to the chat", async () => {
    const workspace = await running();
    const waiting = { event: "permission_waiting", chat_session_id: "chat-9", request_id: "r", title: "Run npm test" };
    expect((await send(workspace, waiting)).body).toMatchObject({ ok: true, task_status: null });
    const [notification] = await notificationsOf("permission_waiting");
    expect(notification).toMatchObject({ url: `/workspaces/${workspace.id}/chat/chat-9`, taskId: null });
  });

  it("failed: the task fails with the agent's words, and its owner is told", async () => {
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id, status: "working" });
    await send(workspace, { event: "failed", error: "git clone failed: repository not found" });
    expect(await taskRow(task.id)).toMatchObject({ status: "failed", error: "git clone failed: repository not found" });
    const [notification] = await notificationsOf("task_failed");
    expect(notification?.body).toContain("repository not found");
    expect((await send(workspace, { event: "failed", error: "again" })).body).toMatchObject({ applied: false });
  });

  it("refuses a malformed event (400), a task event without a task (404) and another workspace's token (401)", async () => {
    const workspace = await running();
    expect((await send(workspace, { event: "turn_ended", chat_session_id: "c" })).status).toBe(400);
    expect((await send(workspace, { event: "teleport" })).status).toBe(400);
    expect((await send(workspace, { event: "task_started", chat_session_id: "c" })).status).toBe(404);
    const other = await running();
    await newTask({ workspaceId: workspace.id });
    const foreign = (await issueCallbackToken(config, other))!.callback_token;
    expect((await send(workspace, { event: "task_started", chat_session_id: "c" }, foreign)).status).toBe(401);
  });
});
