import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, importPKCS8 } from "jose";
import { createPrivateKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalCloud } from "../server";
import { appPrivateKey, call, contractErrors, startTestCloud } from "../test-support";

let cloud: LocalCloud;
let app: Server;
const hooks: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
let appUrl: string;

beforeAll(async () => {
  app = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === "/api/github/webhook") hooks.push({ headers: req.headers, body });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  cloud = await startTestCloud({ appUrl });
});
afterAll(async () => {
  await cloud?.close();
  await new Promise((resolve) => app?.close(resolve));
});

const api = (path: string, token?: string, init: { method?: string; body?: unknown } = {}) =>
  call(`${cloud.url}/github-api`, init.method ?? "GET", path, { token, body: init.body });

async function signIn(login = "sam-dev"): Promise<string> {
  const session = await fetch(`${cloud.url}/github/session?login=${login}`);
  const cookie = session.headers.get("set-cookie")!.split(";")[0]!;
  const authorize = await fetch(
    `${cloud.url}/github/login/oauth/authorize?client_id=Iv1.testclient&redirect_uri=${encodeURIComponent(`${appUrl}/auth/github/callback`)}&state=s1`,
    { headers: { cookie }, redirect: "manual" },
  );
  const code = new URL(authorize.headers.get("location")!).searchParams.get("code")!;
  const token = await fetch(`${cloud.url}/github/login/oauth/access_token`, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify({
      client_id: "Iv1.testclient",
      client_secret: "test-client-secret",
      code,
      redirect_uri: `${appUrl}/auth/github/callback`,
    }),
  });
  return ((await token.json()) as { access_token: string }).access_token;
}

async function appJwt(claims: { iat?: number; exp?: number; iss?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const key = await importPKCS8(
    createPrivateKey(appPrivateKey()).export({ type: "pkcs8", format: "pem" }).toString(),
    "RS256",
  );
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256" })
    .setIssuer(claims.iss ?? "1000001")
    .setIssuedAt(claims.iat ?? now - 30)
    .setExpirationTime(claims.exp ?? now + 540)
    .sign(key);
}

async function install(login: string, selection: "all" | string[]): Promise<{ location: string }> {
  const session = await fetch(`${cloud.url}/github/session?login=${login}`);
  const cookie = session.headers.get("set-cookie")!.split(";")[0]!;
  const page = await fetch(`${cloud.url}/github/apps/sam-local/installations/new`, { headers: { cookie } });
  expect(await page.text()).toContain("Install sam-local");
  const form = new URLSearchParams({ repository_selection: selection === "all" ? "all" : "selected", state: "st" });
  if (selection !== "all") for (const id of selection) form.append("repository_ids", id);
  const done = await fetch(`${cloud.url}/github/apps/sam-local/installations/new`, {
    method: "POST",
    headers: { cookie, "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
    redirect: "manual",
  });
  expect(done.status).toBe(302);
  return { location: done.headers.get("location")! };
}

describe("GitHub OAuth web flow", () => {
  it("approves as the session user, returns state, and exchanges a single-use code (JSON and form answers)", async () => {
    const authorize = await fetch(
      `${cloud.url}/github/login/oauth/authorize?client_id=Iv1.testclient&redirect_uri=${encodeURIComponent(`${appUrl}/cb`)}&state=xyz`,
      { redirect: "manual" },
    );
    expect(authorize.status).toBe(302);
    const location = new URL(authorize.headers.get("location")!);
    expect(location.searchParams.get("state")).toBe("xyz");
    const code = location.searchParams.get("code")!;
    const form = await fetch(`${cloud.url}/github/login/oauth/access_token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: "Iv1.testclient", client_secret: "test-client-secret", code }),
    });
    expect(form.status).toBe(200);
    const answer = new URLSearchParams(await form.text());
    expect(answer.get("access_token")).toMatch(/^ghu_/);
    expect(answer.get("token_type")).toBe("bearer");
    const reused = await fetch(`${cloud.url}/github/login/oauth/access_token`, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ client_id: "Iv1.testclient", client_secret: "test-client-secret", code }),
    });
    expect(reused.status).toBe(200);
    expect(((await reused.json()) as { error: string }).error).toBe("bad_verification_code");
    const wrongSecret = await fetch(
      `${cloud.url}/github/login/oauth/access_token?client_id=Iv1.testclient&client_secret=nope&code=x`,
      { method: "POST", headers: { Accept: "application/json" } },
    );
    expect(((await wrongSecret.json()) as { error: string }).error).toBe("incorrect_client_credentials");
    const unknownClient = await fetch(`${cloud.url}/github/login/oauth/authorize?client_id=nope`, {
      redirect: "manual",
    });
    expect(unknownClient.status).toBe(404);
  });

  it("accepts client credentials as HTTP Basic auth, as OAuth libraries send them", async () => {
    const authorize = await fetch(
      `${cloud.url}/github/login/oauth/authorize?client_id=Iv1.testclient&redirect_uri=${encodeURIComponent(`${appUrl}/cb`)}&state=s`,
      { redirect: "manual" },
    );
    const code = new URL(authorize.headers.get("location")!).searchParams.get("code")!;
    const exchange = (secret: string) =>
      fetch(`${cloud.url}/github/login/oauth/access_token`, {
        method: "POST",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: `Basic ${btoa(`Iv1.testclient:${secret}`)}`,
        },
        body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: `${appUrl}/cb` }),
      }).then((response) => response.json() as Promise<{ access_token?: string; error?: string }>);
    expect((await exchange("wrong")).error).toBe("incorrect_client_credentials");
    expect((await exchange("test-client-secret")).access_token).toMatch(/^ghu_/);
  });

  it("checks PKCE as GitHub does: S256 only, and the exchange must bring the matching code_verifier", async () => {
    const verifier = "v".repeat(20) + randomBytes(24).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const authorize = (method: string) =>
      fetch(
        `${cloud.url}/github/login/oauth/authorize?client_id=Iv1.testclient&redirect_uri=${encodeURIComponent(`${appUrl}/cb`)}&state=s&code_challenge=${challenge}&code_challenge_method=${method}`,
        { redirect: "manual" },
      ).then((response) => new URL(response.headers.get("location")!).searchParams);
    expect((await authorize("plain")).get("error")).toBe("invalid_request");
    const exchange = (code: string, codeVerifier?: string) =>
      fetch(`${cloud.url}/github/login/oauth/access_token`, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          client_id: "Iv1.testclient",
          client_secret: "test-client-secret",
          code,
          redirect_uri: `${appUrl}/cb`,
          ...(codeVerifier ? { code_verifier: codeVerifier } : {}),
        }),
      }).then((response) => response.json() as Promise<{ access_token?: string; error?: string }>);
    expect((await exchange((await authorize("S256")).get("code")!)).error).toBe("bad_verification_code");
    expect((await exchange((await authorize("S256")).get("code")!, `${verifier}x`)).error).toBe(
      "bad_verification_code",
    );
    expect((await exchange((await authorize("S256")).get("code")!, verifier)).access_token).toMatch(/^ghu_/);
  });

  it("serves the signed-in user and their emails in the documented shapes", async () => {
    const token = await signIn("sam-other");
    const user = await api("/user", token);
    expect(user.status).toBe(200);
    expect(contractErrors("github", "operations.get_authenticated_user.200", user.json)).toEqual([]);
    expect(user.json).toMatchObject({ login: "sam-other", id: 1002 });
    const emails = await api("/user/emails", token);
    expect(contractErrors("github", "operations.list_emails.200", emails.json)).toEqual([]);
    const me = await api("/user", await signIn());
    expect(me.json).toMatchObject({ login: "sam-dev", id: 1001, name: "SAM Developer", email: "sam-dev@example.test" });
    for (const name of [
      "x-ratelimit-limit",
      "x-ratelimit-remaining",
      "x-ratelimit-reset",
      "x-ratelimit-used",
      "x-ratelimit-resource",
    ])
      expect(me.headers.get(name)).not.toBeNull();
  });

  it("answers 401 Bad credentials for an unknown token and Requires authentication without one", async () => {
    const bad = await api("/user", "ghu_nope");
    expect(bad.status).toBe(401);
    expect(bad.json.message).toBe("Bad credentials");
    expect(contractErrors("github", "components.schemas.basic-error", bad.json)).toEqual([]);
    expect((await api("/user")).json.message).toBe("Requires authentication");
  });
});

describe("GitHub App installation", () => {
  it("installs from the browser page, delivers a signed installation.created webhook and redirects to the setup URL", async () => {
    hooks.length = 0;
    const { location } = await install("sam-dev", "all");
    const target = new URL(location);
    expect(`${target.origin}${target.pathname}`).toBe(`${appUrl}/api/github/callback`);
    expect(target.searchParams.get("setup_action")).toBe("install");
    expect(target.searchParams.get("state")).toBe("st");
    const installationId = Number(target.searchParams.get("installation_id"));
    expect(hooks).toHaveLength(1);
    const hook = hooks[0]!;
    expect(hook.headers["x-github-event"]).toBe("installation");
    expect(hook.headers["x-hub-signature-256"]).toBe(
      `sha256=${createHmac("sha256", "test-webhook-secret").update(hook.body).digest("hex")}`,
    );
    expect(hook.headers["user-agent"]).toMatch(/^GitHub-Hookshot\//);
    const payload = JSON.parse(hook.body);
    expect(contractErrors("github", "webhooks.installation_created", payload)).toEqual([]);
    expect(payload.installation.id).toBe(installationId);

    const userToken = await signIn();
    const mine = await api("/user/installations", userToken);
    expect(contractErrors("github", "operations.list_user_installations.200", mine.json)).toEqual([]);
    expect(mine.json.installations.map((i: { id: number }) => i.id)).toEqual([installationId]);
    expect((await api("/user/installations", await signIn("sam-other"))).json.total_count).toBe(0);
    const repos = await api(`/user/installations/${installationId}/repositories?per_page=1`, userToken);
    expect(contractErrors("github", "operations.list_user_installation_repos.200", repos.json)).toEqual([]);
    expect(repos.json.total_count).toBe(3);
    expect(repos.headers.get("link")).toMatch(/<[^>]+page=2[^>]*>; rel="next", <[^>]+>; rel="last"/);
    expect((await api(`/user/installations/${installationId}/repositories`, await signIn("sam-other"))).status).toBe(
      404,
    );
  });

  it("mints installation tokens with an App JWT and refuses bad JWTs", async () => {
    const installationId = cloud.state().github.installations.find((i) => i.account === "sam-dev")!.id;
    const jwt = await appJwt();
    const got = await api(`/app/installations/${installationId}`, jwt);
    expect(got.status).toBe(200);
    expect(contractErrors("github", "operations.get_installation.200", got.json)).toEqual([]);
    const minted = await api(`/app/installations/${installationId}/access_tokens`, jwt, { method: "POST" });
    expect(minted.status).toBe(201);
    expect(contractErrors("github", "operations.create_installation_access_token.201", minted.json)).toEqual([]);
    expect(minted.json.token).toMatch(/^ghs_/);
    const lifetime = Date.parse(minted.json.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(59 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(60 * 60_000);
    const repos = await api("/installation/repositories", minted.json.token);
    expect(contractErrors("github", "operations.list_installation_repos.200", repos.json)).toEqual([]);
    expect(repos.json.repositories.map((r: { full_name: string }) => r.full_name).sort()).toEqual([
      "sam-dev/hello-world",
      "sam-dev/private-notes",
      "sam-dev/setup-demo",
    ]);

    const now = Math.floor(Date.now() / 1000);
    expect(
      (await api(`/app/installations/${installationId}`, await appJwt({ iat: now - 60, exp: now + 1200 }))).status,
    ).toBe(401);
    expect(
      (await api(`/app/installations/${installationId}`, await appJwt({ iat: now - 700, exp: now - 100 }))).status,
    ).toBe(401);
    expect((await api(`/app/installations/${installationId}`, await appJwt({ iss: "999" }))).status).toBe(401);
    expect(
      (await api(`/app/installations/${installationId}/access_tokens`, minted.json.token, { method: "POST" })).status,
    ).toBe(401);
    expect((await api(`/app/installations/424242`, jwt)).status).toBe(404);
  });

  it("serves repositories and branches to those with access and 404 to others", async () => {
    const installationId = cloud.state().github.installations.find((i) => i.account === "sam-dev")!.id;
    const token = (await api(`/app/installations/${installationId}/access_tokens`, await appJwt(), { method: "POST" }))
      .json.token;
    const repo = await api("/repos/sam-dev/private-notes", token);
    expect(repo.status).toBe(200);
    expect(contractErrors("github", "operations.get_repo.200", repo.json)).toEqual([]);
    expect(repo.json.clone_url).toBe(`${cloud.url}/github/sam-dev/private-notes.git`);
    expect(repo.json.default_branch).toBe("main");
    const branches = await api("/repos/sam-dev/private-notes/branches", token);
    expect(contractErrors("github", "operations.list_branches.200", branches.json)).toEqual([]);
    expect(branches.json.map((b: { name: string }) => b.name).sort()).toEqual(["develop", "main"]);
    expect((await api("/repos/sam-other/other-repo", token)).status).toBe(404);
    expect((await api("/repos/sam-dev/private-notes", await signIn("sam-other"))).status).toBe(404);
    expect((await api("/repos/sam-dev/private-notes")).status).toBe(404);
    expect((await api("/repos/sam-dev/hello-world")).status).toBe(200);
  });

  it("clones public repositories anonymously, private ones only with an installation token, and accepts pushes", async () => {
    const installationId = cloud.state().github.installations.find((i) => i.account === "sam-dev")!.id;
    const token = (await api(`/app/installations/${installationId}/access_tokens`, await appJwt(), { method: "POST" }))
      .json.token as string;
    const work = mkdtempSync(join(tmpdir(), "local-cloud-git-"));
    const env = {
      ...process.env,
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.test",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.test",
    };
    // Asynchronous on purpose: the cloud answers from this same process.
    const git = async (args: string[], cwd = work) =>
      (await promisify(execFile)("git", args, { cwd, env, timeout: 20_000 })).stdout;
    try {
      await git(["clone", "--quiet", `${cloud.url}/github/sam-dev/hello-world.git`, "public"]);
      expect(await git(["branch", "-r"], join(work, "public"))).toContain("origin/develop");
      await expect(
        git(["clone", "--quiet", `${cloud.url}/github/sam-dev/private-notes.git`, "denied"]),
      ).rejects.toThrow();
      const unauthenticated = await fetch(
        `${cloud.url}/github/sam-dev/private-notes.git/info/refs?service=git-upload-pack`,
      );
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers.get("www-authenticate")).toBe('Basic realm="GitHub"');
      const authed = `http://x-access-token:${token}@127.0.0.1:${cloud.port}/github/sam-dev/private-notes.git`;
      await git(["clone", "--quiet", authed, "private"]);
      writeFileSync(join(work, "private", "pushed.txt"), "hello\n");
      await git(["add", "pushed.txt"], join(work, "private"));
      await git(["commit", "--quiet", "-m", "push test"], join(work, "private"));
      await git(["push", "--quiet", "origin", "main"], join(work, "private"));
      const branches = await api("/repos/sam-dev/private-notes/branches", token);
      const main = branches.json.find((b: { name: string }) => b.name === "main");
      expect(main.commit.sha).toBe((await git(["rev-parse", "HEAD"], join(work, "private"))).trim());
      await expect(
        git(
          ["push", "--quiet", `${cloud.url}/github/sam-dev/hello-world.git`, "HEAD:refs/heads/anon"],
          join(work, "private"),
        ),
      ).rejects.toThrow();
      const otherToken = `http://x-access-token:${token}@127.0.0.1:${cloud.port}/github/sam-other/other-repo.git`;
      await expect(git(["clone", "--quiet", otherToken, "other"])).rejects.toThrow();

      await git(["clone", "--quiet", `${cloud.url}/github/sam-dev/setup-demo.git`, "setup-demo"]);
      const demo = join(work, "setup-demo");
      const tree = await git(["ls-tree", "-r", "HEAD"], demo);
      expect(tree).toMatch(/^100755 blob \w+\t\.sam\/setup\.sh$/m);
      expect(tree).toMatch(/^100644 blob \w+\tREADME\.md$/m);
      expect(tree.trim().split("\n")).toHaveLength(2);
      const run = await promisify(execFile)("./.sam/setup.sh", [], {
        cwd: demo,
        env: { PATH: process.env.PATH, HOME: demo, GREETING: "hi" },
      });
      expect(run.stdout).toBe("setup-demo: greeting is hi\n");
      expect(readFileSync(join(demo, "setup-marker"), "utf8")).toMatch(/\d{4}/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("tokens carry the installation's permissions, narrowed as asked (more than granted is a 422); a read-only token cannot push", async () => {
    const sam = cloud.state().github.installations.find((i) => i.account === "sam-dev")!.id;
    const jwt = await appJwt();
    const full = await api(`/app/installations/${sam}/access_tokens`, jwt, { method: "POST" });
    expect(full.json.permissions).toEqual({ contents: "write", metadata: "read", pull_requests: "write" });
    const narrowed = await api(`/app/installations/${sam}/access_tokens`, jwt, {
      method: "POST",
      body: { repositories: ["private-notes"], permissions: { contents: "read", metadata: "read" } },
    });
    expect(narrowed.status).toBe(201);
    expect(narrowed.json.permissions).toEqual({ contents: "read", metadata: "read" });

    // An App installed with Contents: Read-only (the installer accepted no more).
    const installed = await fetch(`${cloud.url}/_local/github/installations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ login: "sam-other", permissions: { contents: "read", metadata: "read" } }),
    });
    expect(installed.status).toBe(201);
    const other = ((await installed.json()) as { id: number; permissions: Record<string, string> }).id;
    expect((await api(`/app/installations/${other}`, jwt)).json.permissions).toEqual({
      contents: "read",
      metadata: "read",
    });
    const tooMuch = await api(`/app/installations/${other}/access_tokens`, jwt, {
      method: "POST",
      body: { permissions: { contents: "write" } },
    });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.json.message).toBe("The permissions requested are not granted to this installation.");
    expect(
      (
        await api(`/app/installations/${other}/access_tokens`, jwt, {
          method: "POST",
          body: { permissions: { pull_requests: "read" } },
        })
      ).status,
    ).toBe(422);

    const basic = (token: string) => `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
    const readOnly = (await api(`/app/installations/${other}/access_tokens`, jwt, { method: "POST" })).json.token;
    const receive = (token: string, repo: string) =>
      fetch(`${cloud.url}/github/${repo}.git/info/refs?service=git-receive-pack`, {
        headers: { Authorization: basic(token) },
      });
    const refused = await receive(readOnly, "sam-other/other-repo");
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe("Permission to sam-other/other-repo.git denied to sam-local[bot].\n");
    expect((await receive(narrowed.json.token, "sam-dev/private-notes")).status).toBe(403);
    expect((await receive(full.json.token, "sam-dev/private-notes")).status).toBe(200);
    const fetchRefs = await fetch(`${cloud.url}/github/sam-other/other-repo.git/info/refs?service=git-upload-pack`, {
      headers: { Authorization: basic(readOnly) },
    });
    expect(fetchRefs.status).toBe(200);
    await call(cloud.url, "POST", "/_local/webhooks", {
      body: { event: "installation", action: "deleted", installation_id: other },
    });
  });

  it("states a user's permission on a repository: the owner's is admin, a stranger's none on a private one", async () => {
    const sam = cloud.state().github.installations.find((i) => i.account === "sam-dev")!.id;
    const token = (await api(`/app/installations/${sam}/access_tokens`, await appJwt(), { method: "POST" })).json.token;
    const owner = await api("/repos/sam-dev/private-notes/collaborators/sam-dev/permission", token);
    expect(owner.status).toBe(200);
    expect(owner.json).toMatchObject({ permission: "admin", role_name: "admin", user: { login: "sam-dev" } });
    const stranger = await api("/repos/sam-dev/private-notes/collaborators/sam-other/permission", token);
    expect(stranger.json.permission).toBe("none");
    expect((await api("/repos/sam-dev/hello-world/collaborators/sam-other/permission", token)).json.permission).toBe(
      "read",
    );
    expect((await api("/repos/sam-dev/private-notes/collaborators/nobody-here/permission", token)).status).toBe(404);
    expect((await api("/repos/sam-other/other-repo/collaborators/sam-dev/permission", token)).status).toBe(404);
  });

  it("delivers admin-triggered installation_repositories and installation events", async () => {
    hooks.length = 0;
    const installationId = cloud.state().github.installations.find((i) => i.account === "sam-dev")!.id;
    const removed = await call(cloud.url, "POST", "/_local/webhooks", {
      body: {
        event: "installation_repositories",
        action: "removed",
        installation_id: installationId,
        repositories: ["sam-dev/private-notes"],
      },
    });
    expect(removed.status).toBe(200);
    expect(contractErrors("github", "webhooks.installation_repositories_removed", JSON.parse(hooks[0]!.body))).toEqual(
      [],
    );
    await call(cloud.url, "POST", "/_local/webhooks", {
      body: { event: "installation", action: "suspend", installation_id: installationId },
    });
    expect(contractErrors("github", "webhooks.installation_suspend", JSON.parse(hooks[1]!.body))).toEqual([]);
    expect(
      (await api(`/app/installations/${installationId}/access_tokens`, await appJwt(), { method: "POST" })).status,
    ).toBe(403);
    await call(cloud.url, "POST", "/_local/webhooks", {
      body: { event: "installation", action: "unsuspend", installation_id: installationId },
    });
    expect(contractErrors("github", "webhooks.installation_unsuspend", JSON.parse(hooks[2]!.body))).toEqual([]);
    await call(cloud.url, "POST", "/_local/webhooks", {
      body: { event: "installation", action: "deleted", installation_id: installationId },
    });
    expect(contractErrors("github", "webhooks.installation_deleted", JSON.parse(hooks[3]!.body))).toEqual([]);
    expect(cloud.state().github.installations).toEqual([]);
  });

  it("enforces the (lowered) rate limit with 403 and X-RateLimit-Remaining: 0", async () => {
    const token = await signIn();
    await call(cloud.url, "PUT", "/_local/rate-limit", { body: { service: "github", limit: 1 } });
    expect((await api("/user", token)).status).toBe(200);
    const limited = await api("/user", token);
    expect(limited.status).toBe(403);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(limited.json.message).toMatch(/rate limit exceeded/);
    await call(cloud.url, "PUT", "/_local/rate-limit", { body: { service: "github", limit: 5000 } });
  });
});
