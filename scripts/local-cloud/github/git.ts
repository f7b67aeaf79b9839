// Git smart HTTP on the web host: Basic auth with an installation token (its repositories) or a user token
// (the user's own); public repositories clone without one. `git http-backend` (../git.ts) does the serving.
import type { Request } from "../context";
import { sendText } from "../http";
import { serveGit } from "../git";
import type { GitHubApp } from "./app";
import type { OAuth } from "./oauth";
import type { GitHubStore } from "./store";

export function serveRepository(
  store: GitHubStore,
  oauth: OAuth,
  app: GitHubApp,
  r: Request,
  owner: string,
  name: string,
  rest: string,
): void {
  const repo = store.findRepo(owner, name);
  const push = rest === "/git-receive-pack" || r.url.searchParams.get("service") === "git-receive-pack";
  const challenge = () => {
    r.res.writeHead(401, { "WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain" });
    r.res.end("Invalid username or token. Password authentication is not supported for Git operations.\n");
  };
  const basic = /^Basic\s+(\S+)$/i.exec(r.req.headers.authorization ?? "")?.[1];
  let allowed = false;
  let visible = false;
  let remoteUser: string | null = null;
  if (basic) {
    const decoded = Buffer.from(basic, "base64").toString("utf8");
    const password = decoded.slice(decoded.indexOf(":") + 1);
    const installation = app.resolveInstallationToken(password);
    const user = oauth.resolveUserToken(password);
    if (!installation && !user) return challenge();
    // An installation token reads with Contents: read and pushes only with Contents: write, as on GitHub.
    if (repo && installation) {
      visible = app.tokenRepos(installation.installation, installation.token).includes(repo);
      const contents = installation.token.permissions.contents;
      allowed = visible && (push ? contents === "write" : contents === "read" || contents === "write");
    }
    if (repo && user) visible = allowed = repo.owner === user.login;
    remoteUser = installation ? `${store.cloud.options.githubAppSlug}[bot]` : user!.login;
  }
  if (!repo) {
    if (!basic) return challenge();
    return sendText(r.res, 404, "Repository not found.\n");
  }
  if (!allowed && (repo.private || push)) {
    if (!basic) return challenge();
    if (repo.private && !visible) return sendText(r.res, 404, "Repository not found.\n");
    return sendText(r.res, 403, `Permission to ${repo.owner}/${repo.name}.git denied to ${remoteUser}.\n`);
  }
  serveGit(
    r.req,
    r.res,
    store.gitRoot,
    `/${repo.owner}/${repo.name}.git${rest}`,
    r.url.search.slice(1),
    remoteUser ?? (push ? "x-access-token" : null),
  );
}
