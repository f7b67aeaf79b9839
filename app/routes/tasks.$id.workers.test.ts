import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { commitSession, getSession } from "~/auth/session.server";
import * as schema from "~/db/schema";
import { fakeWorld, newTask, REPOSITORY, tokenPermissions } from "~/tasks/fakes.workers";
import { recordTaskEvent, TASK_STEPS } from "~/tasks/tasks.server";
import { json } from "../../tests/support/fake-fetch";
import { testContext } from "../../tests/support/context.workers";
import { db, newWorkspace, reload, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { action, loader } from "./tasks.$id";

useFreshUser();
afterEach(() => vi.unstubAllGlobals());

async function signedIn(url: string, init: RequestInit = {}, as = userId) {
  const { context } = testContext();
  const session = await getSession(new Request("http://localhost/"), context);
  session.set("userId", as);
  const cookie = (await commitSession(session, context)).split(";")[0]!;
  return new Request(`http://localhost${url}`, { ...init, headers: { Cookie: cookie, ...init.headers } });
}

type Answer = Response | { data: Record<string, unknown>; init: { status: number } | null };
async function post(taskId: string, fields: Record<string, string>, as = userId): Promise<Answer> {
  const request = await signedIn(
    `/tasks/${taskId}`,
    {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    },
    as,
  );
  return action({ request, context: testContext().context, params: { id: taskId } }).catch(
    (thrown: unknown) => thrown as Answer,
  ) as Promise<Answer>;
}
const statusOf = (answer: Answer) => (answer instanceof Response ? answer.status : (answer.init?.status ?? 200));
const formErrors = (answer: Answer) =>
  answer instanceof Response ? [] : ((answer.data.result as { error?: Record<string, string[]> })?.error?.[""] ?? []);

const readyTask = async () => {
  const workspace = await newWorkspace({ status: "stopped", startedAt: null });
  const task = await newTask({ workspaceId: workspace.id, status: "ready", headSha: "a".repeat(40) });
  await recordTaskEvent(db, task, "info", "Appended hello to README.md.", TASK_STEPS.summary);
  return { workspace, task };
};

describe("the task page", () => {
  it("another user's task, or none, is 404 for the page and its actions", async () => {
    const { task } = await readyTask();
    const [stranger] = await db
      .insert(schema.users)
      .values({ githubId: Math.floor(Math.random() * 1e9), login: "stranger" })
      .returning();
    const page = await loader({
      request: await signedIn(`/tasks/${task.id}`, {}, stranger!.id),
      context: testContext().context,
      params: { id: task.id },
    }).catch((thrown: Response) => thrown);
    expect((page as Response).status).toBe(404);
    expect(statusOf(await post(task.id, { intent: "cancel" }, stranger!.id))).toBe(404);
    expect(statusOf(await post(crypto.randomUUID(), { intent: "cancel" }))).toBe(404);
    expect((await db.query.tasks.findFirst({ where: eq(schema.tasks.id, task.id) }))?.status).toBe("ready");
  });

  it("drafts the pull request from the task, the agent's summary and the agent's name", async () => {
    const { task } = await readyTask();
    const page = await loader({
      request: await signedIn(`/tasks/${task.id}`),
      context: testContext().context,
      params: { id: task.id },
    });
    expect(page.draft).toEqual({
      title: "append hello to README",
      body: "append hello to README\n\nAppended hello to README.md.\n\nMade by SAM with Claude Code",
    });
  });

  it("opens the pull request with a narrowed token: pr_open with its number and link", async () => {
    const world = fakeWorld();
    const bodies: unknown[] = [];
    world.onPull = (request) => {
      bodies.push(request.body);
      return json(201, pull(7));
    };
    const { task } = await readyTask();
    const answer = await post(task.id, { intent: "pull-request", title: "Say hello", body: "Edited body" });
    expect(statusOf(answer)).toBe(302);
    expect(bodies).toEqual([{ title: "Say hello", head: task.branch, base: "main", body: "Edited body" }]);
    expect(tokenPermissions(world)).toEqual([{ contents: "read", pull_requests: "write", metadata: "read" }]);
    const row = await db.query.tasks.findFirst({ where: eq(schema.tasks.id, task.id) });
    expect(row).toMatchObject({ status: "pr_open", pullNumber: 7, pullUrl: `https://github.com/${REPOSITORY}/pull/7` });
  });

  it("a PR that already exists is said so with its link (and linked to the task); an empty title is a field error", async () => {
    const world = fakeWorld();
    world.onPull = (request) =>
      request.method === "POST"
        ? json(422, {
            message: "Validation Failed",
            errors: [
              { resource: "PullRequest", code: "custom", message: "A pull request already exists for sam-dev:x." },
            ],
          })
        : json(200, [pull(3)]);
    const { task } = await readyTask();
    const empty = await post(task.id, { intent: "pull-request", title: " ", body: "" });
    expect(statusOf(empty)).toBe(400);

    const answer = await post(task.id, { intent: "pull-request", title: "Say hello", body: "" });
    expect(statusOf(answer)).toBe(409);
    expect(formErrors(answer)[0]).toContain("A pull request already exists");
    expect(!(answer instanceof Response) && answer.data.pullUrl).toBe(`https://github.com/${REPOSITORY}/pull/3`);
    expect((await db.query.tasks.findFirst({ where: eq(schema.tasks.id, task.id) }))?.pullNumber).toBe(3);
  });

  it("cancel stops the workspace and keeps the branch; comments sent move a ready task back to working", async () => {
    const workspace = await newWorkspace({ status: "running", startedAt: new Date() });
    const task = await newTask({ workspaceId: workspace.id, status: "ready" });
    expect(statusOf(await post(task.id, { intent: "comments-sent", count: "2" }))).toBe(200);
    expect((await db.query.tasks.findFirst({ where: eq(schema.tasks.id, task.id) }))?.status).toBe("working");
    expect(statusOf(await post(task.id, { intent: "cancel" }))).toBe(302);
    expect((await db.query.tasks.findFirst({ where: eq(schema.tasks.id, task.id) }))?.status).toBe("cancelled");
    expect((await reload(workspace.id))?.status).not.toBe("running");
  });
});

function pull(number: number) {
  const side = (ref: string) => ({ label: `sam-dev:${ref}`, ref, sha: "a".repeat(40) });
  return {
    id: number,
    number,
    url: `http://api/repos/${REPOSITORY}/pulls/${number}`,
    html_url: `https://github.com/${REPOSITORY}/pull/${number}`,
    state: "open",
    title: "Say hello",
    body: null,
    user: { login: "sam-dev[bot]" },
    head: side("sam/x"),
    base: side("main"),
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    closed_at: null,
    merged_at: null,
    merged: false,
    commits: 1,
    additions: 1,
    deletions: 0,
    changed_files: 1,
  };
}
