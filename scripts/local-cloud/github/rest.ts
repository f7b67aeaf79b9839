// The REST API subset under /github-api: who is asking (user token, installation token, App JWT or nobody),
// GitHub's rate limits and pagination, and the users, installations and repositories routes.
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Request } from "../context";
import { intParam, sendJson } from "../http";
import { listBranches } from "../git";
import { WindowLimiter, type Budget } from "../rate-limit";
import type { GitHubApp, InstallationToken } from "./app";
import type { OAuth } from "./oauth";
import { PullsApi } from "./pulls";
import { APP_PERMISSIONS, fullRepoJson, installationJson, privateUser, repoJson, simpleUser } from "./shapes";
import { GitHubError, type GitHubRepo, type GitHubStore, type GitHubUser, type Installation } from "./store";

export type Principal =
  | { kind: "anonymous" }
  | { kind: "user"; user: GitHubUser }
  | { kind: "installation"; installation: Installation; token: InstallationToken }
  | { kind: "app" };

const DOCS = "https://docs.github.com/rest";

export class RestApi {
  readonly limiter = new WindowLimiter(5000, 3600);
  readonly anonymousLimiter = new WindowLimiter(60, 3600);

  readonly pulls: PullsApi;

  constructor(
    private readonly store: GitHubStore,
    private readonly oauth: OAuth,
    private readonly app: GitHubApp,
  ) {
    this.pulls = new PullsApi(store, store.cloud.options.githubAppSlug, {
      repoVisible: (principal, repo) => this.repoVisible(principal, repo),
      paginate: (r, items) => this.paginate(r, items),
    });
  }

  reset(): void {
    this.limiter.reset();
    this.anonymousLimiter.reset();
  }

  private async principal(req: IncomingMessage): Promise<Principal> {
    const header = req.headers.authorization;
    if (!header) return { kind: "anonymous" };
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    if (!match) throw new GitHubError(401, "Bad credentials");
    const token = match[1]!;
    if (token.split(".").length === 3 && token.startsWith("eyJ")) {
      await this.app.verifyJwt(token);
      return { kind: "app" };
    }
    const installation = this.app.resolveInstallationToken(token);
    if (installation) return { kind: "installation", ...installation };
    const user = this.oauth.resolveUserToken(token);
    if (user) return { kind: "user", user };
    throw new GitHubError(401, "Bad credentials");
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

  async handle(r: Request): Promise<void> {
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
        const who =
          principal.kind === "user"
            ? `user ID ${principal.user.id}`
            : principal.kind === "installation"
              ? `installation ID ${principal.installation.id}`
              : r.req.socket.remoteAddress;
        throw new GitHubError(
          403,
          `API rate limit exceeded for ${who}.`,
          "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
        );
      }
      const result = await this.route(r, principal);
      sendJson(r.res, result.status ?? 200, result.body, { ...headers, ...(result.headers ?? {}) });
    } catch (error) {
      if (error instanceof GitHubError) {
        sendJson(
          r.res,
          error.status,
          {
            message: error.message,
            ...(error.errors ? { errors: error.errors } : {}),
            documentation_url: error.documentationUrl,
            status: String(error.status),
          },
          headers,
        );
      } else {
        this.store.cloud.options.log(`github: ${(error as Error).stack ?? error}`);
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
      const target = new URL(`${this.store.api}${r.path}`);
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
    if (principal.kind === "user" && principal.user.login === repo.owner)
      return { admin: true, maintain: true, push: true, triage: true, pull: true };
    if (principal.kind === "installation") return undefined;
    return { admin: false, maintain: false, push: false, triage: false, pull: true };
  }

  private repoVisible(principal: Principal, repo: GitHubRepo): boolean {
    if (principal.kind === "installation")
      return this.app.tokenRepos(principal.installation, principal.token).includes(repo);
    if (!repo.private) return true;
    return principal.kind === "user" && principal.user.login === repo.owner;
  }

  private async route(
    r: Request,
    principal: Principal,
  ): Promise<{ status?: number; body: unknown; headers?: Record<string, string> }> {
    const { method, path } = r;
    const notFound = (docs = DOCS) => new GitHubError(404, "Not Found", docs);
    const get = method === "GET";
    if (path === "/user" && get)
      return {
        body: privateUser(
          this.store,
          this.requireUser(principal, "https://docs.github.com/rest/users/users#get-the-authenticated-user"),
        ),
      };
    if (path === "/user/emails" && get) {
      const user = this.requireUser(
        principal,
        "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
      );
      const page = this.paginate(r, [
        { email: user.email, primary: true, verified: user.emailVerified, visibility: "private" },
        {
          email: `${user.id}+${user.login}@users.noreply.example.test`,
          primary: false,
          verified: true,
          visibility: null,
        },
      ]);
      return { body: page.items, headers: page.headers };
    }
    if (path === "/user/installations" && get) {
      const user = this.requireUser(
        principal,
        "https://docs.github.com/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token",
      );
      const all = [...this.store.installations.values()]
        .filter((i) => this.userCanSeeInstallation(user, i))
        .map((i) => installationJson(this.store, i));
      const page = this.paginate(r, all);
      return { body: { total_count: all.length, installations: page.items }, headers: page.headers };
    }
    let m = /^\/user\/installations\/(\d+)\/repositories$/.exec(path);
    if (m && get) {
      const docs =
        "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-user-access-token";
      const user = this.requireUser(principal, docs);
      const installation = this.store.installations.get(Number(m[1]));
      if (!installation || !this.userCanSeeInstallation(user, installation)) throw notFound(docs);
      const repos = this.store
        .installationRepos(installation)
        .map((repo) => repoJson(this.store, repo, this.permissionsFor(principal, repo)));
      const page = this.paginate(r, repos);
      return {
        body: { total_count: repos.length, repository_selection: installation.selection, repositories: page.items },
        headers: page.headers,
      };
    }
    if (path === "/app" && get) {
      this.requireApp(principal, "https://docs.github.com/rest/apps/apps#get-the-authenticated-app");
      const slug = this.store.cloud.options.githubAppSlug;
      return {
        body: {
          id: Number(this.store.cloud.options.githubAppId),
          slug,
          client_id: this.store.cloud.options.githubClientId,
          name: slug,
          owner: simpleUser(this.store, this.store.userOf(this.store.cloud.options.githubLogin)),
          description: "Local cloud GitHub App",
          external_url: this.store.cloud.options.appUrl,
          html_url: `${this.store.web}/apps/${slug}`,
          created_at: "2024-01-15T10:00:00Z",
          updated_at: "2024-01-15T10:00:00Z",
          permissions: APP_PERMISSIONS,
          events: [],
          installations_count: this.store.installations.size,
        },
      };
    }
    m = /^\/app\/installations\/(\d+)(\/access_tokens)?$/.exec(path);
    if (m) {
      const docs = m[2]
        ? "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
        : "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app";
      if (!m[2] && !get) throw notFound(docs);
      if (m[2] && method !== "POST") throw notFound(docs);
      this.requireApp(principal, docs);
      const installation = this.store.installations.get(Number(m[1]));
      if (!installation) throw notFound(docs);
      if (!m[2]) return { body: installationJson(this.store, installation) };
      if (installation.suspended_at) throw new GitHubError(403, "This installation has been suspended", docs);
      return this.app.createInstallationToken(r, installation, docs);
    }
    if (path === "/installation/repositories" && get) {
      const docs =
        "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation";
      if (principal.kind !== "installation")
        throw new GitHubError(
          principal.kind === "anonymous" ? 401 : 403,
          principal.kind === "anonymous"
            ? "Requires authentication"
            : "You must authenticate with an installation access token in order to list repositories for an installation.",
          docs,
        );
      const repos = this.app
        .tokenRepos(principal.installation, principal.token)
        .map((repo) => repoJson(this.store, repo));
      const page = this.paginate(r, repos);
      return {
        body: {
          total_count: repos.length,
          repository_selection: principal.installation.selection,
          repositories: page.items,
        },
        headers: page.headers,
      };
    }
    m = /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/.exec(path);
    if (m && get) {
      const docs = "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user";
      const repo = this.store.findRepo(m[1]!, m[2]!);
      if (!repo || !this.repoVisible(principal, repo)) throw notFound(docs);
      const user = this.store.users.get(decodeURIComponent(m[3]!).toLowerCase());
      if (!user) throw new GitHubError(404, `${decodeURIComponent(m[3]!)} is not a user`, docs);
      const permission = this.store.permissionOf(repo, user.login);
      const roles = { admin: "admin", write: "write", read: "read", none: "none" } as const;
      return { body: { permission, role_name: roles[permission], user: simpleUser(this.store, user) } };
    }
    m = /^\/repos\/([^/]+)\/([^/]+)(\/branches)?$/.exec(path);
    if (m && get) {
      const docs = m[3]
        ? "https://docs.github.com/rest/branches/branches#list-branches"
        : "https://docs.github.com/rest/repos/repos#get-a-repository";
      const repo = this.store.findRepo(m[1]!, m[2]!);
      if (!repo || !this.repoVisible(principal, repo)) throw notFound(docs);
      if (!m[3]) return { body: fullRepoJson(this.store, repo, this.permissionsFor(principal, repo)) };
      const full = `${repo.owner}/${repo.name}`;
      const branches = listBranches(repo.bare).map((b) => ({
        name: b.name,
        commit: { sha: b.sha, url: `${this.store.api}/repos/${full}/commits/${b.sha}` },
        protected: false,
      }));
      const page = this.paginate(r, branches);
      return { body: page.items, headers: page.headers };
    }
    const pulls = await this.pulls.route(r, principal);
    if (pulls) return pulls;
    if (path === "/rate_limit" && get) {
      const core = {
        limit: this.limiter.limit,
        used: 0,
        remaining: this.limiter.limit,
        reset: Math.floor(Date.now() / 1000) + 3600,
      };
      return { body: { resources: { core }, rate: core } };
    }
    throw notFound();
  }
}
