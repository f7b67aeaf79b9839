// GitHub: the web host (OAuth web flow, App installation page, git smart HTTP) under /github and the
// REST API subset under /github-api.
import { createHmac, createPublicKey, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { errors as joseErrors, jwtVerify, decodeJwt, decodeProtectedHeader } from "jose";
import type { CloudContext, Request } from "../context";
import { escapeHtml, htmlPage, intParam, isoNow, parseCookies, sendJson, sendText } from "../http";
import { createFixtureRepo, listBranches, repoSizeKb, serveGit } from "../git";
import { WindowLimiter, type Budget } from "../rate-limit";

export interface GitHubUser {
  id: number;
  login: string;
  name: string;
  email: string;
  emailVerified: boolean;
  created_at: string;
}

export interface GitHubRepo {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  description: string;
  bare: string;
  created_at: string;
}

export interface Installation {
  id: number;
  account: string;
  selection: "all" | "selected";
  repoIds: number[];
  created_at: string;
  updated_at: string;
  suspended_at: string | null;
  suspended_by: string | null;
}

interface InstallationToken {
  id: number;
  installationId: number;
  expiresAt: number;
  /** Narrowed repositories when the token was asked for specific ones. */
  repoIds: number[] | null;
  permissions: Record<string, string>;
}

interface UserToken {
  login: string;
  expiresAt: number;
  refreshToken: string;
}

export interface Delivery {
  id: string;
  event: string;
  action: string;
  installation_id: number;
  url: string;
  status: number | null;
  error: string | null;
  delivered_at: string;
}

type Principal =
  | { kind: "anonymous" }
  | { kind: "user"; user: GitHubUser }
  | { kind: "installation"; installation: Installation; token: InstallationToken }
  | { kind: "app" };

class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl = "https://docs.github.com/rest",
  ) {
    super(message);
  }
}

const DOCS = "https://docs.github.com/rest";
const APP_PERMISSIONS = { contents: "write", metadata: "read" };
const SESSION_COOKIE = "local_github_login";
const CODE_LIFETIME_MS = 10 * 60_000;
const USER_TOKEN_LIFETIME_S = 28_800;
const REFRESH_TOKEN_LIFETIME_S = 15_811_200;
const INSTALLATION_TOKEN_LIFETIME_MS = 60 * 60_000;

function randomToken(prefix: string, length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(length);
  let out = prefix;
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

export class GitHub {
  readonly users = new Map<string, GitHubUser>();
  readonly repos: GitHubRepo[] = [];
  readonly installations = new Map<number, Installation>();
  readonly installationTokens = new Map<string, InstallationToken>();
  readonly deliveries: Delivery[] = [];
  readonly limiter = new WindowLimiter(5000, 3600);
  readonly anonymousLimiter = new WindowLimiter(60, 3600);
  private readonly codes = new Map<string, { login: string; redirectUri: string | null; expiresAt: number }>();
  private readonly userTokens = new Map<string, UserToken>();
  private readonly refreshTokens = new Map<string, { login: string; expiresAt: number; accessToken: string }>();
  private readonly appKey: KeyObject;
  private nextUserId = 1003;
  private nextInstallationId = 40_000_001;
  private nextTokenId = 1;
  readonly gitRoot: string;

  constructor(private readonly cloud: CloudContext) {
    this.appKey = createPublicKey(cloud.options.githubAppPrivateKey);
    this.gitRoot = join(cloud.dir, "git");
    this.seed();
  }

  private seed(): void {
    const created = "2024-01-15T10:00:00Z";
    this.addUser({ id: 1001, login: this.cloud.options.githubLogin, name: "SAM Developer", email: `${this.cloud.options.githubLogin}@example.test`, emailVerified: true, created_at: created });
    if (this.cloud.options.githubLogin !== "sam-other") {
      this.addUser({ id: 1002, login: "sam-other", name: "Other Developer", email: "sam-other@example.test", emailVerified: true, created_at: created });
    }
    const dev = this.cloud.options.githubLogin;
    const fixtures: Array<[string, string, boolean, string]> = [
      [dev, "hello-world", false, "A public fixture repository of the local cloud."],
      [dev, "private-notes", true, "A private fixture repository of the local cloud."],
      ["sam-other", "other-repo", true, "A private repository of another user."],
    ];
    let id = 700_001;
    for (const [owner, name, isPrivate, description] of fixtures) {
      const bare = createFixtureRepo(this.gitRoot, owner, name, description);
      this.repos.push({ id: id++, owner, name, private: isPrivate, description, bare, created_at: created });
    }
  }

  reset(): void {
    this.installations.clear();
    this.installationTokens.clear();
    this.deliveries.length = 0;
    this.codes.clear();
    this.userTokens.clear();
    this.refreshTokens.clear();
    this.limiter.reset();
    this.anonymousLimiter.reset();
  }

  addUser(user: GitHubUser): GitHubUser {
    this.users.set(user.login.toLowerCase(), user);
    return user;
  }

  createUser(input: { login?: unknown; name?: unknown; email?: unknown; email_verified?: unknown }): GitHubUser {
    if (typeof input.login !== "string" || !/^[a-zA-Z0-9](-?[a-zA-Z0-9]){0,38}$/.test(input.login)) throw new Error("login must be a GitHub-style login");
    if (this.users.has(input.login.toLowerCase())) throw new Error(`user ${input.login} exists`);
    return this.addUser({
      id: this.nextUserId++,
      login: input.login,
      name: typeof input.name === "string" ? input.name : input.login,
      email: typeof input.email === "string" ? input.email : `${input.login}@example.test`,
      emailVerified: input.email_verified !== false,
      created_at: isoNow(),
    });
  }

  private get web(): string {
    return `${this.cloud.url}/github`;
  }

  private get api(): string {
    return `${this.cloud.url}/github-api`;
  }

  // JSON shapes ------------------------------------------------------------------------------------------

  simpleUser(user: GitHubUser) {
    const api = `${this.api}/users/${user.login}`;
    return {
      login: user.login,
      id: user.id,
      node_id: Buffer.from(`04:User${user.id}`).toString("base64"),
      avatar_url: `${this.web}/avatars/${user.login}.png`,
      gravatar_id: "",
      url: api,
      html_url: `${this.web}/${user.login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: "User",
      user_view_type: "public",
      site_admin: false,
    };
  }

  privateUser(user: GitHubUser) {
    const owned = this.repos.filter((r) => r.owner === user.login);
    return {
      ...this.simpleUser(user),
      user_view_type: "private",
      name: user.name,
      company: null,
      blog: "",
      location: null,
      email: user.email,
      notification_email: user.email,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: owned.filter((r) => !r.private).length,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: user.created_at,
      updated_at: user.created_at,
      private_gists: 0,
      total_private_repos: owned.filter((r) => r.private).length,
      owned_private_repos: owned.filter((r) => r.private).length,
      disk_usage: 0,
      collaborators: 0,
      two_factor_authentication: false,
      plan: { name: "free", space: 976562499, private_repos: 10000, collaborators: 0 },
    };
  }

  private userOf(login: string): GitHubUser {
    return this.users.get(login.toLowerCase())!;
  }

  repoJson(repo: GitHubRepo, permissions?: { admin: boolean; push: boolean; pull: boolean }) {
    const full = `${repo.owner}/${repo.name}`;
    const api = `${this.api}/repos/${full}`;
    const branches = listBranches(repo.bare);
    const pushed = isoNow();
    const count = 0;
    return {
      id: repo.id,
      node_id: Buffer.from(`010:Repository${repo.id}`).toString("base64"),
      name: repo.name,
      full_name: full,
      private: repo.private,
      owner: this.simpleUser(this.userOf(repo.owner)),
      html_url: `${this.web}/${full}`,
      description: repo.description,
      fork: false,
      url: api,
      archive_url: `${api}/{archive_format}{/ref}`,
      assignees_url: `${api}/assignees{/user}`,
      blobs_url: `${api}/git/blobs{/sha}`,
      branches_url: `${api}/branches{/branch}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      comments_url: `${api}/comments{/number}`,
      commits_url: `${api}/commits{/sha}`,
      compare_url: `${api}/compare/{base}...{head}`,
      contents_url: `${api}/contents/{+path}`,
      contributors_url: `${api}/contributors`,
      deployments_url: `${api}/deployments`,
      downloads_url: `${api}/downloads`,
      events_url: `${api}/events`,
      forks_url: `${api}/forks`,
      git_commits_url: `${api}/git/commits{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_url: `git://127.0.0.1/${full}.git`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      issue_events_url: `${api}/issues/events{/number}`,
      issues_url: `${api}/issues{/number}`,
      keys_url: `${api}/keys{/key_id}`,
      labels_url: `${api}/labels{/name}`,
      languages_url: `${api}/languages`,
      merges_url: `${api}/merges`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      pulls_url: `${api}/pulls{/number}`,
      releases_url: `${api}/releases{/id}`,
      ssh_url: `git@127.0.0.1:${full}.git`,
      stargazers_url: `${api}/stargazers`,
      statuses_url: `${api}/statuses/{sha}`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      tags_url: `${api}/tags`,
      teams_url: `${api}/teams`,
      trees_url: `${api}/git/trees{/sha}`,
      clone_url: `${this.web}/${full}.git`,
      mirror_url: null,
      hooks_url: `${api}/hooks`,
      svn_url: `${this.web}/${full}`,
      homepage: null,
      language: "Markdown",
      forks_count: count,
      stargazers_count: count,
      watchers_count: count,
      size: repoSizeKb(repo.bare),
      default_branch: branches.some((b) => b.name === "main") ? "main" : (branches[0]?.name ?? "main"),
      open_issues_count: 0,
      is_template: false,
      topics: [],
      has_issues: true,
      has_projects: true,
      has_wiki: true,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      visibility: repo.private ? "private" : "public",
      pushed_at: pushed,
      created_at: repo.created_at,
      updated_at: repo.created_at,
      ...(permissions ? { permissions } : {}),
      allow_forking: true,
      web_commit_signoff_required: false,
      license: null,
      forks: count,
      open_issues: 0,
      watchers: count,
    };
  }

  fullRepoJson(repo: GitHubRepo, permissions?: { admin: boolean; push: boolean; pull: boolean }) {
    return { ...this.repoJson(repo, permissions), network_count: 0, subscribers_count: 0, temp_clone_token: null };
  }

  installationJson(installation: Installation) {
    return {
      id: installation.id,
      client_id: this.cloud.options.githubClientId,
      account: this.simpleUser(this.userOf(installation.account)),
      repository_selection: installation.selection,
      access_tokens_url: `${this.api}/app/installations/${installation.id}/access_tokens`,
      repositories_url: `${this.api}/installation/repositories`,
      html_url: `${this.web}/settings/installations/${installation.id}`,
      app_id: Number(this.cloud.options.githubAppId),
      app_slug: this.cloud.options.githubAppSlug,
      target_id: this.userOf(installation.account).id,
      target_type: "User",
      permissions: APP_PERMISSIONS,
      events: [],
      created_at: installation.created_at,
      updated_at: installation.updated_at,
      single_file_name: null,
      has_multiple_single_files: false,
      single_file_paths: [],
      suspended_by: installation.suspended_by ? this.simpleUser(this.userOf(installation.suspended_by)) : null,
      suspended_at: installation.suspended_at,
    };
  }

  /** Repositories an installation grants: all of the account's, or the selected ones. */
  installationRepos(installation: Installation): GitHubRepo[] {
    return this.repos.filter((r) => r.owner === installation.account && (installation.selection === "all" || installation.repoIds.includes(r.id)));
  }

  /** A valid, unexpired installation token (from git Basic auth or a REST header). */
  resolveInstallationToken(token: string): { installation: Installation; token: InstallationToken } | undefined {
    const entry = this.installationTokens.get(token);
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    const installation = this.installations.get(entry.installationId);
    if (!installation || installation.suspended_at) return undefined;
    return { installation, token: entry };
  }

  private tokenRepos(installation: Installation, token: InstallationToken): GitHubRepo[] {
    const granted = this.installationRepos(installation);
    return token.repoIds ? granted.filter((r) => token.repoIds!.includes(r.id)) : granted;
  }

  private resolveUserToken(token: string): GitHubUser | undefined {
    const entry = this.userTokens.get(token);
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    return this.users.get(entry.login.toLowerCase());
  }

  // Web host -------------------------------------------------------------------------------------------

  private sessionUser(req: IncomingMessage): GitHubUser {
    const login = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    return (login && this.users.get(login.toLowerCase())) || this.userOf(this.cloud.options.githubLogin);
  }

  private async form(r: Request): Promise<URLSearchParams> {
    const raw = (await r.body()).toString("utf8");
    const type = r.req.headers["content-type"] ?? "";
    const params = new URLSearchParams(r.url.search);
    if (type.includes("application/json") && raw.trim()) {
      try {
        const json = JSON.parse(raw) as Record<string, unknown>;
        for (const [key, value] of Object.entries(json)) if (value !== undefined && value !== null) params.set(key, String(value));
      } catch {}
    } else {
      new URLSearchParams(raw).forEach((value, key) => params.append(key, value));
    }
    return params;
  }

  async handleWeb(r: Request): Promise<void> {
    const { res, method } = r;
    const path = r.path;
    const slug = this.cloud.options.githubAppSlug;
    if (path === "/session" && method === "GET") {
      const login = r.url.searchParams.get("login") ?? "";
      const user = this.users.get(login.toLowerCase());
      if (!user) return sendText(res, 404, htmlPage("Not Found", `<h1>No such user: ${escapeHtml(login)}</h1>`), "text/html; charset=utf-8");
      const cookie = `${SESSION_COOKIE}=${encodeURIComponent(user.login)}; Path=/github; HttpOnly; SameSite=Lax`;
      const returnTo = r.url.searchParams.get("return_to");
      if (returnTo && /^https?:\/\//.test(returnTo)) {
        res.writeHead(302, { Location: returnTo, "Set-Cookie": cookie });
        res.end();
        return;
      }
      return sendText(res, 200, htmlPage("Signed in", `<h1>Signed in to the local GitHub as ${escapeHtml(user.login)}</h1>`), "text/html; charset=utf-8", { "Set-Cookie": cookie });
    }
    if (path === "/login/oauth/authorize" && method === "GET") return this.authorize(r);
    if (path === "/login/oauth/access_token" && method === "POST") return this.accessToken(r);
    if (path === `/apps/${slug}` && method === "GET") {
      res.writeHead(302, { Location: `${this.web}/apps/${slug}/installations/new` });
      res.end();
      return;
    }
    if (path === `/apps/${slug}/installations/new`) {
      if (method === "GET") return this.installPage(r);
      if (method === "POST") return this.install(r);
    }
    const gitMatch = /^\/([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?(\/(?:info\/refs|git-upload-pack|git-receive-pack|HEAD))$/.exec(path);
    if (gitMatch) return this.git(r, gitMatch[1]!, gitMatch[2]!, gitMatch[3]!);
    const repoPage = /^\/([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(path);
    if (repoPage && method === "GET") {
      const repo = this.findRepo(repoPage[1]!, repoPage[2]!);
      if (repo && !repo.private) return sendText(res, 200, htmlPage(`${repo.owner}/${repo.name}`, `<h1>${escapeHtml(repo.owner)}/${escapeHtml(repo.name)}</h1><p>${escapeHtml(repo.description)}</p>`), "text/html; charset=utf-8");
    }
    sendText(res, 404, htmlPage("Page not found · GitHub", "<h1>404</h1><p>This is not the web page you are looking for.</p>"), "text/html; charset=utf-8");
  }

  /** GitHub App callback URLs: anything on the app's origin (registered callback) or a loopback address. */
  private redirectAllowed(uri: string): boolean {
    try {
      const target = new URL(uri);
      const app = new URL(this.cloud.options.appUrl);
      if (target.origin === app.origin) return true;
      return target.protocol === "http:" && ["127.0.0.1", "[::1]"].includes(target.hostname);
    } catch {
      return false;
    }
  }

  private authorize(r: Request): void {
    const q = r.url.searchParams;
    const clientId = q.get("client_id");
    if (clientId !== this.cloud.options.githubClientId) {
      return sendText(r.res, 404, htmlPage("Page not found · GitHub", "<h1>404</h1><p>The OAuth application (client_id) is unknown.</p>"), "text/html; charset=utf-8");
    }
    const redirectUri = q.get("redirect_uri") ?? `${this.cloud.options.appUrl}/auth/github/callback`;
    if (!this.redirectAllowed(redirectUri)) {
      return sendText(
        r.res,
        400,
        htmlPage("Redirect URI mismatch", `<h1>The redirect_uri is not associated with this application.</h1><p>${escapeHtml(redirectUri)} is not under ${escapeHtml(this.cloud.options.appUrl)}.</p>`),
        "text/html; charset=utf-8",
      );
    }
    const user = this.sessionUser(r.req);
    const code = randomBytes(10).toString("hex");
    this.codes.set(code, { login: user.login, redirectUri: q.get("redirect_uri"), expiresAt: Date.now() + CODE_LIFETIME_MS });
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    const state = q.get("state");
    if (state !== null) target.searchParams.set("state", state);
    r.res.writeHead(302, { Location: target.toString() });
    r.res.end();
  }

  private async accessToken(r: Request): Promise<void> {
    const params = await this.form(r);
    const accept = r.req.headers.accept ?? "";
    const answer = (body: Record<string, string | number>) => {
      if (accept.includes("application/json")) return sendJson(r.res, 200, body);
      const encoded = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
      sendText(r.res, 200, encoded, "application/x-www-form-urlencoded; charset=utf-8");
    };
    const error = (code: string, description: string, uri: string) =>
      answer({ error: code, error_description: description, error_uri: `https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#${uri}` });
    // Client credentials come in the body or, per RFC 6749 §2.3.1, as HTTP Basic auth (GitHub accepts both).
    const basic = /^Basic\s+(\S+)$/i.exec(r.req.headers.authorization ?? "")?.[1];
    const [basicId, basicSecret] = basic ? Buffer.from(basic, "base64").toString("utf8").split(":", 2).map(decodeURIComponent) : [];
    const clientId = params.get("client_id") ?? basicId ?? null;
    const secret = params.get("client_secret") ?? basicSecret ?? null;
    if (clientId !== this.cloud.options.githubClientId || secret !== this.cloud.options.githubClientSecret) {
      return error("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "incorrect-client-credentials");
    }
    let login: string;
    if (params.get("grant_type") === "refresh_token") {
      const refresh = this.refreshTokens.get(params.get("refresh_token") ?? "");
      if (!refresh || refresh.expiresAt <= Date.now()) return error("bad_refresh_token", "The refresh token passed is incorrect or expired.", "bad-refresh-token");
      this.refreshTokens.delete(params.get("refresh_token")!);
      this.userTokens.delete(refresh.accessToken);
      login = refresh.login;
    } else {
      const code = params.get("code") ?? "";
      const entry = this.codes.get(code);
      if (!entry || entry.expiresAt <= Date.now()) {
        this.codes.delete(code);
        return error("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code");
      }
      const redirectUri = params.get("redirect_uri");
      if (redirectUri && entry.redirectUri && redirectUri !== entry.redirectUri) {
        return error("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.", "redirect-uri-mismatch");
      }
      this.codes.delete(code);
      login = entry.login;
      const user = this.users.get(login.toLowerCase());
      if (user && !user.emailVerified) return error("unverified_user_email", "The user must have a verified primary email.", "unverified-user-email");
    }
    const accessToken = randomToken("ghu_", 36);
    const refreshToken = randomToken("ghr_", 76);
    this.userTokens.set(accessToken, { login, expiresAt: Date.now() + USER_TOKEN_LIFETIME_S * 1000, refreshToken });
    this.refreshTokens.set(refreshToken, { login, expiresAt: Date.now() + REFRESH_TOKEN_LIFETIME_S * 1000, accessToken });
    answer({ access_token: accessToken, expires_in: USER_TOKEN_LIFETIME_S, refresh_token: refreshToken, refresh_token_expires_in: REFRESH_TOKEN_LIFETIME_S, token_type: "bearer", scope: "" });
  }

  private installPage(r: Request): void {
    const user = this.sessionUser(r.req);
    const slug = this.cloud.options.githubAppSlug;
    const repos = this.repos.filter((repo) => repo.owner === user.login);
    const existing = [...this.installations.values()].find((i) => i.account === user.login);
    const state = r.url.searchParams.get("state");
    const checkboxes = repos
      .map((repo) => {
        const checked = existing?.selection === "selected" && existing.repoIds.includes(repo.id) ? " checked" : "";
        return `<label><input type="checkbox" name="repository_ids" value="${repo.id}"${checked}> ${escapeHtml(repo.owner)}/${escapeHtml(repo.name)}${repo.private ? " (private)" : ""}</label>`;
      })
      .join("\n");
    const selected = existing?.selection === "selected";
    const body = `<h1>Install ${escapeHtml(slug)}</h1>
<p>Install on your personal account <strong>${escapeHtml(user.login)}</strong>${existing ? " (already installed; submitting updates it)" : ""}.</p>
<form method="post">
${state !== null ? `<input type="hidden" name="state" value="${escapeHtml(state)}">` : ""}
<fieldset><legend>Repository access</legend>
<label><input type="radio" name="repository_selection" value="all"${selected ? "" : " checked"}> All repositories</label>
<label><input type="radio" name="repository_selection" value="selected"${selected ? " checked" : ""}> Only select repositories</label>
${checkboxes}
</fieldset>
<button type="submit">Install</button>
</form>`;
    sendText(r.res, 200, htmlPage(`Install ${slug}`, body), "text/html; charset=utf-8");
  }

  private async install(r: Request): Promise<void> {
    const user = this.sessionUser(r.req);
    const form = new URLSearchParams((await r.body()).toString("utf8"));
    const selection = form.get("repository_selection") === "selected" ? "selected" : "all";
    const own = this.repos.filter((repo) => repo.owner === user.login).map((repo) => repo.id);
    const repoIds = selection === "selected" ? form.getAll("repository_ids").map(Number).filter((id) => own.includes(id)) : [];
    if (selection === "selected" && repoIds.length === 0) {
      return sendText(r.res, 422, htmlPage("Choose repositories", "<h1>Select at least one repository.</h1>"), "text/html; charset=utf-8");
    }
    let installation = [...this.installations.values()].find((i) => i.account === user.login);
    let setupAction = "install";
    if (installation) {
      const before = this.installationRepos(installation);
      installation.selection = selection;
      installation.repoIds = repoIds;
      installation.updated_at = isoNow();
      const after = this.installationRepos(installation);
      const added = after.filter((repo) => !before.includes(repo));
      const removed = before.filter((repo) => !after.includes(repo));
      setupAction = "update";
      if (added.length || removed.length) await this.deliverRepositoriesEvent(installation, added.length ? "added" : "removed", added.length ? added : removed, added.length ? removed : []);
    } else {
      const now = isoNow();
      installation = { id: this.nextInstallationId++, account: user.login, selection, repoIds, created_at: now, updated_at: now, suspended_at: null, suspended_by: null };
      this.installations.set(installation.id, installation);
      await this.deliverInstallationEvent(installation, "created");
    }
    const target = new URL(`${this.cloud.options.appUrl}/api/github/callback`);
    target.searchParams.set("installation_id", String(installation.id));
    target.searchParams.set("setup_action", setupAction);
    const state = form.get("state");
    if (state) target.searchParams.set("state", state);
    r.res.writeHead(302, { Location: target.toString() });
    r.res.end();
  }

  // Webhooks ----------------------------------------------------------------------------------------------

  private webhookRepos(repos: GitHubRepo[]) {
    return repos.map((repo) => ({ id: repo.id, node_id: Buffer.from(`010:Repository${repo.id}`).toString("base64"), name: repo.name, full_name: `${repo.owner}/${repo.name}`, private: repo.private }));
  }

  installationPayload(installation: Installation, action: string) {
    return {
      action,
      installation: this.installationJson(installation),
      repositories: this.webhookRepos(this.installationRepos(installation)),
      requester: null,
      sender: this.simpleUser(this.userOf(installation.account)),
    };
  }

  async deliverInstallationEvent(installation: Installation, action: "created" | "deleted" | "suspend" | "unsuspend" | "new_permissions_accepted"): Promise<Delivery> {
    return this.deliver("installation", action, installation.id, this.installationPayload(installation, action));
  }

  async deliverRepositoriesEvent(installation: Installation, action: "added" | "removed", changed: GitHubRepo[], others: GitHubRepo[] = []): Promise<Delivery> {
    const payload = {
      action,
      installation: this.installationJson(installation),
      repository_selection: installation.selection,
      repositories_added: this.webhookRepos(action === "added" ? changed : others),
      repositories_removed: this.webhookRepos(action === "removed" ? changed : others),
      requester: null,
      sender: this.simpleUser(this.userOf(installation.account)),
    };
    return this.deliver("installation_repositories", action, installation.id, payload);
  }

  /** POSTs a signed webhook to the app, as GitHub does (10 s timeout), and records the outcome. */
  async deliver(event: string, action: string, installationId: number, payload: object): Promise<Delivery> {
    const body = JSON.stringify(payload);
    const signature = createHmac("sha256", this.cloud.options.githubWebhookSecret).update(body).digest("hex");
    const delivery: Delivery = { id: randomUUID(), event, action, installation_id: installationId, url: `${this.cloud.options.appUrl}/api/github/webhook`, status: null, error: null, delivered_at: isoNow() };
    this.deliveries.push(delivery);
    try {
      const response = await fetch(delivery.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "GitHub-Hookshot/local",
          "X-GitHub-Event": event,
          "X-GitHub-Delivery": delivery.id,
          "X-GitHub-Hook-ID": "1",
          "X-GitHub-Hook-Installation-Target-ID": this.cloud.options.githubAppId,
          "X-GitHub-Hook-Installation-Target-Type": "integration",
          "X-Hub-Signature-256": `sha256=${signature}`,
          "X-Hub-Signature": `sha1=${createHmac("sha1", this.cloud.options.githubWebhookSecret).update(body).digest("hex")}`,
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      delivery.status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      delivery.error = (error as Error).message;
      this.cloud.options.log(`github: webhook ${event}.${action} to ${delivery.url} failed: ${delivery.error}`);
    }
    return delivery;
  }

  // Git smart HTTP ------------------------------------------------------------------------------------------

  findRepo(owner: string, name: string): GitHubRepo | undefined {
    return this.repos.find((r) => r.owner.toLowerCase() === owner.toLowerCase() && r.name.toLowerCase() === name.toLowerCase());
  }

  private git(r: Request, owner: string, name: string, rest: string): void {
    const repo = this.findRepo(owner, name);
    const push = rest === "/git-receive-pack" || r.url.searchParams.get("service") === "git-receive-pack";
    const challenge = () => {
      r.res.writeHead(401, { "WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain" });
      r.res.end("Invalid username or token. Password authentication is not supported for Git operations.\n");
    };
    const basic = /^Basic\s+(\S+)$/i.exec(r.req.headers.authorization ?? "")?.[1];
    let allowed = false;
    let remoteUser: string | null = null;
    if (basic) {
      const decoded = Buffer.from(basic, "base64").toString("utf8");
      const password = decoded.slice(decoded.indexOf(":") + 1);
      const installation = this.resolveInstallationToken(password);
      const user = this.resolveUserToken(password);
      if (!installation && !user) return challenge();
      if (repo && installation) allowed = this.tokenRepos(installation.installation, installation.token).includes(repo);
      if (repo && user) allowed = repo.owner === user.login;
      remoteUser = installation ? `${this.cloud.options.githubAppSlug}[bot]` : user!.login;
    }
    if (!repo) {
      if (!basic) return challenge();
      return sendText(r.res, 404, "Repository not found.\n");
    }
    if (!allowed && (repo.private || push)) {
      if (!basic) return challenge();
      if (repo.private) return sendText(r.res, 404, "Repository not found.\n");
      return sendText(r.res, 403, `Permission to ${repo.owner}/${repo.name}.git denied.\n`);
    }
    serveGit(r.req, r.res, this.gitRoot, `/${repo.owner}/${repo.name}.git${rest}`, r.url.search.slice(1), remoteUser ?? (push ? "x-access-token" : null));
  }

  // REST ----------------------------------------------------------------------------------------------------

  private async principal(req: IncomingMessage): Promise<Principal> {
    const header = req.headers.authorization;
    if (!header) return { kind: "anonymous" };
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    if (!match) throw new GitHubError(401, "Bad credentials");
    const token = match[1]!;
    if (token.split(".").length === 3 && token.startsWith("eyJ")) {
      await this.verifyAppJwt(token);
      return { kind: "app" };
    }
    const installation = this.resolveInstallationToken(token);
    if (installation) return { kind: "installation", ...installation };
    const user = this.resolveUserToken(token);
    if (user) return { kind: "user", user };
    throw new GitHubError(401, "Bad credentials");
  }

  private async verifyAppJwt(token: string): Promise<void> {
    const undecodable = new GitHubError(401, "A JSON web token could not be decoded");
    let claims: ReturnType<typeof decodeJwt>;
    try {
      if (decodeProtectedHeader(token).alg !== "RS256") throw undecodable;
      claims = decodeJwt(token);
    } catch {
      throw undecodable;
    }
    const now = Math.floor(Date.now() / 1000);
    const iss = claims.iss as unknown;
    const issuer = typeof iss === "number" ? String(iss) : iss;
    if (typeof iss !== "number" && !(typeof iss === "string" && (/^\d+$/.test(iss) || iss === this.cloud.options.githubClientId))) {
      throw new GitHubError(401, "'Issuer' claim ('iss') must be an Integer");
    }
    if (issuer !== this.cloud.options.githubAppId && issuer !== this.cloud.options.githubClientId) throw new GitHubError(401, "Integration not found", "https://docs.github.com/rest");
    if (typeof claims.iat !== "number" || claims.iat > now + 60) throw new GitHubError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.");
    if (typeof claims.exp !== "number" || claims.exp <= now) throw new GitHubError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.");
    if (claims.exp - claims.iat > 600 || claims.exp > now + 600 + 60) throw new GitHubError(401, "'Expiration time' claim ('exp') is too far in the future.");
    try {
      await jwtVerify(token, this.appKey, { algorithms: ["RS256"], clockTolerance: 60 });
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw undecodable;
      throw error;
    }
  }

  private budget(principal: Principal, req: IncomingMessage): Budget {
    switch (principal.kind) {
      case "user":
        return this.limiter.take(`user:${principal.user.id}`);
      case "installation":
        return this.limiter.take(`installation:${principal.installation.id}`);
      case "app":
        return this.limiter.take("app");
      default:
        return this.anonymousLimiter.take(`ip:${req.socket.remoteAddress}`);
    }
  }

  async handleApi(r: Request): Promise<void> {
    const common: Record<string, string> = {
      "X-GitHub-Media-Type": "github.v3; format=json",
      "X-GitHub-Request-Id": randomBytes(8).toString("hex").toUpperCase(),
      "X-GitHub-Api-Version-Selected": "2022-11-28",
    };
    let headers = common;
    try {
      const principal = await this.principal(r.req).catch((error) => {
        // Bad credentials still count against the anonymous budget, like GitHub.
        const budget = this.anonymousLimiter.take(`ip:${r.req.socket.remoteAddress}`);
        headers = { ...common, ...this.rateHeaders(budget) };
        throw error;
      });
      const budget = this.budget(principal, r.req);
      headers = { ...common, ...this.rateHeaders(budget) };
      if (!budget.allowed) {
        const who = principal.kind === "user" ? `user ID ${principal.user.id}` : principal.kind === "installation" ? `installation ID ${principal.installation.id}` : r.req.socket.remoteAddress;
        throw new GitHubError(403, `API rate limit exceeded for ${who}.`, "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting");
      }
      const result = await this.routeApi(r, principal);
      sendJson(r.res, result.status ?? 200, result.body, { ...headers, ...(result.headers ?? {}) });
    } catch (error) {
      if (error instanceof GitHubError) {
        sendJson(r.res, error.status, { message: error.message, documentation_url: error.documentationUrl, status: String(error.status) }, headers);
      } else {
        this.cloud.options.log(`github: ${(error as Error).stack ?? error}`);
        sendJson(r.res, 500, { message: "Server Error" }, headers);
      }
    }
  }

  private rateHeaders(budget: Budget): Record<string, string> {
    return {
      "X-RateLimit-Limit": String(budget.limit),
      "X-RateLimit-Remaining": String(budget.remaining),
      "X-RateLimit-Reset": String(budget.reset),
      "X-RateLimit-Used": String(budget.used),
      "X-RateLimit-Resource": "core",
    };
  }

  /** GitHub pagination: per_page (default 30, max 100), page, and a Link header with rel next/last/prev/first. */
  private paginate<T>(r: Request, items: T[]) {
    const page = Math.max(1, intParam(r.url, "page") || 1);
    const perPage = Math.min(100, Math.max(1, intParam(r.url, "per_page") || 30));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string) => {
      const target = new URL(`${this.api}${r.path}`);
      r.url.searchParams.forEach((value, key) => target.searchParams.append(key, value));
      target.searchParams.set("per_page", String(perPage));
      target.searchParams.set("page", String(p));
      return `<${target.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, "prev"));
    if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
    if (page > 1) links.push(link(1, "first"));
    const headers: Record<string, string> = links.length ? { Link: links.join(", ") } : {};
    return { items: items.slice((page - 1) * perPage, page * perPage), headers };
  }

  private requireUser(principal: Principal, docs: string): GitHubUser {
    if (principal.kind === "user") return principal.user;
    if (principal.kind === "anonymous") throw new GitHubError(401, "Requires authentication", docs);
    throw new GitHubError(403, "Resource not accessible by integration", docs);
  }

  private requireApp(principal: Principal, docs: string): void {
    if (principal.kind === "app") return;
    throw new GitHubError(401, "A JSON web token could not be decoded", docs);
  }

  private userCanSeeInstallation(user: GitHubUser, installation: Installation): boolean {
    return installation.account === user.login;
  }

  private permissionsFor(principal: Principal, repo: GitHubRepo) {
    if (principal.kind === "user" && principal.user.login === repo.owner) return { admin: true, maintain: true, push: true, triage: true, pull: true };
    if (principal.kind === "installation") return undefined;
    return { admin: false, maintain: false, push: false, triage: false, pull: true };
  }

  private repoVisible(principal: Principal, repo: GitHubRepo): boolean {
    if (principal.kind === "installation") return this.tokenRepos(principal.installation, principal.token).includes(repo);
    if (!repo.private) return true;
    return principal.kind === "user" && principal.user.login === repo.owner;
  }

  private async routeApi(r: Request, principal: Principal): Promise<{ status?: number; body: unknown; headers?: Record<string, string> }> {
    const { method, path } = r;
    const notFound = (docs = DOCS) => new GitHubError(404, "Not Found", docs);
    const get = method === "GET";
    if (path === "/user" && get) return { body: this.privateUser(this.requireUser(principal, "https://docs.github.com/rest/users/users#get-the-authenticated-user")) };
    if (path === "/user/emails" && get) {
      const user = this.requireUser(principal, "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user");
      const page = this.paginate(r, [{ email: user.email, primary: true, verified: user.emailVerified, visibility: "private" }, { email: `${user.id}+${user.login}@users.noreply.example.test`, primary: false, verified: true, visibility: null }]);
      return { body: page.items, headers: page.headers };
    }
    if (path === "/user/installations" && get) {
      const user = this.requireUser(principal, "https://docs.github.com/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token");
      const all = [...this.installations.values()].filter((i) => this.userCanSeeInstallation(user, i)).map((i) => this.installationJson(i));
      const page = this.paginate(r, all);
      return { body: { total_count: all.length, installations: page.items }, headers: page.headers };
    }
    let m = /^\/user\/installations\/(\d+)\/repositories$/.exec(path);
    if (m && get) {
      const docs = "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-user-access-token";
      const user = this.requireUser(principal, docs);
      const installation = this.installations.get(Number(m[1]));
      if (!installation || !this.userCanSeeInstallation(user, installation)) throw notFound(docs);
      const repos = this.installationRepos(installation).map((repo) => this.repoJson(repo, this.permissionsFor(principal, repo)));
      const page = this.paginate(r, repos);
      return { body: { total_count: repos.length, repository_selection: installation.selection, repositories: page.items }, headers: page.headers };
    }
    if (path === "/app" && get) {
      this.requireApp(principal, "https://docs.github.com/rest/apps/apps#get-the-authenticated-app");
      const slug = this.cloud.options.githubAppSlug;
      return { body: { id: Number(this.cloud.options.githubAppId), slug, client_id: this.cloud.options.githubClientId, name: slug, owner: this.simpleUser(this.userOf(this.cloud.options.githubLogin)), description: "Local cloud GitHub App", external_url: this.cloud.options.appUrl, html_url: `${this.web}/apps/${slug}`, created_at: "2024-01-15T10:00:00Z", updated_at: "2024-01-15T10:00:00Z", permissions: APP_PERMISSIONS, events: [], installations_count: this.installations.size } };
    }
    m = /^\/app\/installations\/(\d+)(\/access_tokens)?$/.exec(path);
    if (m) {
      const docs = m[2] ? "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app" : "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app";
      if (!m[2] && !get) throw notFound(docs);
      if (m[2] && method !== "POST") throw notFound(docs);
      this.requireApp(principal, docs);
      const installation = this.installations.get(Number(m[1]));
      if (!installation) throw notFound(docs);
      if (!m[2]) return { body: this.installationJson(installation) };
      if (installation.suspended_at) throw new GitHubError(403, "This installation has been suspended", docs);
      return this.createInstallationToken(r, installation, docs);
    }
    if (path === "/installation/repositories" && get) {
      const docs = "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation";
      if (principal.kind !== "installation") throw new GitHubError(principal.kind === "anonymous" ? 401 : 403, principal.kind === "anonymous" ? "Requires authentication" : "You must authenticate with an installation access token in order to list repositories for an installation.", docs);
      const repos = this.tokenRepos(principal.installation, principal.token).map((repo) => this.repoJson(repo));
      const page = this.paginate(r, repos);
      return { body: { total_count: repos.length, repository_selection: principal.installation.selection, repositories: page.items }, headers: page.headers };
    }
    m = /^\/repos\/([^/]+)\/([^/]+)(\/branches)?$/.exec(path);
    if (m && get) {
      const docs = m[3] ? "https://docs.github.com/rest/branches/branches#list-branches" : "https://docs.github.com/rest/repos/repos#get-a-repository";
      const repo = this.findRepo(m[1]!, m[2]!);
      if (!repo || !this.repoVisible(principal, repo)) throw notFound(docs);
      if (!m[3]) return { body: this.fullRepoJson(repo, this.permissionsFor(principal, repo)) };
      const full = `${repo.owner}/${repo.name}`;
      const branches = listBranches(repo.bare).map((b) => ({ name: b.name, commit: { sha: b.sha, url: `${this.api}/repos/${full}/commits/${b.sha}` }, protected: false }));
      const page = this.paginate(r, branches);
      return { body: page.items, headers: page.headers };
    }
    if (path === "/rate_limit" && get) {
      const core = { limit: this.limiter.limit, used: 0, remaining: this.limiter.limit, reset: Math.floor(Date.now() / 1000) + 3600 };
      return { body: { resources: { core }, rate: core } };
    }
    throw notFound();
  }

  private async createInstallationToken(r: Request, installation: Installation, docs: string) {
    const raw = (await r.body()).toString("utf8").trim();
    let body: { repositories?: unknown; repository_ids?: unknown; permissions?: unknown } = {};
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new GitHubError(400, "Problems parsing JSON", docs);
      }
    }
    const granted = this.installationRepos(installation);
    let narrowed: GitHubRepo[] | null = null;
    if (body.repositories !== undefined || body.repository_ids !== undefined) {
      narrowed = [];
      for (const name of Array.isArray(body.repositories) ? body.repositories : []) {
        const repo = granted.find((g) => g.name === name || `${g.owner}/${g.name}` === name);
        if (!repo) throw new GitHubError(422, "There is at least one repository that does not exist or is not accessible to the parent installation.", docs);
        narrowed.push(repo);
      }
      for (const id of Array.isArray(body.repository_ids) ? body.repository_ids : []) {
        const repo = granted.find((g) => g.id === id);
        if (!repo) throw new GitHubError(422, "There is at least one repository that does not exist or is not accessible to the parent installation.", docs);
        if (!narrowed.includes(repo)) narrowed.push(repo);
      }
    }
    let permissions: Record<string, string> = { ...APP_PERMISSIONS };
    if (body.permissions && typeof body.permissions === "object") {
      for (const [name, level] of Object.entries(body.permissions as Record<string, unknown>)) {
        const have = (APP_PERMISSIONS as Record<string, string>)[name];
        if (!have || (have === "read" && level === "write")) throw new GitHubError(422, `The permissions requested are not granted to this installation.`, docs);
      }
      permissions = body.permissions as Record<string, string>;
    }
    const token = randomToken("ghs_", 36);
    const expiresAt = Date.now() + INSTALLATION_TOKEN_LIFETIME_MS;
    this.installationTokens.set(token, { id: this.nextTokenId++, installationId: installation.id, expiresAt, repoIds: narrowed?.map((r) => r.id) ?? null, permissions });
    const answer: Record<string, unknown> = {
      token,
      expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
      permissions,
      repository_selection: narrowed ? "selected" : installation.selection,
    };
    if (narrowed) answer.repositories = narrowed.map((repo) => this.repoJson(repo));
    return { status: 201, body: answer };
  }

  /** Admin: change an installation and tell the app, as GitHub would. */
  async adminEvent(input: { event?: unknown; action?: unknown; installation_id?: unknown; repositories?: unknown; login?: unknown }): Promise<Delivery> {
    const installation = this.installations.get(Number(input.installation_id));
    if (!installation) throw new Error(`installation ${String(input.installation_id)} not found`);
    if (input.event === "installation") {
      switch (input.action) {
        case "deleted": {
          this.installations.delete(installation.id);
          for (const [token, entry] of this.installationTokens) if (entry.installationId === installation.id) this.installationTokens.delete(token);
          return this.deliverInstallationEvent(installation, "deleted");
        }
        case "suspend":
          installation.suspended_at = isoNow();
          installation.suspended_by = installation.account;
          return this.deliverInstallationEvent(installation, "suspend");
        case "unsuspend": {
          const delivery = this.deliverInstallationEvent({ ...installation, suspended_at: null, suspended_by: null }, "unsuspend");
          installation.suspended_at = null;
          installation.suspended_by = null;
          return delivery;
        }
        case "created":
        case "new_permissions_accepted":
          return this.deliverInstallationEvent(installation, input.action);
        default:
          throw new Error("installation action must be one of created, deleted, suspend, unsuspend, new_permissions_accepted");
      }
    }
    if (input.event === "installation_repositories") {
      if (input.action !== "added" && input.action !== "removed") throw new Error("installation_repositories action must be added or removed");
      const names = Array.isArray(input.repositories) ? (input.repositories as unknown[]).map(String) : [];
      const repos = names.map((name) => {
        const [owner = "", repoName = ""] = name.includes("/") ? name.split("/") : [installation.account, name];
        const repo = this.findRepo(owner, repoName);
        if (!repo || repo.owner !== installation.account) throw new Error(`repository ${name} is not in ${installation.account}'s account`);
        return repo;
      });
      if (repos.length === 0) throw new Error("repositories: name at least one repository");
      const current = this.installationRepos(installation).map((repo) => repo.id);
      installation.selection = "selected";
      installation.repoIds = input.action === "added" ? [...new Set([...current, ...repos.map((repo) => repo.id)])] : current.filter((id) => !repos.some((repo) => repo.id === id));
      installation.updated_at = isoNow();
      return this.deliverRepositoriesEvent(installation, input.action, repos);
    }
    throw new Error("event must be installation or installation_repositories");
  }

  /** Admin: create an installation directly (without the browser page); no webhook unless asked. */
  async adminInstall(input: { login?: unknown; repositories?: unknown; webhook?: unknown }): Promise<Installation> {
    const login = typeof input.login === "string" ? input.login : this.cloud.options.githubLogin;
    const user = this.users.get(login.toLowerCase());
    if (!user) throw new Error(`user ${login} not found`);
    if ([...this.installations.values()].some((i) => i.account === user.login)) throw new Error(`${user.login} already has an installation`);
    const names = Array.isArray(input.repositories) ? (input.repositories as unknown[]).map(String) : null;
    const repoIds = names ? names.map((name) => this.findRepo(user.login, name.split("/").pop()!)?.id).filter((id): id is number => id !== undefined) : [];
    const now = isoNow();
    const installation: Installation = { id: this.nextInstallationId++, account: user.login, selection: names ? "selected" : "all", repoIds, created_at: now, updated_at: now, suspended_at: null, suspended_by: null };
    this.installations.set(installation.id, installation);
    if (input.webhook === true) await this.deliverInstallationEvent(installation, "created");
    return installation;
  }

  state() {
    return {
      users: [...this.users.values()].map((u) => ({ id: u.id, login: u.login, name: u.name, email: u.email, email_verified: u.emailVerified })),
      repositories: this.repos.map((r) => ({ id: r.id, full_name: `${r.owner}/${r.name}`, private: r.private, clone_url: `${this.web}/${r.owner}/${r.name}.git` })),
      installations: [...this.installations.values()].map((i) => ({ id: i.id, account: i.account, repository_selection: i.selection, repositories: this.installationRepos(i).map((r) => `${r.owner}/${r.name}`), suspended_at: i.suspended_at })),
      installation_tokens: [...this.installationTokens.values()].map((t) => ({ id: t.id, installation_id: t.installationId, expires_at: new Date(t.expiresAt).toISOString(), expired: t.expiresAt <= Date.now() })),
      webhook_deliveries: this.deliveries,
    };
  }
}
