import { describe, expect, it } from "vitest";
import { fakeFetch, json, type RecordedRequest } from "../../tests/support/fake-fetch";
import { deps, newWorkspace, useFreshUser } from "../../tests/support/workspaces.workers";
import { newTask } from "../tasks/fakes.workers";
import { issueGitToken } from "./git-access.server";
import { listEvents } from "./workspaces.server";

useFreshUser();

/** GitHub as the git-token flow sees it: the installation's granted permissions and the owner's own. */
function gitHub(granted: Record<string, string>, userPermission: string) {
  return fakeFetch((request: RecordedRequest) => {
    const path = request.url.pathname;
    if (request.method === "GET" && /\/app\/installations\/\d+$/.test(path))
      return json(200, {
        id: 1,
        account: { id: 1, login: "sam-dev", type: "User" },
        repository_selection: "all",
        target_type: "User",
        permissions: granted,
      });
    if (path.endsWith("/access_tokens"))
      return json(201, {
        token: `ghs_${Math.random().toString(36).slice(2)}`,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: (request.body as { permissions: Record<string, string> }).permissions,
      });
    if (path.includes("/collaborators/"))
      return userPermission === "unknown"
        ? json(404, { message: "Not Found" })
        : json(200, { permission: userPermission, role_name: userPermission });
    return json(404, { message: "Not Found" });
  });
}

const tokenRequests = (requests: RecordedRequest[]) =>
  requests
    .filter((request) => request.url.pathname.endsWith("/access_tokens"))
    .map((request) => (request.body as { permissions: Record<string, string> }).permissions);

describe("git tokens", () => {
  it("a read-only collaborator gets a read-only token even when the App may write, and the timeline says why", async () => {
    const workspace = await newWorkspace({ status: "running" });
    const fake = gitHub({ contents: "write", metadata: "read", pull_requests: "write" }, "read");
    const issued = await issueGitToken(deps, workspace, { fetch: fake.fetch });
    expect(issued).toMatchObject({ ok: true, permissions: { contents: "read", pull_requests: "read" } });
    expect(tokenRequests(fake.requests).at(-1)).toEqual({
      metadata: "read",
      contents: "read",
      pull_requests: "read",
    });
    const collaborator = fake.requests.find((request) => request.url.pathname.includes("/collaborators/"))!;
    expect(collaborator.url.pathname).toMatch(/\/repos\/sam-dev\/hello-world\/collaborators\/user-[^/]+\/permission$/);
    const events = await listEvents(deps.db, workspace.id);
    expect(events.map((event) => event.message).join("\n")).toContain("read access only");
  });

  it("a writer gets write where the App has it; a read-only App is named on the timeline, once", async () => {
    const writer = await newWorkspace({ status: "running" });
    const full = gitHub({ contents: "write", metadata: "read", pull_requests: "write" }, "admin");
    expect(await issueGitToken(deps, writer, { fetch: full.fetch })).toMatchObject({
      ok: true,
      permissions: { contents: "write", pull_requests: "write", metadata: "read" },
    });
    expect(await listEvents(deps.db, writer.id)).toEqual([]);

    const readOnlyApp = await newWorkspace({ status: "running" });
    const limited = gitHub({ contents: "read", metadata: "read" }, "write");
    for (let i = 0; i < 2; i++) {
      const issued = await issueGitToken(deps, readOnlyApp, { fetch: limited.fetch });
      expect(issued).toMatchObject({ ok: true, permissions: { contents: "read", metadata: "read" } });
      if (issued.ok) expect(issued.permissions).not.toHaveProperty("pull_requests");
    }
    const notes = (await listEvents(deps.db, readOnlyApp.id)).map((event) => event.message);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("Contents: Read-only");
    expect(notes[0]).toContain("Contents: Read and write");
  });

  it("a user who lost access to the repository gets no token at the next refresh", async () => {
    const workspace = await newWorkspace({ status: "running" });
    for (const permission of ["none", "unknown"]) {
      const fake = gitHub({ contents: "write", metadata: "read" }, permission);
      const issued = await issueGitToken(deps, workspace, { fetch: fake.fetch });
      expect(issued).toMatchObject({ ok: false, status: 403, error: expect.stringContaining("no longer has access") });
      // Only the metadata-only token used for the lookup was asked for.
      expect(tokenRequests(fake.requests)).toEqual([{ metadata: "read" }]);
    }
  });
});

describe("git tokens in a task's workspace", () => {
  it("the credential helper gets Contents: read only, even for a writer; a task push gets Contents: write", async () => {
    const workspace = await newWorkspace({ status: "running" });
    await newTask({ workspaceId: workspace.id, status: "working" });
    const fake = gitHub({ contents: "write", metadata: "read", pull_requests: "write" }, "admin");
    expect(await issueGitToken(deps, workspace, { fetch: fake.fetch })).toMatchObject({
      ok: true,
      permissions: { metadata: "read", contents: "read" },
    });
    expect(await issueGitToken(deps, workspace, { fetch: fake.fetch, purpose: "task-push" })).toMatchObject({
      ok: true,
      permissions: { metadata: "read", contents: "write" },
    });
    expect(tokenRequests(fake.requests).filter((permissions) => permissions.contents)).toEqual([
      { metadata: "read", contents: "read" },
      { metadata: "read", contents: "write" },
    ]);
    // Read-only by design here, so the timeline does not warn that pushes will be refused.
    expect(await listEvents(deps.db, workspace.id)).toEqual([]);
  });

  it("no push token when the App may not write contents, in words", async () => {
    const workspace = await newWorkspace({ status: "running" });
    await newTask({ workspaceId: workspace.id, status: "working" });
    const fake = gitHub({ contents: "read", metadata: "read" }, "write");
    expect(await issueGitToken(deps, workspace, { fetch: fake.fetch, purpose: "task-push" })).toMatchObject({
      ok: false,
      status: 403,
      error: expect.stringContaining("cannot push the task's branch"),
    });
  });
});
