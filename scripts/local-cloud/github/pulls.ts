// Branches, comparisons and pull requests of the REST API, computed from the bare repositories with git:
// GET …/branches/{branch}, GET …/git/ref/heads/{branch}, GET …/compare/{base}...{head} and the pulls
// routes (list, create, get, update), each with the permission an installation token needs on GitHub.
import type { Request } from "../context";
import {
  aheadBehind,
  commitInfo,
  commitsBetween,
  diffFiles,
  listBranches,
  mergeBase,
  resolveCommit,
  type CommitInfo,
  type FileChange,
} from "../git";
import { intParam, isoNow } from "../http";
import type { Principal } from "./rest";
import { repoJson, simpleUser } from "./shapes";
import { GitHubError, type GitHubRepo, type GitHubStore, type GitHubUser, type PullRequest } from "./store";

type Answer = { status?: number; body: unknown; headers?: Record<string, string> };

/** What the pulls routes borrow from the REST API: who sees a repository, and GitHub's pagination. */
export interface RestHelpers {
  repoVisible(principal: Principal, repo: GitHubRepo): boolean;
  paginate<T>(r: Request, items: T[]): { items: T[]; headers: Record<string, string> };
}

const DOCS = {
  getBranch: "https://docs.github.com/rest/branches/branches#get-a-branch",
  getRef: "https://docs.github.com/rest/git/refs#get-a-reference",
  compare: "https://docs.github.com/rest/commits/commits#compare-two-commits",
  list: "https://docs.github.com/rest/pulls/pulls#list-pull-requests",
  create: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
  get: "https://docs.github.com/rest/pulls/pulls#get-a-pull-request",
  update: "https://docs.github.com/rest/pulls/pulls#update-a-pull-request",
};

const LEVELS: Record<string, number> = { read: 1, write: 2, admin: 3 };
/** GitHub lists at most this many files in a comparison, and this many commits without paging. */
const MAX_FILES = 300;
const MAX_COMMITS = 250;

const validationFailed = (docs: string, errors: GitHubError["errors"]) =>
  new GitHubError(422, "Validation Failed", docs, errors);
const invalidRequest = (docs: string, detail: string) => new GitHubError(422, `Invalid request.\n\n${detail}`, docs);

const utc = (date: string) => isoNow(new Date(date));

export class PullsApi {
  constructor(
    private readonly store: GitHubStore,
    private readonly slug: string,
    private readonly helpers: RestHelpers,
  ) {}

  async route(r: Request, principal: Principal): Promise<Answer | undefined> {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/(branches|git\/ref\/heads|compare|pulls)(?:\/(.+))?$/.exec(r.path);
    if (!m) return undefined;
    const [, owner = "", name = "", kind, rawRest] = m;
    const rest = rawRest === undefined ? undefined : decodeURIComponent(rawRest);
    const get = r.method === "GET";
    if (kind === "branches" && rest !== undefined && get)
      return this.getBranch(principal, this.repo(principal, owner, name, DOCS.getBranch), rest);
    if (kind === "git/ref/heads" && rest !== undefined && get)
      return this.getRef(principal, this.repo(principal, owner, name, DOCS.getRef), rest);
    if (kind === "compare" && rest !== undefined && get)
      return this.compare(r, principal, this.repo(principal, owner, name, DOCS.compare), rest);
    if (kind === "pulls" && rest === undefined) {
      if (get) return this.list(r, principal, this.repo(principal, owner, name, DOCS.list));
      if (r.method === "POST") return this.create(r, principal, this.repo(principal, owner, name, DOCS.create));
    }
    if (kind === "pulls" && rest !== undefined && /^\d+$/.test(rest)) {
      if (get) return this.get(principal, this.repo(principal, owner, name, DOCS.get), Number(rest));
      if (r.method === "PATCH")
        return this.update(r, principal, this.repo(principal, owner, name, DOCS.update), Number(rest));
    }
    return undefined;
  }

  private repo(principal: Principal, owner: string, name: string, docs: string): GitHubRepo {
    const repo = this.store.findRepo(decodeURIComponent(owner), decodeURIComponent(name));
    if (!repo || !this.helpers.repoVisible(principal, repo)) throw new GitHubError(404, "Not Found", docs);
    return repo;
  }

  /**
   * GitHub: an installation token needs the named permission at the level asked (reads of a public
   * repository need none); a user token acts as its user (the owner may do anything, others read public
   * repositories and open pull requests on them); nobody else writes.
   */
  private require(
    principal: Principal,
    repo: GitHubRepo,
    permission: "contents" | "pull_requests",
    level: "read" | "write",
    docs: string,
  ): void {
    if (level === "read" && !repo.private) return;
    if (principal.kind === "installation") {
      if ((LEVELS[principal.token.permissions[permission] ?? ""] ?? 0) >= LEVELS[level]!) return;
      throw new GitHubError(403, "Resource not accessible by integration", docs);
    }
    if (principal.kind === "user") {
      const role = this.store.permissionOf(repo, principal.user.login);
      if (role === "admin" || role === "write") return;
      if (role === "read" && (level === "read" || permission === "pull_requests")) return;
      throw new GitHubError(403, "Resource not accessible by integration", docs);
    }
    if (principal.kind === "anonymous") throw new GitHubError(401, "Requires authentication", docs);
    throw new GitHubError(403, "Resource not accessible by integration", docs);
  }

  private api(repo: GitHubRepo): string {
    return `${this.store.api}/repos/${repo.owner}/${repo.name}`;
  }

  private web(repo: GitHubRepo): string {
    return `${this.store.web}/${repo.owner}/${repo.name}`;
  }

  /** The GitHub user a commit's author or committer address belongs to (primary or noreply), if any. */
  private userByEmail(email: string): ReturnType<typeof simpleUser> | null {
    for (const user of this.store.users.values())
      if (user.email === email || email === `${user.id}+${user.login}@users.noreply.example.test`)
        return simpleUser(this.store, user);
    return null;
  }

  private commitJson(repo: GitHubRepo, commit: CommitInfo, files?: FileChange[]) {
    const api = this.api(repo);
    const json: Record<string, unknown> = {
      url: `${api}/commits/${commit.sha}`,
      sha: commit.sha,
      node_id: Buffer.from(`06:Commit${repo.id}:${commit.sha}`).toString("base64"),
      html_url: `${this.web(repo)}/commit/${commit.sha}`,
      comments_url: `${api}/commits/${commit.sha}/comments`,
      commit: {
        url: `${api}/git/commits/${commit.sha}`,
        author: { ...commit.author, date: utc(commit.author.date) },
        committer: { ...commit.committer, date: utc(commit.committer.date) },
        message: commit.message,
        comment_count: 0,
        tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
        verification: { verified: false, reason: "unsigned", payload: null, signature: null, verified_at: null },
      },
      author: this.userByEmail(commit.author.email),
      committer: this.userByEmail(commit.committer.email),
      parents: commit.parents.map((sha) => ({
        sha,
        url: `${api}/commits/${sha}`,
        html_url: `${this.web(repo)}/commit/${sha}`,
      })),
    };
    if (files) {
      const additions = files.reduce((sum, f) => sum + f.additions, 0);
      const deletions = files.reduce((sum, f) => sum + f.deletions, 0);
      json.stats = { additions, deletions, total: additions + deletions };
      json.files = files.map((f) => this.fileJson(repo, commit.sha, f));
    }
    return json;
  }

  private fileJson(repo: GitHubRepo, headSha: string, file: FileChange) {
    const path = file.filename.split("/").map(encodeURIComponent).join("/");
    return {
      sha: file.sha,
      filename: file.filename,
      status: file.status,
      additions: file.additions,
      deletions: file.deletions,
      changes: file.additions + file.deletions,
      blob_url: `${this.web(repo)}/blob/${headSha}/${path}`,
      raw_url: `${this.web(repo)}/raw/${headSha}/${path}`,
      contents_url: `${this.api(repo)}/contents/${path}?ref=${headSha}`,
      ...(file.patch !== undefined ? { patch: file.patch } : {}),
      ...(file.previousFilename ? { previous_filename: file.previousFilename } : {}),
    };
  }

  private getBranch(principal: Principal, repo: GitHubRepo, name: string): Answer {
    this.require(principal, repo, "contents", "read", DOCS.getBranch);
    const branch = listBranches(repo.bare).find((b) => b.name === name);
    if (!branch) throw new GitHubError(404, "Branch not found", DOCS.getBranch);
    const api = this.api(repo);
    return {
      body: {
        name: branch.name,
        commit: this.commitJson(repo, commitInfo(repo.bare, branch.sha)),
        _links: {
          self: `${api}/branches/${encodeURIComponent(branch.name)}`,
          html: `${this.web(repo)}/tree/${branch.name}`,
        },
        protected: false,
        protection: {
          enabled: false,
          required_status_checks: { enforcement_level: "off", contexts: [], checks: [] },
        },
        protection_url: `${api}/branches/${encodeURIComponent(branch.name)}/protection`,
      },
    };
  }

  private getRef(principal: Principal, repo: GitHubRepo, name: string): Answer {
    this.require(principal, repo, "contents", "read", DOCS.getRef);
    const branch = listBranches(repo.bare).find((b) => b.name === name);
    if (!branch) throw new GitHubError(404, "Not Found", DOCS.getRef);
    const api = this.api(repo);
    return {
      body: {
        ref: `refs/heads/${branch.name}`,
        node_id: Buffer.from(`03:Ref${repo.id}:refs/heads/${branch.name}`).toString("base64"),
        url: `${api}/git/refs/heads/${branch.name}`,
        object: { sha: branch.sha, type: "commit", url: `${api}/git/commits/${branch.sha}` },
      },
    };
  }

  /** `BASE...HEAD`, each optionally `owner:ref`; another owner would be a fork, which is not emulated. */
  private resolveBasehead(repo: GitHubRepo, basehead: string) {
    const parts = basehead.split("...");
    if (parts.length !== 2) return null;
    const refs: Array<{ ref: string; sha: string }> = [];
    for (const part of parts) {
      const colon = part.indexOf(":");
      if (colon >= 0 && part.slice(0, colon).toLowerCase() !== repo.owner.toLowerCase()) return null;
      const ref = colon >= 0 ? part.slice(colon + 1) : part;
      const sha = resolveCommit(repo.bare, ref);
      if (!sha) return null;
      refs.push({ ref, sha });
    }
    return { base: refs[0]!, head: refs[1]! };
  }

  private compare(r: Request, principal: Principal, repo: GitHubRepo, basehead: string): Answer {
    this.require(principal, repo, "contents", "read", DOCS.compare);
    const resolved = this.resolveBasehead(repo, basehead);
    if (!resolved) throw new GitHubError(404, "Not Found", DOCS.compare);
    const { base, head } = resolved;
    const ancestor = mergeBase(repo.bare, base.sha, head.sha);
    if (!ancestor) throw new GitHubError(404, `No common ancestor between ${base.ref} and ${head.ref}.`, DOCS.compare);
    const { ahead, behind } = aheadBehind(repo.bare, base.sha, head.sha);
    const status = ahead && behind ? "diverged" : ahead ? "ahead" : behind ? "behind" : "identical";
    const commits = commitsBetween(repo.bare, base.sha, head.sha).map((c) => this.commitJson(repo, c));
    const paged = r.url.searchParams.has("page") || r.url.searchParams.has("per_page");
    const page = paged ? this.helpers.paginate(r, commits) : { items: commits.slice(-MAX_COMMITS), headers: {} };
    const firstPage = !paged || (intParam(r.url, "page") ?? 1) <= 1;
    const files = firstPage ? diffFiles(repo.bare, ancestor, head.sha).slice(0, MAX_FILES) : [];
    const web = this.web(repo);
    return {
      headers: page.headers,
      body: {
        url: `${this.api(repo)}/compare/${basehead}`,
        html_url: `${web}/compare/${basehead}`,
        permalink_url: `${web}/compare/${repo.owner}:${base.sha}...${repo.owner}:${head.sha}`,
        diff_url: `${web}/compare/${basehead}.diff`,
        patch_url: `${web}/compare/${basehead}.patch`,
        base_commit: this.commitJson(repo, commitInfo(repo.bare, base.sha)),
        merge_base_commit: this.commitJson(repo, commitInfo(repo.bare, ancestor)),
        status,
        ahead_by: ahead,
        behind_by: behind,
        total_commits: commits.length,
        commits: page.items,
        files: files.map((f) => this.fileJson(repo, head.sha, f)),
      },
    };
  }

  /** Brings a pull request's head and base tips up to date with its branches (kept when a branch is gone). */
  private refresh(repo: GitHubRepo, pull: PullRequest): void {
    const branches = listBranches(repo.bare);
    pull.headSha = branches.find((b) => b.name === pull.head)?.sha ?? pull.headSha;
    pull.baseSha = branches.find((b) => b.name === pull.base)?.sha ?? pull.baseSha;
  }

  /** What the pull request would merge: the diff from the merge base to the head, and its commits. */
  changes(repo: GitHubRepo, pull: PullRequest): { files: FileChange[]; commits: number } {
    const ancestor = mergeBase(repo.bare, pull.baseSha, pull.headSha);
    if (!ancestor) return { files: [], commits: 0 };
    return {
      files: diffFiles(repo.bare, ancestor, pull.headSha),
      commits: aheadBehind(repo.bare, pull.baseSha, pull.headSha).ahead,
    };
  }

  private authorJson(login: string) {
    if (login === `${this.slug}[bot]`) {
      // Built with the login URL-encoded so its links are valid URLs, as GitHub's are ("sam%5Bbot%5D").
      const bot: GitHubUser = {
        id: 9_000_001,
        login: encodeURIComponent(login),
        name: login,
        email: "",
        emailVerified: true,
        created_at: "2024-01-15T10:00:00Z",
      };
      return { ...simpleUser(this.store, bot), login, type: "Bot", html_url: `${this.store.web}/apps/${this.slug}` };
    }
    return simpleUser(this.store, this.store.userOf(login));
  }

  private pullJson(repo: GitHubRepo, pull: PullRequest, full: boolean) {
    this.refresh(repo, pull);
    const api = this.api(repo);
    const self = `${api}/pulls/${pull.number}`;
    const html = `${this.web(repo)}/pull/${pull.number}`;
    const owner = simpleUser(this.store, this.store.userOf(repo.owner));
    const repository = repoJson(this.store, repo);
    const side = (ref: string, sha: string) => ({
      label: `${repo.owner}:${ref}`,
      ref,
      sha,
      user: owner,
      repo: repository,
    });
    const json: Record<string, unknown> = {
      url: self,
      id: pull.id,
      node_id: Buffer.from(`011:PullRequest${pull.id}`).toString("base64"),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${api}/issues/${pull.number}`,
      commits_url: `${self}/commits`,
      review_comments_url: `${self}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`,
      comments_url: `${api}/issues/${pull.number}/comments`,
      statuses_url: `${api}/statuses/${pull.headSha}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: pull.title,
      user: this.authorJson(pull.author),
      body: pull.body,
      labels: [],
      milestone: null,
      active_lock_reason: null,
      created_at: pull.created_at,
      updated_at: pull.updated_at,
      closed_at: pull.closed_at,
      merged_at: null,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: side(pull.head, pull.headSha),
      base: side(pull.base, pull.baseSha),
      _links: {
        self: { href: self },
        html: { href: html },
        issue: { href: `${api}/issues/${pull.number}` },
        comments: { href: `${api}/issues/${pull.number}/comments` },
        review_comments: { href: `${self}/comments` },
        review_comment: { href: `${api}/pulls/comments{/number}` },
        commits: { href: `${self}/commits` },
        statuses: { href: `${api}/statuses/${pull.headSha}` },
      },
      author_association: pull.author.toLowerCase() === repo.owner.toLowerCase() ? "OWNER" : "NONE",
      auto_merge: null,
      draft: pull.draft,
    };
    if (!full) return json;
    const { files, commits } = this.changes(repo, pull);
    const open = pull.state === "open";
    return {
      ...json,
      merged: false,
      mergeable: open ? true : null,
      rebaseable: open ? true : null,
      mergeable_state: !open ? "unknown" : pull.draft ? "draft" : "clean",
      merged_by: null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: false,
      commits,
      additions: files.reduce((sum, f) => sum + f.additions, 0),
      deletions: files.reduce((sum, f) => sum + f.deletions, 0),
      changed_files: files.length,
    };
  }

  private principalLogin(principal: Principal): string {
    if (principal.kind === "user") return principal.user.login;
    return `${this.slug}[bot]`;
  }

  private list(r: Request, principal: Principal, repo: GitHubRepo): Answer {
    this.require(principal, repo, "pull_requests", "read", DOCS.list);
    const q = r.url.searchParams;
    const state = q.get("state") ?? "open";
    if (!["open", "closed", "all"].includes(state))
      throw validationFailed(DOCS.list, [{ resource: "PullRequest", field: "state", code: "invalid" }]);
    const sort = q.get("sort") ?? "created";
    if (!["created", "updated", "popularity", "long-running"].includes(sort))
      throw validationFailed(DOCS.list, [{ resource: "PullRequest", field: "sort", code: "invalid" }]);
    const direction = q.get("direction") ?? (sort === "created" || !q.has("sort") ? "desc" : "asc");
    // GitHub filters by head only in its `user:ref` form; a bare branch name filters nothing.
    const head = q.get("head");
    const headFilter = head?.includes(":") ? head : null;
    const base = q.get("base");
    const key = sort === "updated" ? "updated_at" : "created_at";
    const pulls = this.store.pulls
      .filter((p) => p.repoId === repo.id)
      .filter((p) => state === "all" || p.state === state)
      .filter((p) => !headFilter || `${repo.owner}:${p.head}`.toLowerCase() === headFilter.toLowerCase())
      .filter((p) => !base || p.base === base)
      .sort((a, b) => (a[key] === b[key] ? a.id - b.id : a[key] < b[key] ? -1 : 1));
    if (direction === "desc") pulls.reverse();
    const page = this.helpers.paginate(r, pulls);
    return {
      body: page.items.map((p) => this.pullJson(repo, p, false)),
      headers: page.headers,
    };
  }

  private async jsonBody(r: Request, docs: string): Promise<Record<string, unknown>> {
    const raw = (await r.body()).toString("utf8").trim();
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      throw new GitHubError(400, "Problems parsing JSON", docs);
    }
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw new GitHubError(400, "Problems parsing JSON", docs);
    return body as Record<string, unknown>;
  }

  private static typeCheck(body: Record<string, unknown>, docs: string, types: Record<string, string>): void {
    for (const [field, type] of Object.entries(types)) {
      const value = body[field];
      if (value === undefined || (value === null && field === "body")) continue;
      if (typeof value !== type)
        throw invalidRequest(docs, `For 'properties/${field}', ${JSON.stringify(value)} is not a ${type}.`);
    }
  }

  private async create(r: Request, principal: Principal, repo: GitHubRepo): Promise<Answer> {
    const docs = DOCS.create;
    this.require(principal, repo, "pull_requests", "write", docs);
    const body = await this.jsonBody(r, docs);
    const missing = ["head", "base"].filter((field) => body[field] === undefined);
    if (missing.length)
      throw invalidRequest(
        docs,
        `${missing.map((f) => `"${f}"`).join(", ")} ${missing.length === 1 ? "wasn't" : "weren't"} supplied.`,
      );
    PullsApi.typeCheck(body, docs, {
      title: "string",
      head: "string",
      base: "string",
      body: "string",
      draft: "boolean",
      maintainer_can_modify: "boolean",
    });
    const title = typeof body.title === "string" ? body.title : "";
    if (!title.trim()) throw validationFailed(docs, [{ resource: "Issue", code: "missing_field", field: "title" }]);
    const rawHead = body.head as string;
    const colon = rawHead.indexOf(":");
    const headOwner = colon >= 0 ? rawHead.slice(0, colon) : repo.owner;
    const headRef = colon >= 0 ? rawHead.slice(colon + 1) : rawHead;
    const baseRef = body.base as string;
    const branches = listBranches(repo.bare);
    const baseBranch = branches.find((b) => b.name === baseRef);
    const headBranch =
      headOwner.toLowerCase() === repo.owner.toLowerCase() ? branches.find((b) => b.name === headRef) : undefined;
    const invalid = [
      ...(baseBranch ? [] : [{ resource: "PullRequest", field: "base", code: "invalid" as const }]),
      ...(headBranch ? [] : [{ resource: "PullRequest", field: "head", code: "invalid" as const }]),
    ];
    if (invalid.length || !baseBranch || !headBranch) throw validationFailed(docs, invalid);
    if (
      this.store.pulls.some(
        (p) => p.repoId === repo.id && p.state === "open" && p.head === headRef && p.base === baseRef,
      )
    )
      throw validationFailed(docs, [
        {
          resource: "PullRequest",
          code: "custom",
          message: `A pull request already exists for ${repo.owner}:${headRef}.`,
        },
      ]);
    // Every local user is on GitHub Free, where drafts exist in public repositories only.
    if (body.draft === true && repo.private)
      throw validationFailed(docs, [
        {
          resource: "PullRequest",
          code: "custom",
          message: "Draft pull requests are not supported in this repository.",
        },
      ]);
    if (aheadBehind(repo.bare, baseBranch.sha, headBranch.sha).ahead === 0)
      throw validationFailed(docs, [
        { resource: "PullRequest", code: "custom", message: `No commits between ${baseRef} and ${headRef}` },
      ]);
    const pull = this.store.addPull({
      repoId: repo.id,
      title,
      body: typeof body.body === "string" ? body.body : null,
      state: "open",
      draft: body.draft === true,
      head: headRef,
      base: baseRef,
      headSha: headBranch.sha,
      baseSha: baseBranch.sha,
      author: this.principalLogin(principal),
    });
    return {
      status: 201,
      body: this.pullJson(repo, pull, true),
      headers: { Location: `${this.api(repo)}/pulls/${pull.number}` },
    };
  }

  private findPull(repo: GitHubRepo, number: number, docs: string): PullRequest {
    const pull = this.store.pulls.find((p) => p.repoId === repo.id && p.number === number);
    if (!pull) throw new GitHubError(404, "Not Found", docs);
    return pull;
  }

  private get(principal: Principal, repo: GitHubRepo, number: number): Answer {
    this.require(principal, repo, "pull_requests", "read", DOCS.get);
    return { body: this.pullJson(repo, this.findPull(repo, number, DOCS.get), true) };
  }

  private async update(r: Request, principal: Principal, repo: GitHubRepo, number: number): Promise<Answer> {
    const docs = DOCS.update;
    this.require(principal, repo, "pull_requests", "write", docs);
    const pull = this.findPull(repo, number, docs);
    const body = await this.jsonBody(r, docs);
    PullsApi.typeCheck(body, docs, { title: "string", body: "string", state: "string", base: "string" });
    if (body.state !== undefined && body.state !== "open" && body.state !== "closed")
      throw invalidRequest(
        docs,
        `For 'properties/state', ${JSON.stringify(body.state)} is not one of ["open", "closed"].`,
      );
    if (body.title !== undefined && !(body.title as string).trim())
      throw validationFailed(docs, [{ resource: "Issue", code: "missing_field", field: "title" }]);
    const base = (body.base as string | undefined) ?? pull.base;
    if (!listBranches(repo.bare).some((b) => b.name === base))
      throw validationFailed(docs, [{ resource: "PullRequest", field: "base", code: "invalid" }]);
    const state = (body.state as PullRequest["state"] | undefined) ?? pull.state;
    if (
      state === "open" &&
      (pull.state === "closed" || base !== pull.base) &&
      this.store.pulls.some(
        (p) => p !== pull && p.repoId === repo.id && p.state === "open" && p.head === pull.head && p.base === base,
      )
    )
      throw validationFailed(docs, [
        {
          resource: "PullRequest",
          code: "custom",
          message: `A pull request already exists for ${repo.owner}:${pull.head}.`,
        },
      ]);
    if (state === "open" && pull.state === "closed" && !listBranches(repo.bare).some((b) => b.name === pull.head))
      throw validationFailed(docs, [
        { resource: "PullRequest", code: "custom", message: "state cannot be changed. The head branch was deleted." },
      ]);
    if (typeof body.title === "string") pull.title = body.title;
    if (body.body !== undefined) pull.body = typeof body.body === "string" ? body.body : null;
    if (state !== pull.state) pull.closed_at = state === "closed" ? isoNow() : null;
    pull.state = state;
    pull.base = base;
    pull.updated_at = isoNow();
    return { body: this.pullJson(repo, pull, true) };
  }
}
