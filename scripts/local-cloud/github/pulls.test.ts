// A task's GitHub foundations against the local GitHub, through the app's own client: narrowed installation
// tokens, a real `git push` over HTTP (accepted with Contents: write, refused read-only or elsewhere), the
// compare API on the pushed branch, pull requests (create, validation, list, get, update) and their pages.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TASK_AGENT_PERMISSIONS,
  TASK_PUBLISH_PERMISSIONS,
  mintRepositoryToken,
} from "../../../app/github/tokens.server";
import { github } from "../../../app/providers/github.server";
import { isProviderError, type ProviderError } from "../../../app/providers/http.server";
import type { LocalCloud } from "../server";
import { appPrivateKey, call, contractErrors, startTestCloud } from "../test-support";

let cloud: LocalCloud;
let work: string;
let installationId: number;
let config: { GITHUB_API_URL: string; GITHUB_APP_ID: string; GITHUB_APP_PRIVATE_KEY: string };
const REPO = "sam-dev/hello-world";
const BRANCH = "sam/append-hello-1a2b3c";

const env = {
  PATH: process.env.PATH,
  HOME: tmpdir(),
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "SAM Developer",
  GIT_AUTHOR_EMAIL: "sam-dev@example.test",
  GIT_COMMITTER_NAME: "SAM Developer",
  GIT_COMMITTER_EMAIL: "sam-dev@example.test",
};
// Asynchronous on purpose: the cloud answers from this same process.
const git = async (args: string[], cwd = work) =>
  (await promisify(execFile)("git", args, { cwd, env, timeout: 20_000 })).stdout;
/** Runs git expecting failure, and returns what it printed. */
const gitFails = async (args: string[], cwd = work) => {
  const failure = await git(args, cwd).then(
    () => null,
    (error: { stderr: string }) => error.stderr,
  );
  expect(failure, `git ${args.join(" ")} should have failed`).not.toBeNull();
  return failure!;
};
const remote = (token: string, repository = REPO) =>
  `http://x-access-token:${token}@127.0.0.1:${cloud.port}/github/${repository}.git`;
const api = (path: string, token?: string, init: { method?: string; body?: unknown } = {}) =>
  call(`${cloud.url}/github-api`, init.method ?? "GET", path, { token, body: init.body });
const client = () => github({ apiUrl: config.GITHUB_API_URL, retry: { maxAttempts: 1 } });
const mint = (permissions: Parameters<typeof mintRepositoryToken>[1]["permissions"], repository = REPO) =>
  mintRepositoryToken(config, { installationId, repository, permissions }).then((t) => t.token);
const branchSha = async (name: string, token: string, repository = REPO) =>
  (await api(`/repos/${repository}/branches/${encodeURIComponent(name)}`, token)).json?.commit?.sha as string;

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isProviderError(error)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  config = {
    GITHUB_API_URL: `${cloud.url}/github-api`,
    GITHUB_APP_ID: "1000001",
    GITHUB_APP_PRIVATE_KEY: appPrivateKey(),
  };
  const installed = await call(cloud.url, "POST", "/_local/github/installations", { body: { login: "sam-dev" } });
  installationId = installed.json.id;
  work = mkdtempSync(join(tmpdir(), "local-cloud-pulls-"));
  await git(["clone", "--quiet", `${cloud.url}/github/${REPO}.git`, "repo"]);
});
afterAll(async () => {
  await cloud?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("local GitHub: task branches, compare and pull requests", () => {
  it("mints tokens narrowed to one repository with the permissions asked for (plus the mandatory metadata)", async () => {
    const agent = await mintRepositoryToken(config, {
      installationId,
      repository: REPO,
      permissions: TASK_AGENT_PERMISSIONS,
    });
    expect(agent.permissions).toEqual({ contents: "read", metadata: "read" });
    const onlyContents = await mintRepositoryToken(config, {
      installationId,
      repository: REPO,
      permissions: { contents: "read" },
    });
    expect(onlyContents.permissions).toEqual({ contents: "read", metadata: "read" });
    const visible = await api("/installation/repositories", agent.token);
    expect(visible.json.repositories.map((r: { full_name: string }) => r.full_name)).toEqual([REPO]);
    expect((await api("/repos/sam-dev/private-notes", agent.token)).status).toBe(404);
    const notGranted = await failure(
      mintRepositoryToken(config, { installationId, repository: "sam-other/other-repo", permissions: {} }),
    );
    expect(notGranted.status).toBe(422);
    expect(notGranted.message).toMatch(/not accessible to the parent installation/);
  });

  it("accepts a push of a task branch with Contents: write and shows it to the REST API; main is unchanged", async () => {
    const main = await branchSha("main", await mint(TASK_AGENT_PERMISSIONS));
    const repo = join(work, "repo");
    await git(["checkout", "--quiet", "-b", BRANCH], repo);
    appendFileSync(join(repo, "README.md"), "hello\n");
    await git(["commit", "--quiet", "-am", "Append hello to README"], repo);
    const publish = await mint(TASK_PUBLISH_PERMISSIONS);
    await git(["push", "--quiet", remote(publish), `HEAD:refs/heads/${BRANCH}`], repo);
    const head = (await git(["rev-parse", "HEAD"], repo)).trim();

    const branch = await api(`/repos/${REPO}/branches/${BRANCH}`, publish);
    expect(branch.status).toBe(200);
    expect(contractErrors("github", "operations.get_branch.200", branch.json)).toEqual([]);
    expect(branch.json.commit.sha).toBe(head);
    expect(branch.json.commit.commit.message).toBe("Append hello to README");
    expect((await client().getBranch(publish, REPO, BRANCH))?.commit.sha).toBe(head);
    expect(await client().getBranch(publish, REPO, "sam/never-pushed")).toBeNull();
    const ref = await api(`/repos/${REPO}/git/ref/heads/${BRANCH}`, publish);
    expect(ref.json).toMatchObject({ ref: `refs/heads/${BRANCH}`, object: { sha: head, type: "commit" } });
    expect((await api(`/repos/${REPO}/git/ref/heads/nope`, publish)).status).toBe(404);
    const missing = await api(`/repos/${REPO}/branches/nope`, publish);
    expect([missing.status, missing.json.message]).toEqual([404, "Branch not found"]);
    expect(await branchSha("main", publish)).toBe(main);
  });

  it("refuses a push with a read-only token (GitHub's 403 text) and one to another user's repository; nothing moves", async () => {
    const repo = join(work, "repo");
    const before = await branchSha(BRANCH, await mint(TASK_AGENT_PERMISSIONS));
    const main = await branchSha("main", await mint(TASK_AGENT_PERMISSIONS));
    writeFileSync(join(repo, "agent.txt"), "the coding agent tries to push\n");
    await git(["add", "agent.txt"], repo);
    await git(["commit", "--quiet", "-m", "Agent's own push"], repo);

    const readOnly = await mint(TASK_AGENT_PERMISSIONS);
    for (const target of [BRANCH, "main"]) {
      const stderr = await gitFails(["push", "--quiet", remote(readOnly), `HEAD:refs/heads/${target}`], repo);
      expect(stderr).toContain(`Permission to ${REPO}.git denied to sam-local[bot].`);
      expect(stderr).toMatch(/403/);
    }
    const refused = await fetch(`${cloud.url}/github/${REPO}.git/info/refs?service=git-receive-pack`, {
      headers: { Authorization: `Basic ${Buffer.from(`x-access-token:${readOnly}`).toString("base64")}` },
    });
    expect([refused.status, await refused.text()]).toEqual([
      403,
      `Permission to ${REPO}.git denied to sam-local[bot].\n`,
    ]);

    const publish = await mint(TASK_PUBLISH_PERMISSIONS);
    const elsewhere = await gitFails(
      ["push", "--quiet", remote(publish, "sam-other/other-repo"), "HEAD:refs/heads/intrusion"],
      repo,
    );
    expect(elsewhere).toMatch(/Repository not found|404/);
    expect(await branchSha(BRANCH, publish)).toBe(before);
    expect(await branchSha("main", publish)).toBe(main);
    await git(["reset", "--quiet", "--hard", "HEAD~1"], repo);
  });

  it("compares base...head: status, counts, commits and the files with their patches", async () => {
    const token = await mint(TASK_AGENT_PERMISSIONS);
    const raw = await api(`/repos/${REPO}/compare/main...${BRANCH}`, token);
    expect(raw.status).toBe(200);
    expect(contractErrors("github", "operations.compare_commits.200", raw.json)).toEqual([]);

    const comparison = await client().compare(token, REPO, "main", BRANCH);
    expect(comparison).toMatchObject({ status: "ahead", ahead_by: 1, behind_by: 0, total_commits: 1 });
    expect(comparison.commits.map((c) => c.commit.message)).toEqual(["Append hello to README"]);
    expect(comparison.files).toHaveLength(1);
    expect(comparison.files[0]).toMatchObject({
      filename: "README.md",
      status: "modified",
      additions: 1,
      deletions: 0,
      changes: 1,
    });
    expect(comparison.files[0]!.patch).toMatch(/^@@ -1,3 \+1,4 @@\n/);
    expect(comparison.files[0]!.patch).toMatch(/\n\+hello$/);

    const back = await client().compare(token, REPO, BRANCH, "main");
    expect(back).toMatchObject({ status: "behind", ahead_by: 0, behind_by: 1, files: [] });
    const same = await client().compare(token, REPO, "main", "main");
    expect(same).toMatchObject({ status: "identical", total_commits: 0, files: [] });
    // develop and the task branch each have a commit the other lacks.
    const diverged = await client().compare(token, REPO, "develop", BRANCH);
    expect(diverged).toMatchObject({ status: "diverged", ahead_by: 1, behind_by: 1 });
    expect(diverged.files.map((f) => f.filename)).toEqual(["README.md"]);

    expect((await failure(client().compare(token, REPO, "main", "no-such-branch"))).status).toBe(404);
    expect((await api(`/repos/${REPO}/compare/main..${BRANCH}`, token)).status).toBe(404);
    expect((await api(`/repos/${REPO}/compare/main...${BRANCH}`)).status).toBe(200);
    const privateToken = await mint({ metadata: "read" }, "sam-dev/private-notes");
    const forbidden = await api("/repos/sam-dev/private-notes/compare/main...develop", privateToken);
    expect([forbidden.status, forbidden.json.message]).toEqual([403, "Resource not accessible by integration"]);
    expect((await api("/repos/sam-dev/private-notes/compare/main...develop")).status).toBe(404);
  });

  it("opens a pull request with Pull requests: write, and refuses what GitHub refuses with its 422 reasons", async () => {
    const readOnly = await mint(TASK_AGENT_PERMISSIONS);
    const denied = await failure(client().createPull(readOnly, REPO, { title: "t", head: BRANCH, base: "main" }));
    expect([denied.status, denied.message]).toEqual([403, "Resource not accessible by integration"]);

    const token = await mint(TASK_PUBLISH_PERMISSIONS);
    const raw = await api(`/repos/${REPO}/pulls`, token, {
      method: "POST",
      body: { title: "Append hello to README", head: BRANCH, base: "main", body: "Asked: append hello.", draft: true },
    });
    expect(raw.status).toBe(201);
    expect(contractErrors("github", "operations.create_pull.201", raw.json)).toEqual([]);
    expect(raw.headers.get("location")).toBe(`${cloud.url}/github-api/repos/${REPO}/pulls/1`);
    expect(raw.json).toMatchObject({
      number: 1,
      state: "open",
      draft: true,
      title: "Append hello to README",
      body: "Asked: append hello.",
      head: { ref: BRANCH, label: `sam-dev:${BRANCH}` },
      base: { ref: "main" },
      user: { login: "sam-local[bot]", type: "Bot" },
      commits: 1,
      additions: 1,
      deletions: 0,
      changed_files: 1,
      html_url: `${cloud.url}/github/${REPO}/pull/1`,
    });

    const again = await failure(client().createPull(token, REPO, { title: "Again", head: BRANCH, base: "main" }));
    expect(cloud.state().github.pull_requests).toEqual([
      expect.objectContaining({ repository: REPO, number: 1, state: "open", head: BRANCH, base: "main" }),
    ]);
    expect([again.status, again.message]).toEqual([
      422,
      `Validation Failed: A pull request already exists for sam-dev:${BRANCH}.`,
    ]);
    const nothing = await failure(client().createPull(token, REPO, { title: "No-op", head: "main", base: "develop" }));
    expect(nothing.message).toBe("Validation Failed: No commits between develop and main");
    const noHead = await api(`/repos/${REPO}/pulls`, token, {
      method: "POST",
      body: { title: "Ghost", head: "no-such-branch", base: "main" },
    });
    expect(noHead.status).toBe(422);
    expect(contractErrors("github", "operations.create_pull.422", noHead.json)).toEqual([]);
    expect(noHead.json.errors).toEqual([{ resource: "PullRequest", field: "head", code: "invalid" }]);
    const otherOwner = await api(`/repos/${REPO}/pulls`, token, {
      method: "POST",
      body: { title: "Fork", head: `sam-other:${BRANCH}`, base: "main" },
    });
    expect(otherOwner.json.errors).toEqual([{ resource: "PullRequest", field: "head", code: "invalid" }]);
    const unsupplied = await api(`/repos/${REPO}/pulls`, token, { method: "POST", body: { title: "x", base: "main" } });
    expect([unsupplied.status, unsupplied.json.message]).toEqual([422, 'Invalid request.\n\n"head" wasn\'t supplied.']);
    const untitled = await api(`/repos/${REPO}/pulls`, token, {
      method: "POST",
      body: { head: BRANCH, base: "develop" },
    });
    expect(untitled.json.errors).toEqual([{ resource: "Issue", code: "missing_field", field: "title" }]);
    expect(
      (
        await api(`/repos/sam-other/other-repo/pulls`, token, {
          method: "POST",
          body: { title: "x", head: "a", base: "b" },
        })
      ).status,
    ).toBe(404);
    expect((await api(`/repos/${REPO}/pulls`, undefined, { method: "POST", body: {} })).status).toBe(401);
    // GitHub Free: no drafts in a private repository.
    const notesToken = await mint(TASK_PUBLISH_PERMISSIONS, "sam-dev/private-notes");
    const draft = await failure(
      client().createPull(notesToken, "sam-dev/private-notes", {
        title: "d",
        head: "develop",
        base: "main",
        draft: true,
      }),
    );
    expect(draft.message).toBe("Validation Failed: Draft pull requests are not supported in this repository.");
    const ready = await client().createPull(notesToken, "sam-dev/private-notes", {
      title: "Develop into main",
      head: "develop",
      base: "main",
    });
    expect(ready).toMatchObject({ number: 1, draft: false, changed_files: 1, additions: 1 });
  });

  it("lists (state, head, base, pages), gets and updates pull requests", async () => {
    const token = await mint(TASK_PUBLISH_PERMISSIONS);
    const second = await client().createPull(token, REPO, { title: "Into develop", head: BRANCH, base: "develop" });
    expect(second).toMatchObject({ number: 2, draft: false, body: null });

    const listed = await api(`/repos/${REPO}/pulls?per_page=1`, token);
    expect(contractErrors("github", "operations.list_pulls.200", listed.json)).toEqual([]);
    expect(listed.json.map((p: { number: number }) => p.number)).toEqual([2]);
    expect(listed.headers.get("link")).toMatch(/page=2[^>]*>; rel="next"/);
    const c = client();
    expect((await c.listPulls(token, REPO)).map((p) => p.number)).toEqual([2, 1]);
    expect((await c.listPulls(token, REPO, { base: "main" })).map((p) => p.number)).toEqual([1]);
    expect((await c.listPulls(token, REPO, { head: BRANCH, base: "develop" })).map((p) => p.number)).toEqual([2]);
    expect(await c.listPulls(token, REPO, { head: "other-branch" })).toEqual([]);
    expect((await api(`/repos/${REPO}/pulls?state=merged`, token)).status).toBe(422);

    const got = await api(`/repos/${REPO}/pulls/1`, token);
    expect(contractErrors("github", "operations.get_pull.200", got.json)).toEqual([]);
    expect(await c.getPull(token, REPO, 99)).toBeNull();
    const readOnly = await mint(TASK_AGENT_PERMISSIONS);
    expect((await c.getPull(readOnly, REPO, 1))?.title).toBe("Append hello to README");

    const edited = await c.updatePull(token, REPO, 2, { title: "Into develop, edited", body: "Now with a body." });
    expect(edited).toMatchObject({ title: "Into develop, edited", body: "Now with a body.", state: "open" });
    const closed = await c.updatePull(token, REPO, 2, { state: "closed" });
    expect(closed.state).toBe("closed");
    expect(closed.closed_at).not.toBeNull();
    expect((await c.listPulls(token, REPO)).map((p) => p.number)).toEqual([1]);
    expect((await c.listPulls(token, REPO, { state: "closed" })).map((p) => p.number)).toEqual([2]);
    expect((await c.listPulls(token, REPO, { state: "all" })).map((p) => p.number)).toEqual([2, 1]);
    const badState = await api(`/repos/${REPO}/pulls/2`, token, { method: "PATCH", body: { state: "merged" } });
    expect(badState.status).toBe(422);
    expect((await failure(c.updatePull(readOnly, REPO, 2, { state: "open" }))).status).toBe(403);
    expect((await c.updatePull(token, REPO, 2, { state: "open" })).closed_at).toBeNull();
  });

  it("follows new pushes to the head branch, and shows a pull request and the list as web pages", async () => {
    const repo = join(work, "repo");
    appendFileSync(join(repo, "README.md"), "and again\n");
    writeFileSync(join(repo, "NEW.md"), "<b>new</b>\n");
    await git(["add", "NEW.md", "README.md"], repo);
    await git(["commit", "--quiet", "-m", "More"], repo);
    const token = await mint(TASK_PUBLISH_PERMISSIONS);
    await git(["push", "--quiet", remote(token), `HEAD:refs/heads/${BRANCH}`], repo);
    const pull = await client().getPull(token, REPO, 1);
    expect(pull).toMatchObject({ commits: 2, additions: 3, deletions: 0, changed_files: 2 });
    expect(pull!.head.sha).toBe((await git(["rev-parse", "HEAD"], repo)).trim());

    const page = await fetch(`${cloud.url}/github/${REPO}/pull/1`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Append hello to README");
    expect(html).toContain("Asked: append hello.");
    expect(html).toMatch(
      /Draft<\/strong>.*into <code class="base">main<\/code> from <code class="head">sam\/append-hello-1a2b3c<\/code>/s,
    );
    expect(html).toMatch(
      /<span class="filename">README.md<\/span> <span class="additions">\+2<\/span> <span class="deletions">−0<\/span>/,
    );
    expect(html).toMatch(/<span class="filename">NEW.md<\/span> <span class="additions">\+1<\/span>/);
    expect(html).toContain("+&lt;b&gt;new&lt;/b&gt;");
    const list = await (await fetch(`${cloud.url}/github/${REPO}/pulls`)).text();
    expect(list).toContain(`href="${cloud.url}/github/${REPO}/pull/1"`);
    expect(list).toContain("Into develop, edited");
    expect((await fetch(`${cloud.url}/github/${REPO}/pull/42`)).status).toBe(404);
    const foreign = await fetch(`${cloud.url}/github/sam-other/other-repo/pulls`);
    expect(foreign.status).toBe(404);
  });
});
