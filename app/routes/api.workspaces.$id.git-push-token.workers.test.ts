import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeWorld, givePrerequisites, newTask, tokenPermissions } from "~/tasks/fakes.workers";
import { callAgentRoute, newWorkspace, useFreshUser } from "../../tests/support/workspaces.workers";
import { action as pushTokenAction } from "./api.workspaces.$id.git-push-token";
import { action as gitTokenAction } from "./api.workspaces.$id.git-token";

useFreshUser();
beforeEach(givePrerequisites);
afterEach(() => vi.unstubAllGlobals());

const running = () => newWorkspace({ status: "running", startedAt: new Date(Date.now() - 60_000) });
const call = async (handler: typeof pushTokenAction, workspace: Awaited<ReturnType<typeof running>>) => {
  const response = await callAgentRoute(handler, workspace, {}).then(
    ({ response }) => response,
    (error: Response) => error,
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe("git tokens in a task's workspace", () => {
  it("the credential helper gets Contents: read only, the VM agent's push token Contents: write", async () => {
    const world = fakeWorld();
    const workspace = await running();
    const task = await newTask({ workspaceId: workspace.id, status: "working" });

    const helper = await call(gitTokenAction, workspace);
    expect(helper.status).toBe(200);
    expect(helper.body.permissions).toEqual({ metadata: "read", contents: "read" });

    const push = await call(pushTokenAction, workspace);
    expect(push.status).toBe(200);
    expect(push.body).toMatchObject({
      permissions: { metadata: "read", contents: "write" },
      repository: "sam-dev/hello-world",
      branch: task.branch,
    });
    // Both narrowed to the repository.
    const narrowed = world.requests.filter((request) => request.url.pathname.endsWith("/access_tokens"));
    expect(narrowed.every((request) => JSON.stringify(request.body).includes('"repositories":["hello-world"]'))).toBe(
      true,
    );
    expect(tokenPermissions(world).at(-1)).toEqual({ metadata: "read", contents: "write" });
  });

  it("a workspace without a task gets no push token, and its credential helper is unchanged (write)", async () => {
    const world = fakeWorld();
    const workspace = await running();
    const push = await call(pushTokenAction, workspace);
    expect(push.status).toBe(403);
    expect(push.body.error).toContain("runs no task");
    expect(tokenPermissions(world)).toEqual([]);
    const helper = await call(gitTokenAction, workspace);
    expect(helper.body.permissions).toEqual({ metadata: "read", contents: "write", pull_requests: "write" });
  });

  it("a read-only collaborator gets no push token, in words", async () => {
    const world = fakeWorld();
    world.userPermission = "read";
    const workspace = await running();
    await newTask({ workspaceId: workspace.id, status: "working" });
    const push = await call(pushTokenAction, workspace);
    expect(push.status).toBe(403);
    expect(push.body.error).toContain("read access only");
  });
});
