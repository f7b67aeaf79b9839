// What the GitHub stand-in holds: users, the fixture repositories, App installations and webhook deliveries,
// with the lookups every part uses; also the REST API's error and the token maker the App and OAuth share.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { CloudContext } from "../context";
import { createFixtureRepo, createRepoWithFiles, type FixtureFile } from "../git";
import { isoNow } from "../http";
import { APP_PERMISSIONS } from "./shapes";

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
  /** What the installer granted: the App's permissions when it was installed (GitHub: `permissions`). */
  permissions: Record<string, string>;
}

/** A repository role, as GitHub's collaborator permission endpoint states it. */
export type RepoPermission = "admin" | "write" | "read";

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

/** A pull request between two branches of one repository (forks are not emulated). */
export interface PullRequest {
  id: number;
  number: number;
  repoId: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  draft: boolean;
  head: string;
  base: string;
  /** The head branch's tip when last seen, kept for when the branch is deleted. */
  headSha: string;
  baseSha: string;
  /** Who opened it: a user's login, or the App's bot (`<slug>[bot]`). */
  author: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

/** A field-level validation error, as in GitHub's 422 "Validation Failed" answers. */
export interface ValidationDetail {
  resource: string;
  code: "missing" | "missing_field" | "invalid" | "already_exists" | "unprocessable" | "custom";
  field?: string;
  message?: string;
}

export class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl = "https://docs.github.com/rest",
    readonly errors?: ValidationDetail[],
  ) {
    super(message);
  }
}

export function randomToken(prefix: string, length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(length);
  let out = prefix;
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** `setup-demo`: a README and an executable `.sam/setup.sh` that leaves a marker and reports $GREETING. */
function setupDemoFiles(description: string): Record<string, FixtureFile> {
  return {
    "README.md": { content: `# setup-demo\n\n${description}\n` },
    ".sam/setup.sh": {
      executable: true,
      content: [
        "#!/bin/sh",
        "set -e",
        'date > "$HOME/setup-marker"',
        'echo "setup-demo: greeting is ${GREETING:-unset}"',
        "exit 0",
        "",
      ].join("\n"),
    },
  };
}

export class GitHubStore {
  readonly users = new Map<string, GitHubUser>();
  readonly repos: GitHubRepo[] = [];
  readonly installations = new Map<number, Installation>();
  readonly deliveries: Delivery[] = [];
  /** Collaborators other than the owner, per repository id. */
  readonly collaborators = new Map<number, Map<string, RepoPermission>>();
  readonly pulls: PullRequest[] = [];
  private nextPullId = 2_000_000_001;
  private nextUserId = 1003;
  private nextInstallationId = 40_000_001;
  readonly gitRoot: string;

  constructor(readonly cloud: CloudContext) {
    this.gitRoot = join(cloud.dir, "git");
    this.seed();
  }

  private seed(): void {
    const created = "2024-01-15T10:00:00Z";
    this.addUser({
      id: 1001,
      login: this.cloud.options.githubLogin,
      name: "SAM Developer",
      email: `${this.cloud.options.githubLogin}@example.test`,
      emailVerified: true,
      created_at: created,
    });
    if (this.cloud.options.githubLogin !== "sam-other") {
      this.addUser({
        id: 1002,
        login: "sam-other",
        name: "Other Developer",
        email: "sam-other@example.test",
        emailVerified: true,
        created_at: created,
      });
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
    const setupDemo = "A public fixture repository with a .sam/setup.sh that workspaces run after cloning.";
    this.repos.push({
      id: id++,
      owner: dev,
      name: "setup-demo",
      private: false,
      description: setupDemo,
      bare: createRepoWithFiles(this.gitRoot, dev, "setup-demo", setupDemoFiles(setupDemo)),
      created_at: created,
    });
  }

  reset(): void {
    this.installations.clear();
    this.collaborators.clear();
    this.deliveries.length = 0;
    this.pulls.length = 0;
  }

  /** Opens a pull request numbered after the repository's last one. */
  addPull(input: Omit<PullRequest, "id" | "number" | "created_at" | "updated_at" | "closed_at">): PullRequest {
    const now = isoNow();
    const number = Math.max(0, ...this.pulls.filter((p) => p.repoId === input.repoId).map((p) => p.number)) + 1;
    const pull: PullRequest = {
      ...input,
      id: this.nextPullId++,
      number,
      created_at: now,
      updated_at: now,
      closed_at: null,
    };
    this.pulls.push(pull);
    return pull;
  }

  addUser(user: GitHubUser): GitHubUser {
    this.users.set(user.login.toLowerCase(), user);
    return user;
  }

  createUser(input: { login?: unknown; name?: unknown; email?: unknown; email_verified?: unknown }): GitHubUser {
    if (typeof input.login !== "string" || !/^[a-zA-Z0-9](-?[a-zA-Z0-9]){0,38}$/.test(input.login))
      throw new Error("login must be a GitHub-style login");
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

  /** Installs the App on an account; callers first check the account has no installation. */
  addInstallation(
    account: string,
    selection: Installation["selection"],
    repoIds: number[],
    permissions: Record<string, string> = APP_PERMISSIONS,
  ): Installation {
    const now = isoNow();
    const installation: Installation = {
      id: this.nextInstallationId++,
      account,
      selection,
      repoIds,
      created_at: now,
      updated_at: now,
      suspended_at: null,
      suspended_by: null,
      permissions: { ...permissions },
    };
    this.installations.set(installation.id, installation);
    return installation;
  }

  get web(): string {
    return `${this.cloud.url}/github`;
  }

  get api(): string {
    return `${this.cloud.url}/github-api`;
  }

  userOf(login: string): GitHubUser {
    return this.users.get(login.toLowerCase())!;
  }

  findRepo(owner: string, name: string): GitHubRepo | undefined {
    return this.repos.find(
      (r) => r.owner.toLowerCase() === owner.toLowerCase() && r.name.toLowerCase() === name.toLowerCase(),
    );
  }

  /** A user's base permission on a repository: the owner's is admin; a stranger reads a public one only. */
  permissionOf(repo: GitHubRepo, login: string): RepoPermission | "none" {
    if (repo.owner.toLowerCase() === login.toLowerCase()) return "admin";
    const collaborator = this.collaborators.get(repo.id)?.get(login.toLowerCase());
    if (collaborator) return collaborator;
    return repo.private ? "none" : "read";
  }

  /** Repositories an installation grants: all of the account's, or the selected ones. */
  installationRepos(installation: Installation): GitHubRepo[] {
    return this.repos.filter(
      (r) =>
        r.owner === installation.account && (installation.selection === "all" || installation.repoIds.includes(r.id)),
    );
  }
}
