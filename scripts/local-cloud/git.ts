// Fixture repositories (bare, made at start) and git smart HTTP through `git http-backend` (CGI).
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";

const GIT_ENV = {
  GIT_AUTHOR_NAME: "SAM Developer",
  GIT_AUTHOR_EMAIL: "sam-dev@example.test",
  GIT_COMMITTER_NAME: "SAM Developer",
  GIT_COMMITTER_EMAIL: "sam-dev@example.test",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
};

function git(args: string[], cwd: string): string {
  return execFileSync("git", ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, ...GIT_ENV },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  }).toString();
}

/** Creates `<root>/<owner>/<name>.git` with commits on `main` and a `develop` branch. */
export function createFixtureRepo(root: string, owner: string, name: string, description: string): string {
  const bare = join(root, owner, `${name}.git`);
  const work = join(root, ".work", owner, name);
  mkdirSync(bare, { recursive: true });
  mkdirSync(work, { recursive: true });
  git(["init", "--bare", "--quiet", "-b", "main", bare], root);
  git(["config", "http.receivepack", "true"], bare);
  git(["init", "--quiet", "-b", "main", work], root);
  writeFileSync(join(work, "README.md"), `# ${name}\n\n${description}\n`);
  git(["add", "README.md"], work);
  git(["commit", "--quiet", "-m", "Initial commit"], work);
  writeFileSync(join(work, ".gitignore"), "node_modules/\n");
  git(["add", ".gitignore"], work);
  git(["commit", "--quiet", "-m", "Add .gitignore"], work);
  git(["checkout", "--quiet", "-b", "develop"], work);
  writeFileSync(join(work, "NOTES.md"), "Work in progress.\n");
  git(["add", "NOTES.md"], work);
  git(["commit", "--quiet", "-m", "Start develop"], work);
  git(["push", "--quiet", bare, "main", "develop"], work);
  rmSync(work, { recursive: true, force: true });
  return bare;
}

/** A file of a fixture repository: its text, and whether it is executable. */
export interface FixtureFile {
  content: string;
  executable?: boolean;
}

/** Creates `<root>/<owner>/<name>.git` with one commit on `main` holding exactly `files` (path → file). */
export function createRepoWithFiles(
  root: string,
  owner: string,
  name: string,
  files: Record<string, FixtureFile>,
): string {
  const bare = join(root, owner, `${name}.git`);
  const work = join(root, ".work", owner, name);
  mkdirSync(bare, { recursive: true });
  mkdirSync(work, { recursive: true });
  git(["init", "--bare", "--quiet", "-b", "main", bare], root);
  git(["config", "http.receivepack", "true"], bare);
  git(["init", "--quiet", "-b", "main", work], root);
  for (const [path, file] of Object.entries(files)) {
    const target = join(work, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    if (file.executable) chmodSync(target, 0o755);
  }
  git(["add", "--all"], work);
  git(["commit", "--quiet", "-m", "Initial commit"], work);
  git(["push", "--quiet", bare, "main"], work);
  rmSync(work, { recursive: true, force: true });
  return bare;
}

export function listBranches(bare: string): Array<{ name: string; sha: string }> {
  const out = git(["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"], bare);
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [name = "", sha = ""] = line.split(" ");
      return { name, sha };
    });
}

/**
 * The commit a branch name, tag or (full or abbreviated) SHA names, or null. Branches win over tags, as
 * on GitHub; names git would read as options or revision expressions name nothing.
 */
export function resolveCommit(bare: string, ref: string): string | null {
  if (!ref || ref.startsWith("-") || /[\s~^:?*[\\]|\.\.|@\{/.test(ref)) return null;
  const candidates = [`refs/heads/${ref}`, `refs/tags/${ref}`];
  if (/^[0-9a-f]{4,40}$/i.test(ref)) candidates.push(ref);
  for (const candidate of candidates) {
    try {
      return git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${candidate}^{commit}`], bare).trim();
    } catch {
      // not this one
    }
  }
  return null;
}

/** The best common ancestor of two commits, or null when their histories never meet. */
export function mergeBase(bare: string, base: string, head: string): string | null {
  try {
    return git(["merge-base", base, head], bare).trim() || null;
  } catch {
    return null;
  }
}

/** How many commits head has that base lacks (ahead) and the reverse (behind). */
export function aheadBehind(bare: string, base: string, head: string): { ahead: number; behind: number } {
  const [behind = "0", ahead = "0"] = git(["rev-list", "--left-right", "--count", `${base}...${head}`], bare)
    .trim()
    .split(/\s+/);
  return { ahead: Number(ahead), behind: Number(behind) };
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  message: string;
}

const COMMIT_FORMAT = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e";

function parseCommits(out: string): CommitInfo[] {
  return out
    .split("\x1e")
    .map((record) => record.replace(/^\n/, ""))
    .filter(Boolean)
    .map((record) => {
      const [sha = "", tree = "", parents = "", an = "", ae = "", ad = "", cn = "", ce = "", cd = "", message = ""] =
        record.split("\0");
      return {
        sha,
        tree,
        parents: parents.split(" ").filter(Boolean),
        author: { name: an, email: ae, date: ad },
        committer: { name: cn, email: ce, date: cd },
        message: message.replace(/\n+$/, ""),
      };
    });
}

/** One commit's details. */
export function commitInfo(bare: string, sha: string): CommitInfo {
  return parseCommits(git(["log", "-1", `--format=${COMMIT_FORMAT}`, sha], bare))[0]!;
}

/** The commits reachable from head and not from base, oldest first (`git log base..head`, reversed). */
export function commitsBetween(bare: string, base: string, head: string): CommitInfo[] {
  return parseCommits(git(["log", "--reverse", `--format=${COMMIT_FORMAT}`, `${base}..${head}`], bare));
}

export interface FileChange {
  filename: string;
  previousFilename?: string;
  status: "added" | "removed" | "modified" | "renamed" | "copied" | "changed";
  /** The blob at head (at base for a removed file). */
  sha: string;
  additions: number;
  deletions: number;
  /** The unified diff hunks, without git's headers; absent for binary files. */
  patch?: string;
}

const STATUS: Record<string, FileChange["status"]> = {
  A: "added",
  D: "removed",
  M: "modified",
  R: "renamed",
  C: "copied",
  T: "changed",
};

/** What changed from one commit to another, file by file, with rename detection (`git diff -M from to`). */
export function diffFiles(bare: string, from: string, to: string): FileChange[] {
  const raw = git(["diff", "--raw", "-z", "-M", "--no-abbrev", from, to], bare).split("\0");
  const files: FileChange[] = [];
  for (let i = 0; i < raw.length - 1; ) {
    const meta = raw[i++]!;
    const [, , oldSha = "", newSha = "", code = ""] = meta.slice(1).split(" ");
    const letter = code[0] ?? "M";
    const first = raw[i++]!;
    const second = letter === "R" || letter === "C" ? raw[i++]! : undefined;
    files.push({
      filename: second ?? first,
      ...(second ? { previousFilename: first } : {}),
      status: STATUS[letter] ?? "modified",
      sha: letter === "D" ? oldSha : newSha,
      additions: 0,
      deletions: 0,
    });
  }
  const numstat = git(["diff", "--numstat", "-z", "-M", from, to], bare).split("\0");
  for (let i = 0, n = 0; i < numstat.length - 1 && n < files.length; n++) {
    const [added = "0", deleted = "0", path = ""] = numstat[i++]!.split("\t");
    if (path === "") i += 2; // a rename: the two paths follow as their own fields
    const file = files[n]!;
    if (added === "-") continue; // binary: no line counts, no patch
    file.additions = Number(added);
    file.deletions = Number(deleted);
    const paths = file.previousFilename ? [file.previousFilename, file.filename] : [file.filename];
    const patch = git(["diff", "--no-color", "-M", from, to, "--", ...paths], bare);
    const hunks = patch.indexOf("\n@@");
    if (hunks >= 0) file.patch = patch.slice(hunks + 1).replace(/\n$/, "");
  }
  return files;
}

export function repoSizeKb(bare: string): number {
  try {
    const out = git(["count-objects", "-v"], bare);
    const size = /size-pack: (\d+)/.exec(out)?.[1] ?? "0";
    const loose = /size: (\d+)/.exec(out)?.[1] ?? "0";
    return Number(size) + Number(loose);
  } catch {
    return 0;
  }
}

/** Runs git http-backend for one request and streams the answer back. */
export function serveGit(
  req: IncomingMessage,
  res: ServerResponse,
  projectRoot: string,
  pathInfo: string,
  query: string,
  remoteUser: string | null,
): void {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    PATH_INFO: pathInfo,
    QUERY_STRING: query,
    REQUEST_METHOD: req.method ?? "GET",
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    GATEWAY_INTERFACE: "CGI/1.1",
  };
  if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
  if (remoteUser) env.REMOTE_USER = remoteUser;
  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => {});
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf("\r\n\r\n");
    let sepLength = 4;
    if (end < 0) {
      end = head.indexOf("\n\n");
      sepLength = 2;
    }
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
      const index = line.indexOf(":");
      if (index < 0) continue;
      const name = line.slice(0, index).trim();
      const value = line.slice(index + 1).trim();
      if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]) || 200;
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end + sepLength));
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.on("close", (code) => {
    if (!headersDone) {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`git http-backend failed (${code}): ${stderr}`);
    } else res.end();
  });
  res.on("close", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
}
