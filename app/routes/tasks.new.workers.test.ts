import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { commitSession, getSession } from "~/auth/session.server";
import * as schema from "~/db/schema";
import { fakeWorld, givePrerequisites, newTask, REPOSITORY } from "~/tasks/fakes.workers";
import { testContext } from "../../tests/support/context.workers";
import { db, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { loader as listLoader } from "./tasks._index";
import { action } from "./tasks.new";

useFreshUser();
beforeEach(givePrerequisites);
afterEach(() => vi.unstubAllGlobals());

async function signedIn(url: string, init: RequestInit = {}) {
  const { context } = testContext();
  const session = await getSession(new Request("http://localhost/"), context);
  session.set("userId", userId);
  const cookie = (await commitSession(session, context)).split(";")[0]!;
  return new Request(`http://localhost${url}`, { ...init, headers: { Cookie: cookie, ...init.headers } });
}

type Answer = Response | { data: { result: { error?: Record<string, string[]> } }; init: { status: number } | null };
async function submit(fields: Record<string, string>): Promise<{ answer: Answer; settled: () => Promise<unknown> }> {
  const request = await signedIn("/tasks/new", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  const { context, settled } = testContext();
  const answer = await action({ request, context, params: {} }).catch((thrown: unknown) => thrown as Answer);
  return { answer: answer as Answer, settled };
}
const statusOf = (answer: Answer) => (answer instanceof Response ? answer.status : (answer.init?.status ?? 200));
const errorsOf = (answer: Answer) => (answer instanceof Response ? {} : (answer.data.result.error ?? {}));

const valid = { repository: REPOSITORY, baseBranch: "main", agentCli: "codex", size: "small", prompt: "Fix the typo" };

describe("/tasks/new", () => {
  it("a bad submission is a 400 with each error beside its field, and nothing is created", async () => {
    const { answer } = await submit({ ...valid, prompt: "", agentCli: "none", costCapEuros: "5000" });
    expect(statusOf(answer)).toBe(400);
    expect(Object.keys(errorsOf(answer)).sort()).toEqual(["agentCli", "costCapEuros", "prompt"]);
    expect(await db.query.tasks.findMany({ where: eq(schema.tasks.userId, userId) })).toEqual([]);
  });

  it("a good one creates the task and its workspace and goes to the task's page", async () => {
    fakeWorld();
    const { answer, settled } = await submit({ ...valid, costCapEuros: "1.25" });
    expect(statusOf(answer)).toBe(302);
    // Provisioning runs after the response; it meets the fake Hetzner (which creates no servers) and gives up.
    await settled();
    const [task] = await db.query.tasks.findMany({ where: eq(schema.tasks.userId, userId) });
    expect(task).toMatchObject({ status: "provisioning", agentCli: "codex", costCapCents: 125 });
    expect((answer as Response).headers.get("Location")).toBe(`/tasks/${task!.id}`);
  });
});

describe("/tasks", () => {
  it("lists only the user's tasks, filtered by status", async () => {
    await newTask({ workspaceId: null, status: "ready" });
    await newTask({ workspaceId: null, status: "failed" });
    const list = async (query: string) =>
      (
        await listLoader({
          request: await signedIn(`/tasks${query}`),
          context: testContext().context,
          params: {},
        })
      ).tasks.map((task) => task.status);
    expect((await list("")).sort()).toEqual(["failed", "ready"]);
    expect(await list("?status=ready")).toEqual(["ready"]);
    expect((await list("?status=ready&status=failed&status=bogus")).sort()).toEqual(["failed", "ready"]);
  });
});
