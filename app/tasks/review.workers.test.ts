import { afterEach, describe, expect, it, vi } from "vitest";
import { json } from "../../tests/support/fake-fetch";
import { deps, newWorkspace, useFreshUser } from "../../tests/support/workspaces.workers";
import { fakeWorld, newTask, REPOSITORY, tokenPermissions } from "./fakes.workers";
import { changesFromGitHub, openTaskPull } from "./review.server";

useFreshUser();
afterEach(() => vi.unstubAllGlobals());

const file = (filename: string, status: string, extra: Record<string, unknown> = {}) => ({
  sha: "b".repeat(40),
  filename,
  status,
  additions: 1,
  deletions: 0,
  changes: 1,
  ...extra,
});

describe("a stopped task's changes from GitHub", () => {
  it("are the compare of base...branch with a Contents: read token, in the agent's shape", async () => {
    const world = fakeWorld();
    const paths: string[] = [];
    world.onCompare = (request) => {
      paths.push(request.url.pathname);
      return json(200, {
        html_url: "x",
        status: "ahead",
        ahead_by: 1,
        behind_by: 0,
        total_commits: 1,
        commits: [{ sha: "c".repeat(40), html_url: "x", commit: { message: "m", author: null, committer: null } }],
        files: [
          file("README.md", "modified", { patch: "@@ -1 +1,2 @@\n # hello\n+hello" }),
          file("old.txt", "removed"),
          file("img.png", "added"),
        ],
      });
    };
    const task = await newTask({ workspaceId: (await newWorkspace({ status: "stopped" })).id, status: "ready" });
    const answer = await changesFromGitHub(deps, task);
    expect(paths).toEqual([`/github-api/repos/${REPOSITORY}/compare/main...${task.branch}`]);
    expect(tokenPermissions(world)).toEqual([{ contents: "read", metadata: "read" }]);
    expect(answer).toEqual({
      ok: true,
      changes: {
        base: "main",
        branch: task.branch,
        head_sha: "c".repeat(40),
        files: [
          {
            path: "README.md",
            status: "modified",
            additions: 1,
            deletions: 0,
            patch: "@@ -1 +1,2 @@\n # hello\n+hello",
          },
          { path: "old.txt", status: "deleted", additions: 1, deletions: 0, patch: "" },
          { path: "img.png", status: "added", additions: 1, deletions: 0, patch: "" },
        ],
      },
    });
  });

  it("a branch GitHub does not have yet is said so", async () => {
    const world = fakeWorld();
    world.onCompare = () => json(404, { message: "Not Found" });
    const task = await newTask({ workspaceId: null, status: "working" });
    expect(await changesFromGitHub(deps, task)).toEqual({
      ok: false,
      message: `${task.branch} is not on GitHub yet: the agent has pushed nothing so far.`,
    });
  });
});

describe("opening the pull request", () => {
  it("refuses before review, and says so when the branch has nothing the base lacks", async () => {
    const world = fakeWorld();
    world.onPull = () =>
      json(422, {
        message: "Validation Failed",
        errors: [{ code: "custom", message: "No commits between main and sam/x" }],
      });
    const working = await newTask({ workspaceId: null, status: "working" });
    expect(await openTaskPull(deps, working, { title: "t" })).toMatchObject({ kind: "refused" });
    expect(tokenPermissions(world)).toEqual([]);
    const ready = await newTask({ workspaceId: null, status: "ready" });
    expect(await openTaskPull(deps, ready, { title: "t" })).toEqual({
      kind: "refused",
      message: `${ready.branch} has no commits that main lacks, so there is nothing to open a pull request for.`,
    });
  });

  it("an App without Pull requests: write is named as the thing to fix", async () => {
    const world = fakeWorld();
    world.granted = { contents: "write", metadata: "read" };
    const realFetch = globalThis.fetch;
    vi.stubGlobal("fetch", (async (input: RequestInfo | URL, init?: RequestInit) =>
      String(input instanceof Request ? input.url : input).endsWith("/access_tokens")
        ? json(422, { message: "The permissions requested are not granted to this installation." })
        : realFetch(input, init)) as typeof fetch);
    const ready = await newTask({ workspaceId: null, status: "ready" });
    const refused = await openTaskPull(deps, ready, { title: "t" });
    expect(refused.kind === "refused" && refused.message).toContain("Pull requests: Read and write");
  });
});
