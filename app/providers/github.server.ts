import { SignJWT } from "jose";
import { z } from "zod";
import {
  MAX_PAGES,
  isProviderError,
  nextLink,
  request,
  retryAfterSeconds,
  type HttpConfig,
  type Method,
  type Query,
} from "./http.server";

/**
 * GitHub REST client (API version 2022-11-28): user-token calls for sign-in and repository pickers,
 * GitHub App calls (App JWT) for installation tokens, and installation-token calls for a task's branch:
 * comparisons and pull requests.
 */

const API_VERSION = "2022-11-28";
const USER_AGENT = "simple-agent-manager";

const userSchema = z.object({
  id: z.number(),
  login: z.string(),
  name: z.string().nullable().optional(),
  email: z.string().nullable().optional(),
  avatar_url: z.string(),
  html_url: z.string().optional(),
  type: z.string().optional(),
});

const emailSchema = z.object({
  email: z.string(),
  primary: z.boolean(),
  verified: z.boolean(),
  visibility: z.string().nullable().optional(),
});

/** An installation's account is a user or organization (`login`) or an enterprise (`slug`); both read as `login`. */
export const accountSchema = z.union([
  z.object({ id: z.number(), login: z.string(), type: z.string() }),
  z
    .object({ id: z.number(), slug: z.string(), name: z.string() })
    .transform(({ id, slug }) => ({ id, login: slug, type: "Enterprise" })),
]);

const installationSchema = z.object({
  id: z.number(),
  app_id: z.number().optional(),
  app_slug: z.string().optional(),
  account: accountSchema.nullable(),
  repository_selection: z.enum(["all", "selected"]),
  target_type: z.string(),
  permissions: z.record(z.string(), z.string()),
  suspended_at: z.string().nullable().optional(),
  html_url: z.string().optional(),
});

const repositorySchema = z.object({
  id: z.number(),
  name: z.string(),
  full_name: z.string(),
  owner: z.object({ login: z.string(), id: z.number() }),
  private: z.boolean(),
  html_url: z.string(),
  clone_url: z.string().optional(),
  description: z.string().nullable().optional(),
  default_branch: z.string().optional(),
  archived: z.boolean().optional(),
  pushed_at: z.string().nullable().optional(),
});

const branchSchema = z.object({ name: z.string(), commit: z.object({ sha: z.string() }), protected: z.boolean() });

const installationTokenSchema = z.object({
  token: z.string(),
  expires_at: z.string(),
  permissions: z.record(z.string(), z.string()).optional(),
  repository_selection: z.enum(["all", "selected"]).optional(),
});

const errorSchema = z.object({
  message: z.string(),
  documentation_url: z.string().optional(),
  errors: z.array(z.unknown()).optional(),
});

/** One entry of a 422's `errors[]`: a sentence of its own (`code: "custom"`), or a field and what is wrong with it. */
const validationDetailSchema = z.object({
  resource: z.string().optional(),
  field: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});

/** "Validation Failed" says nothing by itself; GitHub puts the reason in `errors[]`, so the message carries it. */
function errorMessage(message: string, errors: unknown[] | undefined): string {
  const details = (errors ?? []).flatMap((error) => {
    if (typeof error === "string") return [error];
    const parsed = validationDetailSchema.safeParse(error);
    if (!parsed.success) return [];
    const { message: text, field, code, resource } = parsed.data;
    if (text) return [text];
    return field || code ? [[resource, field, code].filter(Boolean).join(" ")] : [];
  });
  return details.length ? `${message}: ${details.join("; ")}` : message;
}

const gitUserSchema = z.object({ name: z.string(), email: z.string(), date: z.string() }).nullable();

const diffEntrySchema = z.object({
  sha: z.string().nullable(),
  filename: z.string(),
  status: z.enum(["added", "removed", "modified", "renamed", "copied", "changed", "unchanged"]),
  additions: z.number(),
  deletions: z.number(),
  changes: z.number(),
  /** Absent for binary files and very large diffs. */
  patch: z.string().optional(),
  previous_filename: z.string().optional(),
});

const comparisonSchema = z.object({
  html_url: z.string(),
  status: z.enum(["diverged", "ahead", "behind", "identical"]),
  ahead_by: z.number(),
  behind_by: z.number(),
  total_commits: z.number(),
  commits: z.array(
    z.object({
      sha: z.string(),
      html_url: z.string(),
      commit: z.object({ message: z.string(), author: gitUserSchema, committer: gitUserSchema }),
    }),
  ),
  /** Only on the first page, at most 300 files. */
  files: z.array(diffEntrySchema).default([]),
});

const pullSideSchema = z.object({ label: z.string(), ref: z.string(), sha: z.string() });

/** A pull request as listed (pull-request-simple); the single-PR answers add the counts. */
const pullSchema = z.object({
  id: z.number(),
  number: z.number(),
  url: z.string(),
  html_url: z.string(),
  state: z.enum(["open", "closed"]),
  title: z.string(),
  body: z.string().nullable(),
  draft: z.boolean().optional(),
  user: z.object({ login: z.string() }).nullable(),
  head: pullSideSchema,
  base: pullSideSchema,
  created_at: z.string(),
  updated_at: z.string(),
  closed_at: z.string().nullable(),
  merged_at: z.string().nullable(),
});

const pullDetailSchema = pullSchema.extend({
  merged: z.boolean(),
  commits: z.number(),
  additions: z.number(),
  deletions: z.number(),
  changed_files: z.number(),
});

export type GitHubUser = z.infer<typeof userSchema>;
export type GitHubEmail = z.infer<typeof emailSchema>;
export type GitHubInstallation = z.output<typeof installationSchema>;
export type GitHubRepository = z.infer<typeof repositorySchema>;
export type GitHubBranch = z.infer<typeof branchSchema>;
export type GitHubDiffEntry = z.infer<typeof diffEntrySchema>;
export type GitHubComparison = z.output<typeof comparisonSchema>;
export type GitHubPull = z.infer<typeof pullSchema>;
export type GitHubPullDetail = z.infer<typeof pullDetailSchema>;

export interface NewPull {
  title: string;
  /** A branch of the same repository. */
  head: string;
  base: string;
  body?: string;
  draft?: boolean;
}

export interface PullChanges {
  title?: string;
  body?: string;
  state?: "open" | "closed";
}

/** `owner/name` as a path, each part encoded. */
function repoPath(repository: string): string {
  const [owner, name, ...rest] = repository.split("/");
  if (!owner || !name || rest.length) throw new Error(`"${repository}" is not an owner/name repository`);
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
}

/** A ref in a path: encoded, but with its slashes kept (`sam/fix-1a2b` stays readable, as GitHub expects). */
const refPath = (ref: string) => encodeURIComponent(ref).replace(/%2F/gi, "/");
const collaboratorPermissionSchema = z.object({
  permission: z.enum(["admin", "maintain", "write", "triage", "read", "none"]).catch("none"),
  role_name: z.string().optional(),
});

export type InstallationPermissions = Record<string, "read" | "write" | "admin">;

export interface GitHubOptions {
  apiUrl: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  retry?: Pick<HttpConfig, "maxAttempts" | "retryDelayMs" | "maxRetryWaitMs" | "retryBudgetMs">;
}

/**
 * GitHub signals a rate limit with 403 or 429. Per its docs: honour `retry-after` if present; else, when
 * `x-ratelimit-remaining` is 0, wait until `x-ratelimit-reset`; else (secondary limit) wait at least a minute.
 * A 403 without those signs is a permission error, not a rate limit.
 */
function rateLimitWait(response: Response, message: string): number | undefined {
  if (response.status !== 403 && response.status !== 429) return undefined;
  const headers = response.headers;
  if (headers.has("retry-after")) return retryAfterSeconds(headers);
  if (headers.get("x-ratelimit-remaining") === "0")
    return retryAfterSeconds(new Headers({ "x-ratelimit-reset": headers.get("x-ratelimit-reset") ?? "" })) ?? 60;
  if (response.status === 429 || /rate limit/i.test(message)) return 60;
  return undefined;
}

export function github(options: GitHubOptions) {
  const http: HttpConfig = {
    provider: "github",
    baseUrl: options.apiUrl,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    ...options.retry,
    headers: { Accept: "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION, "User-Agent": USER_AGENT },
    parseError: (response, body) => {
      const parsed = errorSchema.safeParse(body);
      const message = parsed.success
        ? errorMessage(parsed.data.message, parsed.data.errors)
        : `GitHub answered ${response.status} ${response.statusText}`.trim();
      const wait = rateLimitWait(response, message);
      return wait === undefined ? { message } : { message, code: "rate_limited", retryAfterSeconds: wait };
    },
  };

  const call = async <T>(
    token: string,
    method: Method,
    path: string,
    schema: z.ZodType<T>,
    extra: { query?: Query; body?: unknown } = {},
  ) => (await request(http, { token, method, path, schema, ...extra })).data;

  /** Follows the Link header's rel="next" until there is none; `pick` takes the items out of each page. */
  async function listAll<P, T>(
    token: string,
    path: string,
    schema: z.ZodType<P>,
    pick: (page: P) => T[],
    query: Query = {},
  ): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    let firstQuery: Query | undefined = { ...query, per_page: 100 };
    for (let count = 0; next && count < MAX_PAGES; count++) {
      const response: { data: P; headers: Headers } = await request(http, {
        token,
        path: next,
        query: firstQuery,
        schema,
      });
      items.push(...pick(response.data));
      next = nextLink(response.headers.get("link"));
      firstQuery = undefined; // the link already carries the query
    }
    return items;
  }

  const orNull = async <T>(promise: Promise<T>, ...statuses: number[]): Promise<T | null> => {
    try {
      return await promise;
    } catch (error) {
      if (statuses.some((status) => isProviderError(error, status))) return null;
      throw error;
    }
  };

  return {
    getUser: (token: string) => call(token, "GET", "/user", userSchema),

    /**
     * The primary address if it is verified, else null. A token that may not read emails (a GitHub App user
     * token without the "Email addresses" permission gets 403/404) also gives null.
     */
    async getPrimaryEmail(token: string): Promise<string | null> {
      let emails: GitHubEmail[];
      try {
        emails = await listAll(token, "/user/emails", z.array(emailSchema), (page) => page);
      } catch (error) {
        if (isProviderError(error, 404) || (isProviderError(error, 403) && error.code !== "rate_limited")) return null;
        throw error;
      }
      return emails.find((email) => email.primary && email.verified)?.email ?? null;
    },

    listUserInstallations: (token: string) =>
      listAll(
        token,
        "/user/installations",
        z.object({ total_count: z.number(), installations: z.array(installationSchema) }),
        (page) => page.installations,
      ),

    listUserInstallationRepositories: (token: string, installationId: number) =>
      listAll(
        token,
        `/user/installations/${installationId}/repositories`,
        z.object({ total_count: z.number(), repositories: z.array(repositorySchema) }),
        (page) => page.repositories,
      ),

    /** The repository, or null when it does not exist or this token cannot see it. */
    getRepository: (token: string, owner: string, repo: string) =>
      orNull(
        call(token, "GET", `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`, repositorySchema),
        404,
      ),

    listBranches: (token: string, owner: string, repo: string) =>
      listAll(
        token,
        `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/branches`,
        z.array(branchSchema),
        (page) => page,
      ),

    /** A branch's tip, or null when the repository has no such branch (or this token cannot see it). */
    async getBranch(token: string, repository: string, branch: string): Promise<GitHubBranch | null> {
      return orNull(call(token, "GET", `${repoPath(repository)}/branches/${refPath(branch)}`, branchSchema), 404);
    },

    /** The installation as the App sees it, with the permissions its owner granted (App JWT). */
    getInstallation: (appJwt: string, installationId: number) =>
      call(appJwt, "GET", `/app/installations/${installationId}`, installationSchema),

    /**
     * A user's base permission on a repository ("admin", "write", "read" or "none"), as GitHub states it for
     * collaborators; a user GitHub does not know, or a repository this token cannot see, reads as "none".
     */
    async getCollaboratorPermission(token: string, owner: string, repo: string, username: string) {
      const path = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/collaborators/${encodeURIComponent(username)}/permission`;
      const answer = await orNull(call(token, "GET", path, collaboratorPermissionSchema), 404);
      return answer?.permission ?? "none";
    },

    /**
     * What `head` has that `base` lacks (`base...head`: from their merge base), with the files changed and
     * their patches; needs Contents: read on a private repository. A ref either side that does not exist is a
     * 404 ProviderError.
     */
    compare: (token: string, repository: string, base: string, head: string) =>
      call(token, "GET", `${repoPath(repository)}/compare/${refPath(base)}...${refPath(head)}`, comparisonSchema),

    /**
     * Opens a pull request (needs Pull requests: write). GitHub's refusals are 422 ProviderErrors whose message
     * names the reason, e.g. "Validation Failed: No commits between main and sam/x" or "…: A pull request
     * already exists for owner:sam/x.". Never retried: a repeat could open a second one.
     */
    createPull: (token: string, repository: string, pull: NewPull) =>
      call(token, "POST", `${repoPath(repository)}/pulls`, pullDetailSchema, {
        body: {
          title: pull.title,
          head: pull.head,
          base: pull.base,
          ...(pull.body !== undefined ? { body: pull.body } : {}),
          ...(pull.draft !== undefined ? { draft: pull.draft } : {}),
        },
      }),

    /** The pull request, or null when there is none with that number (or this token cannot see it). */
    getPull: (token: string, repository: string, number: number) =>
      orNull(call(token, "GET", `${repoPath(repository)}/pulls/${number}`, pullDetailSchema), 404),

    /** Pull requests, newest first; `head` is a branch of this repository (sent as `owner:branch`, as GitHub needs). */
    listPulls: (
      token: string,
      repository: string,
      filter: { state?: "open" | "closed" | "all"; head?: string; base?: string } = {},
    ) =>
      listAll(token, `${repoPath(repository)}/pulls`, z.array(pullSchema), (page) => page, {
        state: filter.state,
        head: filter.head === undefined ? undefined : `${repository.split("/")[0]}:${filter.head}`,
        base: filter.base,
      }),

    /** Changes a pull request's title, body or state (closed/open); needs Pull requests: write. */
    updatePull: (token: string, repository: string, number: number, changes: PullChanges) =>
      call(token, "PATCH", `${repoPath(repository)}/pulls/${number}`, pullDetailSchema, { body: changes }),

    /** A one-hour installation token, optionally narrowed to some repositories (names) and permissions. Never retried. */
    async createInstallationToken(
      appJwt: string,
      installationId: number,
      scope: { repositories?: string[]; permissions?: InstallationPermissions } = {},
    ): Promise<{
      token: string;
      expiresAt: Date;
      permissions: Record<string, string>;
      repositorySelection?: "all" | "selected";
    }> {
      const data = await call(
        appJwt,
        "POST",
        `/app/installations/${installationId}/access_tokens`,
        installationTokenSchema,
        {
          body: {
            ...(scope.repositories ? { repositories: scope.repositories } : {}),
            ...(scope.permissions ? { permissions: scope.permissions } : {}),
          },
        },
      );
      return {
        token: data.token,
        expiresAt: new Date(data.expires_at),
        permissions: data.permissions ?? {},
        repositorySelection: data.repository_selection,
      };
    },
  };
}

export type GitHubClient = ReturnType<typeof github>;

// ---- GitHub App JWT -------------------------------------------------------------------------------------

const importedKeys = new Map<string, Promise<CryptoKey>>();

/** DER length octets: short form below 128, else 0x80|n followed by n big-endian bytes. */
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return [0x80 | bytes.length, ...bytes];
}

function derTlv(tag: number, content: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return new Uint8Array([tag, ...derLength(content.length), ...content]);
}

/**
 * Web Crypto imports only PKCS#8, and GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY"). PKCS#8 is a
 * wrapper: PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier rsaEncryption, OCTET STRING pkcs1 }.
 */
export function pkcs1ToPkcs8(pkcs1: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const version = [0x02, 0x01, 0x00];
  const rsaEncryption = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const octetString = derTlv(0x04, pkcs1);
  return derTlv(0x30, new Uint8Array([...version, ...rsaEncryption, ...octetString]));
}

function base64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Accepts a PEM as pasted, with literal "\n" escapes, or base64-encoded as a whole (handy for env files). */
function readPem(privateKey: string): { label: string; der: Uint8Array<ArrayBuffer> } {
  let text = privateKey.trim().replace(/\\n/g, "\n");
  if (!text.includes("-----BEGIN")) {
    try {
      text = atob(text.replace(/\s+/g, "")).trim().replace(/\\n/g, "\n");
    } catch {
      // not base64 either; reported below
    }
  }
  const match = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!match)
    throw new Error("The GitHub App private key is not a PEM private key: paste the .pem file GitHub generated.");
  const label = match[1]!;
  if (label !== "RSA PRIVATE KEY" && label !== "PRIVATE KEY") {
    throw new Error(`The GitHub App private key is a "${label}": use the unencrypted RSA key GitHub generated.`);
  }
  try {
    return { label, der: base64ToBytes(match[2]!.replace(/\s+/g, "")) };
  } catch {
    throw new Error("The GitHub App private key is not valid base64 inside its PEM armour.");
  }
}

function importAppKey(privateKey: string): Promise<CryptoKey> {
  let key = importedKeys.get(privateKey);
  if (!key) {
    const { label, der } = readPem(privateKey);
    const pkcs8 = label === "RSA PRIVATE KEY" ? pkcs1ToPkcs8(der) : der;
    key = crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
    key.catch(() => importedKeys.delete(privateKey));
    if (importedKeys.size >= 4) importedKeys.clear(); // one key in practice, two during rotation
    importedKeys.set(privateKey, key);
  }
  return key;
}

/**
 * The JWT a GitHub App authenticates as itself with (RS256): issued 60 s in the past against clock drift,
 * expiring after 9 minutes (GitHub allows at most 10).
 */
export async function createAppJwt({
  appId,
  privateKey,
  now = new Date(),
}: {
  appId: string | number;
  privateKey: string;
  now?: Date;
}): Promise<string> {
  const key = await importAppKey(privateKey);
  const seconds = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(String(appId))
    .setIssuedAt(seconds - 60)
    .setExpirationTime(seconds + 9 * 60)
    .sign(key);
}
