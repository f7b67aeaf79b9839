import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as schema from "~/db/schema";
import { db, deps, newWorkspace, reload, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { fakeWorld, givePrerequisites, newTask, REPOSITORY } from "./fakes.workers";
import { taskBranchName, taskFormSchema } from "./schema";
import { cancelTask, createTask, getTask, taskForBootstrap, transitionTask } from "./tasks.server";

useFreshUser();
beforeEach(givePrerequisites);
afterEach(() => vi.unstubAllGlobals());

const form = {
  repository: REPOSITORY,
  agentCli: "claude-code" as const,
  size: "small",
  prompt: "Append hello to README",
};

describe("createTask", () => {
  it("inserts the task on a sam/ branch and a workspace on the base branch, linked and provisioning", async () => {
    fakeWorld();
    const result = await createTask(deps as never, userId, { ...form, baseBranch: "dev", costCapEuros: 2.5 });
    if (result.kind !== "created") throw new Error(JSON.stringify(result));
    const { task, workspace } = result;
    expect(task).toMatchObject({
      status: "provisioning",
      workspaceId: workspace.id,
      repository: REPOSITORY,
      installationId: 1,
      baseBranch: "dev",
      agentCli: "claude-code",
      costCapCents: 250,
      title: "Append hello to README",
    });
    expect(task.branch).toMatch(/^sam\/append-hello-to-readme-[a-z2-7]{6}$/);
    expect(workspace).toMatchObject({ status: "creating", branch: "dev", agentCli: "claude-code", size: "small" });
  });

  it("takes the repository's default branch when none is given", async () => {
    fakeWorld();
    const result = await createTask(deps as never, userId, form);
    expect(result.kind === "created" && result.task.baseBranch).toBe("main");
  });

  it("a repository or branch the installations cannot see is a field error, and no task is left behind", async () => {
    fakeWorld();
    const unknown = await createTask(deps as never, userId, { ...form, repository: "sam-dev/other" });
    expect(unknown).toMatchObject({
      kind: "invalid",
      fieldErrors: { repository: [expect.stringContaining("GitHub App")] },
    });
    const branch = await createTask(deps as never, userId, { ...form, baseBranch: "nope" });
    expect(branch).toMatchObject({ kind: "invalid", fieldErrors: { baseBranch: [expect.stringContaining('"nope"')] } });
    expect(await db.query.tasks.findMany({ where: eq(schema.tasks.userId, userId) })).toEqual([]);
  });
});

describe("the task form", () => {
  const schemaFor = taskFormSchema({ sizes: ["small"] });
  it("checks the prompt's length, the agent, the size and the cost cap's range", () => {
    expect(schemaFor.safeParse({ ...form, prompt: "x".repeat(20_001) }).success).toBe(false);
    expect(schemaFor.safeParse({ ...form, prompt: "  " }).success).toBe(false);
    expect(schemaFor.safeParse({ ...form, agentCli: "none" }).success).toBe(false);
    expect(schemaFor.safeParse({ ...form, size: "large" }).success).toBe(false);
    expect(schemaFor.safeParse({ ...form, costCapEuros: 0.05 }).success).toBe(false);
    expect(schemaFor.safeParse({ ...form, costCapEuros: 1000.01 }).success).toBe(false);
    expect(schemaFor.safeParse({ ...form, costCapEuros: 0.1 }).success).toBe(true);
  });

  it("names branches git accepts whatever the prompt says", () => {
    expect(taskBranchName("Fix the login bug in `auth.ts`, please!", "abc234")).toBe(
      "sam/fix-the-login-bug-in-auth-abc234",
    );
    expect(taskBranchName("Ünïcode .. ~^:?*[\\ café", "abc234")).toBe("sam/unicode-cafe-abc234");
    expect(taskBranchName("日本語", "abc234")).toBe("sam/task-abc234");
  });
});

describe("task states", () => {
  it("two racing moves out of one state: only one wins", async () => {
    const workspace = await newWorkspace({ status: "running" });
    const task = await newTask({ workspaceId: workspace.id, status: "working" });
    const outcomes = await Promise.all([
      transitionTask(db, { id: task.id }, ["working"], { status: "ready" }),
      transitionTask(db, { id: task.id }, ["working"], { status: "failed", error: "boom" }),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  it("cancel stops the workspace and keeps the branch; a second cancel, or someone else's, does nothing", async () => {
    const workspace = await newWorkspace({ status: "running", startedAt: new Date() });
    const task = await newTask({ workspaceId: workspace.id, status: "working" });
    expect(await cancelTask(deps, { id: task.id, userId: "someone-else" })).toBeNull();
    const cancelled = await cancelTask(deps, { id: task.id, userId });
    expect(cancelled?.task).toMatchObject({ status: "cancelled", branch: task.branch });
    expect(cancelled?.stopping?.status).toBe("stopping");
    expect((await reload(workspace.id))?.status).toBe("stopping");
    expect(await cancelTask(deps, { id: task.id, userId })).toBeNull();
  });

  it("another user's task is not found", async () => {
    const task = await newTask({ workspaceId: null });
    expect(await getTask(db, { id: task.id, userId })).not.toBeNull();
    expect(await getTask(db, { id: task.id, userId: crypto.randomUUID() })).toBeNull();
    expect(await getTask(db, { id: "not-a-task", userId })).toBeNull();
  });
});

describe("taskForBootstrap", () => {
  it("gives the VM agent the branch, base, prompt, agent and the owner's noreply identity", async () => {
    const workspace = await newWorkspace();
    const task = await newTask({ workspaceId: workspace.id });
    await db.update(schema.users).set({ name: "Ada Lovelace", githubId: 4242 }).where(eq(schema.users.id, userId));
    const owner = await db.query.users.findFirst({ where: eq(schema.users.id, userId) });
    expect(await taskForBootstrap(deps, workspace.id)).toEqual({
      id: task.id,
      branch: task.branch,
      base_branch: "main",
      prompt: "append hello to README",
      agent_cli: "claude-code",
      author_name: "Ada Lovelace",
      author_email: `4242+${owner!.login}@users.noreply.github.com`,
    });
  });

  it("is null for a workspace without a task, and for a cancelled task", async () => {
    expect(await taskForBootstrap(deps, (await newWorkspace()).id)).toBeNull();
    const workspace = await newWorkspace();
    await newTask({ workspaceId: workspace.id, status: "cancelled" });
    expect(await taskForBootstrap(deps, workspace.id)).toBeNull();
  });
});
