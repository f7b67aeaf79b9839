// GitHub: the web host (OAuth web flow, App installation page, git smart HTTP) under /github and the
// REST API subset under /github-api. This class routes the web host and holds the parts together.
import { createPublicKey } from "node:crypto";
import type { CloudContext, Request } from "../context";
import { escapeHtml, htmlPage, sendText } from "../http";
import { GitHubApp } from "./app";
import { identiconPng } from "./avatars";
import { serveRepository } from "./git";
import { adminEvent, adminInstall, install, installPage } from "./installations";
import { OAuth } from "./oauth";
import { pullPage, pullsPage } from "./pull-pages";
import { RestApi } from "./rest";
import { installationJson } from "./shapes";
import { GitHubStore, type Delivery, type GitHubUser, type Installation } from "./store";

export class GitHub {
  private readonly store: GitHubStore;
  private readonly app: GitHubApp;
  private readonly oauth: OAuth;
  private readonly rest: RestApi;

  constructor(cloud: CloudContext) {
    const appKey = createPublicKey(cloud.options.githubAppPrivateKey);
    this.store = new GitHubStore(cloud);
    this.app = new GitHubApp(this.store, appKey);
    this.oauth = new OAuth(this.store);
    this.rest = new RestApi(this.store, this.oauth, this.app);
  }

  get limiter() {
    return this.rest.limiter;
  }

  get anonymousLimiter() {
    return this.rest.anonymousLimiter;
  }

  reset(): void {
    this.store.reset();
    this.app.reset();
    this.oauth.reset();
    this.rest.reset();
  }

  createUser(input: Parameters<GitHubStore["createUser"]>[0]): GitHubUser {
    return this.store.createUser(input);
  }

  installationJson(installation: Installation) {
    return installationJson(this.store, installation);
  }

  adminEvent(input: Parameters<typeof adminEvent>[2]): Promise<Delivery> {
    return adminEvent(this.store, this.app, input);
  }

  adminInstall(input: Parameters<typeof adminInstall>[1]): Promise<Installation> {
    return adminInstall(this.store, input);
  }

  handleApi(r: Request): Promise<void> {
    return this.rest.handle(r);
  }

  async handleWeb(r: Request): Promise<void> {
    const { res, method } = r;
    const path = r.path;
    const slug = this.store.cloud.options.githubAppSlug;
    if (path === "/session" && method === "GET") return this.oauth.signIn(r);
    if (path === "/login/oauth/authorize" && method === "GET") return this.oauth.authorize(r);
    if (path === "/login/oauth/access_token" && method === "POST") return this.oauth.accessToken(r);
    const avatar = /^\/avatars\/([A-Za-z0-9-]+)\.png$/.exec(path);
    if (avatar && method === "GET" && this.store.users.has(avatar[1]!.toLowerCase())) {
      res.writeHead(200, { "Content-Type": "image/png", "Cache-Control": "max-age=3600" });
      res.end(identiconPng(avatar[1]!));
      return;
    }
    if (path === `/apps/${slug}` && method === "GET") {
      res.writeHead(302, { Location: `${this.store.web}/apps/${slug}/installations/new` });
      res.end();
      return;
    }
    if (path === `/apps/${slug}/installations/new`) {
      if (method === "GET") return installPage(this.store, r);
      if (method === "POST") return install(this.store, r);
    }
    const gitMatch =
      /^\/([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?(\/(?:info\/refs|git-upload-pack|git-receive-pack|HEAD))$/.exec(
        path,
      );
    if (gitMatch) return serveRepository(this.store, this.oauth, this.app, r, gitMatch[1]!, gitMatch[2]!, gitMatch[3]!);
    const pullsMatch = /^\/([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)\/(?:pulls|pull\/(\d+))\/?$/.exec(path);
    if (pullsMatch && method === "GET") {
      const [, owner = "", name = "", number] = pullsMatch;
      if (number === undefined) return pullsPage(this.store, r, owner, name);
      return pullPage(this.store, this.rest.pulls, r, owner, name, Number(number));
    }
    const repoPage = /^\/([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(path);
    if (repoPage && method === "GET") {
      const repo = this.store.findRepo(repoPage[1]!, repoPage[2]!);
      if (repo && !repo.private)
        return sendText(
          res,
          200,
          htmlPage(
            `${repo.owner}/${repo.name}`,
            `<h1>${escapeHtml(repo.owner)}/${escapeHtml(repo.name)}</h1><p>${escapeHtml(repo.description)}</p>`,
          ),
          "text/html; charset=utf-8",
        );
    }
    sendText(
      res,
      404,
      htmlPage("Page not found · GitHub", "<h1>404</h1><p>This is not the web page you are looking for.</p>"),
      "text/html; charset=utf-8",
    );
  }

  state() {
    return {
      users: [...this.store.users.values()].map((u) => ({
        id: u.id,
        login: u.login,
        name: u.name,
        email: u.email,
        email_verified: u.emailVerified,
      })),
      repositories: this.store.repos.map((r) => ({
        id: r.id,
        full_name: `${r.owner}/${r.name}`,
        private: r.private,
        clone_url: `${this.store.web}/${r.owner}/${r.name}.git`,
      })),
      installations: [...this.store.installations.values()].map((i) => ({
        id: i.id,
        account: i.account,
        repository_selection: i.selection,
        repositories: this.store.installationRepos(i).map((r) => `${r.owner}/${r.name}`),
        suspended_at: i.suspended_at,
      })),
      installation_tokens: [...this.app.installationTokens.values()].map((t) => ({
        id: t.id,
        installation_id: t.installationId,
        expires_at: new Date(t.expiresAt).toISOString(),
        expired: t.expiresAt <= Date.now(),
      })),
      webhook_deliveries: this.store.deliveries,
      pull_requests: this.store.pulls.map((p) => {
        const repo = this.store.repos.find((r) => r.id === p.repoId)!;
        return {
          repository: `${repo.owner}/${repo.name}`,
          number: p.number,
          state: p.state,
          draft: p.draft,
          title: p.title,
          head: p.head,
          base: p.base,
          user: p.author,
          html_url: `${this.store.web}/${repo.owner}/${repo.name}/pull/${p.number}`,
        };
      }),
    };
  }
}
