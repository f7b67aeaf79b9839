import { generateKeyPairSync } from "node:crypto";
import { decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { fakeFetch, json, networkDown, rejection } from "../../tests/support/fake-fetch";
import { createAppJwt, github } from "./github.server";

const API = "https://api.github.test";
const TOKEN = "ghu_16C7e42F292c6912E7710c838347Ae178B4a";
const fast = { maxAttempts: 3, retryDelayMs: 1 };

// Shaped from the spec's examples (repository, simple-user, installation), trimmed.
const owner = {
  login: "octocat",
  id: 1,
  type: "User",
  avatar_url: "https://github.com/images/error/octocat_happy.gif",
};
const repo = (id: number) => ({
  id,
  node_id: "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
  name: `repo-${id}`,
  full_name: `octocat/repo-${id}`,
  owner,
  private: false,
  html_url: `https://github.com/octocat/repo-${id}`,
  clone_url: `https://github.com/octocat/repo-${id}.git`,
  description: null,
  fork: false,
  default_branch: "main",
});
const installation = (id: number, account: unknown = owner) => ({
  id,
  account,
  repository_selection: "selected",
  access_tokens_url: `https://api.github.com/app/installations/${id}/access_tokens`,
  repositories_url: "https://api.github.com/installation/repositories",
  html_url: `https://github.com/settings/installations/${id}`,
  app_id: 1,
  target_id: 1,
  target_type: "User",
  permissions: { contents: "write", metadata: "read" },
  events: [],
  created_at: "2017-07-08T16:18:44-04:00",
  updated_at: "2017-07-08T16:18:44-04:00",
  single_file_name: null,
  app_slug: "sam",
  suspended_by: null,
  suspended_at: null,
});

/** Serves `pages` pages, each linking to the next the way GitHub does. */
function linkedPages(build: (page: number) => unknown, pages: number) {
  return fakeFetch((request) => {
    const page = Number(request.url.searchParams.get("page") ?? "1");
    const links: string[] = [];
    const link = (n: number, rel: string) => {
      const url = new URL(request.url);
      url.searchParams.set("page", String(n));
      links.push(`<${url}>; rel="${rel}"`);
    };
    if (page > 1) link(page - 1, "prev");
    if (page < pages) link(page + 1, "next");
    link(pages, "last");
    if (page > 1) link(1, "first");
    return json(200, build(page), { Link: links.join(", ") });
  });
}

describe("github client", () => {
  it("sends the versioned media type, API version, user agent and bearer token to the configured API URL", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(200, { ...owner, name: "monalisa octocat", email: null, html_url: "https://github.com/octocat" }),
    );
    const user = await github({ apiUrl: API, fetch }).getUser(TOKEN);
    expect(user).toMatchObject({ id: 1, login: "octocat", name: "monalisa octocat" });
    const request = requests[0]!;
    expect(request.url.href).toBe(`${API}/user`);
    expect(request.headers.get("accept")).toBe("application/vnd.github+json");
    expect(request.headers.get("x-github-api-version")).toBe("2022-11-28");
    expect(request.headers.get("user-agent")).toBeTruthy();
    expect(request.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
  });

  it("maps 401 to ProviderError 401 'Bad credentials' without the token", async () => {
    const { fetch } = fakeFetch(() =>
      json(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" }),
    );
    const error = await rejection(github({ apiUrl: API, fetch }).getUser(TOKEN));
    expect(error).toMatchObject({ provider: "github", status: 401, message: "Bad credentials" });
    expect(error.message).not.toContain(TOKEN);
  });

  it("lists every repository of an installation by following the Link header across 3 pages", async () => {
    const { fetch, requests } = linkedPages(
      (page) => ({ total_count: 250, repositories: [repo(page * 100), repo(page * 100 + 1)] }),
      3,
    );
    const repos = await github({ apiUrl: API, fetch }).listUserInstallationRepositories(TOKEN, 7);
    expect(repos.map((r) => r.id)).toEqual([100, 101, 200, 201, 300, 301]);
    expect(requests).toHaveLength(3);
    expect(requests.every((r) => r.url.pathname === "/user/installations/7/repositories")).toBe(true);
    expect(requests.every((r) => r.url.searchParams.get("per_page") === "100")).toBe(true);
    expect(requests.every((r) => r.headers.get("authorization") === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("lists installations and branches across pages, reading an enterprise account's slug as its login", async () => {
    const enterprise = {
      id: 9,
      slug: "acme",
      name: "Acme",
      node_id: "x",
      html_url: "https://github.com/enterprises/acme",
      created_at: null,
      updated_at: null,
      avatar_url: "a",
    };
    const installs = linkedPages(
      (page) => ({ total_count: 3, installations: [installation(page, page === 2 ? enterprise : owner)] }),
      3,
    );
    const found = await github({ apiUrl: API, fetch: installs.fetch }).listUserInstallations(TOKEN);
    expect(found.map((i) => [i.id, i.account?.login, i.account?.type])).toEqual([
      [1, "octocat", "User"],
      [2, "acme", "Enterprise"],
      [3, "octocat", "User"],
    ]);

    const branches = linkedPages(
      (page) => [
        { name: `b${page}`, commit: { sha: "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc", url: "u" }, protected: false },
      ],
      3,
    );
    const names = await github({ apiUrl: API, fetch: branches.fetch }).listBranches(TOKEN, "octocat", "Hello-World");
    expect(names.map((b) => b.name)).toEqual(["b1", "b2", "b3"]);
    expect(branches.requests[0]!.url.pathname).toBe("/repos/octocat/Hello-World/branches");
  });

  it("does not follow a pagination link to another host", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(200, [], { Link: '<https://evil.test/user/emails?page=2>; rel="next"' }),
    );
    const error = await rejection(github({ apiUrl: API, fetch }).getPrimaryEmail(TOKEN));
    expect(error.message).toMatch(/unexpected response/);
    expect(requests).toHaveLength(1);
  });

  it("returns the primary address only when it is verified", async () => {
    const serve = (emails: unknown) => fakeFetch(() => json(200, emails)).fetch;
    const primary = { email: "octocat@github.com", primary: true, verified: true, visibility: "public" };
    const other = { email: "other@example.com", primary: false, verified: true, visibility: null };
    expect(await github({ apiUrl: API, fetch: serve([other, primary]) }).getPrimaryEmail(TOKEN)).toBe(
      "octocat@github.com",
    );
    expect(
      await github({ apiUrl: API, fetch: serve([other, { ...primary, verified: false }]) }).getPrimaryEmail(TOKEN),
    ).toBeNull();
    const forbidden = fakeFetch(() => json(403, { message: "Resource not accessible by integration" })).fetch;
    expect(await github({ apiUrl: API, fetch: forbidden }).getPrimaryEmail(TOKEN)).toBeNull();
  });

  it("returns null for a repository that is not there", async () => {
    const { fetch } = fakeFetch(() =>
      json(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" }),
    );
    const client = github({ apiUrl: API, fetch });
    expect(await client.getRepository(TOKEN, "octocat", "gone")).toBeNull();
  });

  it("maps an exhausted primary rate limit (403, x-ratelimit-remaining 0) to rate_limited with the wait", async () => {
    const reset = Math.floor(Date.now() / 1000) + 120;
    const { fetch, requests } = fakeFetch(() =>
      json(
        403,
        { message: "API rate limit exceeded for user ID 1." },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset), "x-ratelimit-limit": "5000" },
      ),
    );
    const error = await rejection(github({ apiUrl: API, fetch, retry: fast }).getUser(TOKEN));
    expect(error).toMatchObject({
      status: 403,
      code: "rate_limited",
      message: "API rate limit exceeded for user ID 1.",
    });
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(119);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(120);
    expect(requests).toHaveLength(1); // two minutes is longer than a request should hang around
  });

  it("honours retry-after on a secondary rate limit (429) and retries a GET", async () => {
    const { fetch, requests } = fakeFetch((_, i) =>
      i === 0
        ? json(429, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "0" })
        : json(200, { ...owner }),
    );
    expect((await github({ apiUrl: API, fetch, retry: fast }).getUser(TOKEN)).login).toBe("octocat");
    expect(requests).toHaveLength(2);

    const { fetch: slow } = fakeFetch(() =>
      json(429, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "30" }),
    );
    expect(await rejection(github({ apiUrl: API, fetch: slow, retry: fast }).getUser(TOKEN))).toMatchObject({
      code: "rate_limited",
      retryAfterSeconds: 30,
    });
  });

  it("keeps a permission 403 apart from a rate limit", async () => {
    const { fetch } = fakeFetch(() =>
      json(403, { message: "Resource not accessible by integration" }, { "x-ratelimit-remaining": "4999" }),
    );
    const error = await rejection(github({ apiUrl: API, fetch }).getRepository(TOKEN, "o", "r"));
    expect(error.code).toBeUndefined();
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it("creates an installation token with the App JWT, never retrying the POST", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(201, {
        token: "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
        expires_at: "2016-07-11T22:14:10Z",
        permissions: { contents: "read" },
        repository_selection: "selected",
      }),
    );
    const result = await github({ apiUrl: API, fetch }).createInstallationToken("app.jwt", 42, {
      repositories: ["Hello-World"],
      permissions: { contents: "read" },
    });
    expect(result).toEqual({
      token: "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
      expiresAt: new Date("2016-07-11T22:14:10Z"),
      permissions: { contents: "read" },
      repositorySelection: "selected",
    });
    expect(requests[0]).toMatchObject({
      method: "POST",
      body: { repositories: ["Hello-World"], permissions: { contents: "read" } },
    });
    expect(requests[0]!.url.pathname).toBe("/app/installations/42/access_tokens");
    expect(requests[0]!.headers.get("authorization")).toBe("Bearer app.jwt");

    const failing = fakeFetch(() => json(503, { message: "Service unavailable" }));
    expect(
      await rejection(
        github({ apiUrl: API, fetch: failing.fetch, retry: fast }).createInstallationToken("app.jwt", 42),
      ),
    ).toMatchObject({ status: 503 });
    expect(failing.requests).toHaveLength(1);
  });

  it("compares base...head on the repository's path, keeping a task branch's slash, and parses the files", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(200, {
        url: "https://api.github.com/repos/octocat/Hello-World/compare/main...sam/fix-1a2b",
        html_url: "https://github.com/octocat/Hello-World/compare/main...sam/fix-1a2b",
        status: "ahead",
        ahead_by: 1,
        behind_by: 0,
        total_commits: 1,
        commits: [
          {
            sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
            html_url: "https://github.com/octocat/Hello-World/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e",
            commit: {
              message: "Fix all the bugs",
              author: { name: "Monalisa Octocat", email: "support@github.com", date: "2011-04-14T16:00:49Z" },
              committer: { name: "Monalisa Octocat", email: "support@github.com", date: "2011-04-14T16:00:49Z" },
            },
          },
        ],
        files: [
          {
            sha: "bbcd538c8e72b8c175046e27cc8f907076331401",
            filename: "README.md",
            status: "modified",
            additions: 1,
            deletions: 0,
            changes: 1,
            patch: "@@ -1,2 +1,3 @@\n # Hello\n+hello",
          },
          { sha: null, filename: "logo.png", status: "added", additions: 0, deletions: 0, changes: 0 },
        ],
      }),
    );
    const comparison = await github({ apiUrl: API, fetch }).compare(
      TOKEN,
      "octocat/Hello-World",
      "main",
      "sam/fix-1a2b",
    );
    expect(requests[0]!.url.pathname).toBe("/repos/octocat/Hello-World/compare/main...sam/fix-1a2b");
    expect(comparison).toMatchObject({ status: "ahead", ahead_by: 1, behind_by: 0, total_commits: 1 });
    expect(comparison.files.map((f) => [f.filename, f.additions, f.deletions, f.patch !== undefined])).toEqual([
      ["README.md", 1, 0, true],
      ["logo.png", 0, 0, false],
    ]);
    // Later pages of a comparison carry no files at all.
    const later = fakeFetch(() =>
      json(200, { html_url: "h", status: "identical", ahead_by: 0, behind_by: 0, total_commits: 0, commits: [] }),
    );
    expect((await github({ apiUrl: API, fetch: later.fetch }).compare(TOKEN, "octocat/x", "a", "a")).files).toEqual([]);
    expect(() => github({ apiUrl: API, fetch }).compare(TOKEN, "no-slash", "a", "b")).toThrow(/owner\/name/);
  });

  const pull = (number: number, extra: Record<string, unknown> = {}) => ({
    id: 1000 + number,
    number,
    url: `https://api.github.com/repos/octocat/Hello-World/pulls/${number}`,
    html_url: `https://github.com/octocat/Hello-World/pull/${number}`,
    state: "open",
    title: "Amazing new feature",
    body: null,
    draft: false,
    user: owner,
    head: { label: "octocat:sam/fix-1a2b", ref: "sam/fix-1a2b", sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e" },
    base: { label: "octocat:main", ref: "main", sha: "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc" },
    created_at: "2011-01-26T19:01:12Z",
    updated_at: "2011-01-26T19:01:12Z",
    closed_at: null,
    merged_at: null,
    ...extra,
  });
  const counts = { merged: false, commits: 1, additions: 1, deletions: 0, changed_files: 1 };

  it("creates a pull request once, never retrying the POST, and carries GitHub's 422 reason in the message", async () => {
    const { fetch, requests } = fakeFetch(() => json(201, pull(7, counts)));
    const created = await github({ apiUrl: API, fetch }).createPull(TOKEN, "octocat/Hello-World", {
      title: "Amazing new feature",
      head: "sam/fix-1a2b",
      base: "main",
      body: "Please pull these awesome changes in!",
      draft: true,
    });
    expect(created).toMatchObject({ number: 7, state: "open", additions: 1, changed_files: 1 });
    expect(requests[0]).toMatchObject({
      method: "POST",
      body: {
        title: "Amazing new feature",
        head: "sam/fix-1a2b",
        base: "main",
        body: "Please pull these awesome changes in!",
        draft: true,
      },
    });
    expect(requests[0]!.url.pathname).toBe("/repos/octocat/Hello-World/pulls");

    const exists = fakeFetch(() =>
      json(422, {
        message: "Validation Failed",
        errors: [
          {
            resource: "PullRequest",
            code: "custom",
            message: "A pull request already exists for octocat:sam/fix-1a2b.",
          },
        ],
        documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        status: "422",
      }),
    );
    const error = await rejection(
      github({ apiUrl: API, fetch: exists.fetch, retry: fast }).createPull(TOKEN, "octocat/Hello-World", {
        title: "t",
        head: "sam/fix-1a2b",
        base: "main",
      }),
    );
    expect(error).toMatchObject({
      status: 422,
      message: "Validation Failed: A pull request already exists for octocat:sam/fix-1a2b.",
    });
    const invalidHead = fakeFetch(() =>
      json(422, {
        message: "Validation Failed",
        errors: [{ resource: "PullRequest", field: "head", code: "invalid" }],
      }),
    );
    expect(
      (
        await rejection(
          github({ apiUrl: API, fetch: invalidHead.fetch }).createPull(TOKEN, "octocat/x", {
            title: "t",
            head: "gone",
            base: "main",
          }),
        )
      ).message,
    ).toBe("Validation Failed: PullRequest head invalid");

    const down = fakeFetch(() => json(502, { message: "Server Error" }));
    await rejection(
      github({ apiUrl: API, fetch: down.fetch, retry: fast }).createPull(TOKEN, "octocat/x", {
        title: "t",
        head: "h",
        base: "main",
      }),
    );
    expect(down.requests).toHaveLength(1);
  });

  it("lists pull requests with head as owner:branch, gets one (null when missing) and updates it with PATCH", async () => {
    const list = linkedPages((page) => [pull(page)], 2);
    const pulls = await github({ apiUrl: API, fetch: list.fetch }).listPulls(TOKEN, "octocat/Hello-World", {
      state: "all",
      head: "sam/fix-1a2b",
      base: "main",
    });
    expect(pulls.map((p) => p.number)).toEqual([1, 2]);
    const query = list.requests[0]!.url.searchParams;
    expect([query.get("state"), query.get("head"), query.get("base")]).toEqual(["all", "octocat:sam/fix-1a2b", "main"]);

    const { fetch, requests } = fakeFetch((request) =>
      request.url.pathname.endsWith("/pulls/404")
        ? json(404, { message: "Not Found" })
        : json(200, pull(3, { ...counts, state: "closed", closed_at: "2011-01-27T19:01:12Z" })),
    );
    const client = github({ apiUrl: API, fetch });
    expect(await client.getPull(TOKEN, "octocat/Hello-World", 404)).toBeNull();
    const closed = await client.updatePull(TOKEN, "octocat/Hello-World", 3, { state: "closed", title: "Done" });
    expect(closed).toMatchObject({ number: 3, state: "closed" });
    expect(requests[1]).toMatchObject({ method: "PATCH", body: { state: "closed", title: "Done" } });
    expect(requests[1]!.url.pathname).toBe("/repos/octocat/Hello-World/pulls/3");

    const malformed = fakeFetch(() => json(200, { number: "seven" }));
    expect(
      await rejection(github({ apiUrl: API, fetch: malformed.fetch }).getPull(TOKEN, "octocat/x", 7)),
    ).toMatchObject({
      code: "unexpected_response",
    });
  });

  it("reads a branch's tip, keeping the slash of a task branch, and null for a branch that is not there", async () => {
    const { fetch, requests } = fakeFetch((request) =>
      request.url.pathname.endsWith("/gone")
        ? json(404, { message: "Branch not found" })
        : json(200, {
            name: "sam/fix-1a2b",
            commit: { sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e" },
            protected: false,
          }),
    );
    const client = github({ apiUrl: API, fetch });
    expect((await client.getBranch(TOKEN, "octocat/Hello-World", "sam/fix-1a2b"))?.commit.sha).toBe(
      "6dcb09b5b57875f334f61aebed695e2e4193db5e",
    );
    expect(requests[0]!.url.pathname).toBe("/repos/octocat/Hello-World/branches/sam/fix-1a2b");
    expect(await client.getBranch(TOKEN, "octocat/Hello-World", "gone")).toBeNull();
  });

  it("reports a network failure as status 0", async () => {
    const { fetch } = fakeFetch(() => networkDown());
    expect(await rejection(github({ apiUrl: API, fetch, retry: fast }).getUser(TOKEN))).toMatchObject({
      status: 0,
      provider: "github",
    });
  });
});

describe("createAppJwt", () => {
  const pair = (type: "pkcs1" | "pkcs8") =>
    generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type, format: "pem" },
    });
  const pkcs1 = pair("pkcs1");
  const pkcs8 = pair("pkcs8");
  const now = new Date("2026-01-01T12:00:00Z");
  const nowSeconds = Math.floor(now.getTime() / 1000);

  const cases: Array<[string, { publicKey: string; privateKey: string }, (pem: string) => string]> = [
    ["PKCS#1 PEM", pkcs1, (pem) => pem],
    ["PKCS#8 PEM", pkcs8, (pem) => pem],
    ["PKCS#1 base64", pkcs1, (pem) => Buffer.from(pem).toString("base64")],
    ["PKCS#8 base64", pkcs8, (pem) => Buffer.from(pem).toString("base64")],
    ["PKCS#1 with literal \\n", pkcs1, (pem) => pem.trim().replace(/\n/g, "\\n")],
  ];

  it.each(cases)("signs with a %s key, verifiable with the public key", async (_, keys, encode) => {
    expect(keys.privateKey).toContain(keys === pkcs1 ? "BEGIN RSA PRIVATE KEY" : "BEGIN PRIVATE KEY");
    const jwt = await createAppJwt({ appId: "123456", privateKey: encode(keys.privateKey), now });
    expect(decodeProtectedHeader(jwt).alg).toBe("RS256");
    const { payload } = await jwtVerify(jwt, await importSPKI(keys.publicKey, "RS256"), {
      algorithms: ["RS256"],
      issuer: "123456",
      currentDate: new Date(now.getTime() + 1000),
    });
    expect(payload.iat).toBe(nowSeconds - 60);
    expect(payload.exp).toBe(nowSeconds + 540);
  });

  it("rejects a signature from another key", async () => {
    const jwt = await createAppJwt({ appId: 1, privateKey: pkcs1.privateKey, now });
    await expect(jwtVerify(jwt, await importSPKI(pkcs8.publicKey, "RS256"), { currentDate: now })).rejects.toThrow();
  });

  it("explains a value that is not a usable private key", async () => {
    await expect(createAppJwt({ appId: 1, privateKey: "not a key" })).rejects.toThrow(/not a PEM private key/);
    await expect(createAppJwt({ appId: 1, privateKey: pkcs1.publicKey })).rejects.toThrow(/PUBLIC KEY/);
  });
});
