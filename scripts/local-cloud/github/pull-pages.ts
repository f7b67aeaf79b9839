// The web host's pull request pages: /<owner>/<repo>/pulls (open or ?state=closed|all) and
// /<owner>/<repo>/pull/<n> (title, body, head → base, state and the files changed with their patches).
// A private repository's pages show only to a signed-in user who may read it, else GitHub's 404 page.
import type { Request } from "../context";
import { escapeHtml, htmlPage, sendText } from "../http";
import { sessionUser } from "./oauth";
import type { PullsApi } from "./pulls";
import type { GitHubRepo, GitHubStore } from "./store";

const HTML = "text/html; charset=utf-8";

function visibleRepo(store: GitHubStore, r: Request, owner: string, name: string): GitHubRepo | undefined {
  const repo = store.findRepo(owner, name);
  if (!repo) return undefined;
  if (!repo.private) return repo;
  return store.permissionOf(repo, sessionUser(store, r.req).login) === "none" ? undefined : repo;
}

function notFound(r: Request): void {
  sendText(
    r.res,
    404,
    htmlPage("Page not found · GitHub", "<h1>404</h1><p>This is not the web page you are looking for.</p>"),
    HTML,
  );
}

const stateLabel = (state: string, draft: boolean) => (state === "open" ? (draft ? "Draft" : "Open") : "Closed");

export function pullsPage(store: GitHubStore, r: Request, owner: string, name: string): void {
  const repo = visibleRepo(store, r, owner, name);
  if (!repo) return notFound(r);
  const state = r.url.searchParams.get("state") ?? "open";
  const full = `${repo.owner}/${repo.name}`;
  const pulls = store.pulls
    .filter((p) => p.repoId === repo.id && (state === "all" || p.state === state))
    .sort((a, b) => b.number - a.number);
  const rows = pulls
    .map(
      (p) =>
        `<li><a href="${store.web}/${full}/pull/${p.number}">${escapeHtml(p.title)}</a> #${p.number} · ${stateLabel(p.state, p.draft)} · ${escapeHtml(p.head)} → ${escapeHtml(p.base)}</li>`,
    )
    .join("\n");
  const body = `<h1>Pull requests · ${escapeHtml(full)}</h1>
<p><a href="?state=open">Open</a> · <a href="?state=closed">Closed</a> · <a href="?state=all">All</a></p>
${pulls.length ? `<ul>\n${rows}\n</ul>` : "<p>There aren’t any pull requests here.</p>"}`;
  sendText(r.res, 200, htmlPage(`Pull requests · ${full}`, body), HTML);
}

export function pullPage(store: GitHubStore, pullsApi: PullsApi, r: Request, owner: string, name: string, n: number) {
  const repo = visibleRepo(store, r, owner, name);
  const pull = repo && store.pulls.find((p) => p.repoId === repo.id && p.number === n);
  if (!repo || !pull) return notFound(r);
  const full = `${repo.owner}/${repo.name}`;
  const { files, commits } = pullsApi.changes(repo, pull);
  const fileList = files
    .map(
      (f) => `<section class="file">
<h3><span class="filename">${escapeHtml(f.filename)}</span> <span class="additions">+${f.additions}</span> <span class="deletions">−${f.deletions}</span> <span class="status">${f.status}</span></h3>
${f.patch === undefined ? "<p>Binary file not shown.</p>" : `<pre>${escapeHtml(f.patch)}</pre>`}
</section>`,
    )
    .join("\n");
  const body = `<h1><span class="title">${escapeHtml(pull.title)}</span> #${pull.number}</h1>
<p><strong class="state">${stateLabel(pull.state, pull.draft)}</strong> · ${escapeHtml(pull.author)} wants to merge ${commits} commit${commits === 1 ? "" : "s"} into <code class="base">${escapeHtml(pull.base)}</code> from <code class="head">${escapeHtml(pull.head)}</code></p>
<div class="body">${pull.body ? `<p>${escapeHtml(pull.body).replace(/\n/g, "<br>")}</p>` : "<p><em>No description provided.</em></p>"}</div>
<h2>Files changed <span class="count">${files.length}</span></h2>
${fileList}
<p><a href="${store.web}/${full}/pulls">All pull requests of ${escapeHtml(full)}</a></p>`;
  sendText(r.res, 200, htmlPage(`${pull.title} · Pull Request #${pull.number} · ${full}`, body), HTML);
}
