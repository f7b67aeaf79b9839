// The GitHub App's own credentials: the App JWT (RS256, signed with the App's private key) and the
// installation access tokens it mints, optionally narrowed to some repositories or permissions.
import type { KeyObject } from "node:crypto";
import { errors as joseErrors, jwtVerify, decodeJwt, decodeProtectedHeader } from "jose";
import type { Request } from "../context";
import { repoJson } from "./shapes";
import { GitHubError, randomToken, type GitHubRepo, type GitHubStore, type Installation } from "./store";

export interface InstallationToken {
  id: number;
  installationId: number;
  expiresAt: number;
  /** Narrowed repositories when the token was asked for specific ones. */
  repoIds: number[] | null;
  permissions: Record<string, string>;
}

const INSTALLATION_TOKEN_LIFETIME_MS = 60 * 60_000;

/** Permission levels in order: a token may be asked for a level up to the installation's own. */
const LEVELS: Record<string, number> = { read: 1, write: 2, admin: 3 };

export class GitHubApp {
  readonly installationTokens = new Map<string, InstallationToken>();
  private nextTokenId = 1;

  constructor(
    private readonly store: GitHubStore,
    private readonly appKey: KeyObject,
  ) {}

  reset(): void {
    this.installationTokens.clear();
  }

  /** A valid, unexpired installation token (from git Basic auth or a REST header). */
  resolveInstallationToken(token: string): { installation: Installation; token: InstallationToken } | undefined {
    const entry = this.installationTokens.get(token);
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    const installation = this.store.installations.get(entry.installationId);
    if (!installation || installation.suspended_at) return undefined;
    return { installation, token: entry };
  }

  tokenRepos(installation: Installation, token: InstallationToken): GitHubRepo[] {
    const granted = this.store.installationRepos(installation);
    return token.repoIds ? granted.filter((r) => token.repoIds!.includes(r.id)) : granted;
  }

  /** Ends every token of an installation (it was deleted). */
  revokeTokens(installationId: number): void {
    for (const [token, entry] of this.installationTokens)
      if (entry.installationId === installationId) this.installationTokens.delete(token);
  }

  async verifyJwt(token: string): Promise<void> {
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
    if (
      typeof iss !== "number" &&
      !(typeof iss === "string" && (/^\d+$/.test(iss) || iss === this.store.cloud.options.githubClientId))
    ) {
      throw new GitHubError(401, "'Issuer' claim ('iss') must be an Integer");
    }
    if (issuer !== this.store.cloud.options.githubAppId && issuer !== this.store.cloud.options.githubClientId)
      throw new GitHubError(401, "Integration not found", "https://docs.github.com/rest");
    if (typeof claims.iat !== "number" || claims.iat > now + 60)
      throw new GitHubError(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.",
      );
    if (typeof claims.exp !== "number" || claims.exp <= now)
      throw new GitHubError(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.",
      );
    if (claims.exp - claims.iat > 600 || claims.exp > now + 600 + 60)
      throw new GitHubError(401, "'Expiration time' claim ('exp') is too far in the future.");
    try {
      await jwtVerify(token, this.appKey, { algorithms: ["RS256"], clockTolerance: 60 });
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw undecodable;
      throw error;
    }
  }

  /** POST /app/installations/{id}/access_tokens for an installation that is not suspended. */
  async createInstallationToken(r: Request, installation: Installation, docs: string) {
    const raw = (await r.body()).toString("utf8").trim();
    let body: { repositories?: unknown; repository_ids?: unknown; permissions?: unknown } = {};
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new GitHubError(400, "Problems parsing JSON", docs);
      }
    }
    const granted = this.store.installationRepos(installation);
    let narrowed: GitHubRepo[] | null = null;
    if (body.repositories !== undefined || body.repository_ids !== undefined) {
      narrowed = [];
      for (const name of Array.isArray(body.repositories) ? body.repositories : []) {
        const repo = granted.find((g) => g.name === name || `${g.owner}/${g.name}` === name);
        if (!repo)
          throw new GitHubError(
            422,
            "There is at least one repository that does not exist or is not accessible to the parent installation.",
            docs,
          );
        narrowed.push(repo);
      }
      for (const id of Array.isArray(body.repository_ids) ? body.repository_ids : []) {
        const repo = granted.find((g) => g.id === id);
        if (!repo)
          throw new GitHubError(
            422,
            "There is at least one repository that does not exist or is not accessible to the parent installation.",
            docs,
          );
        if (!narrowed.includes(repo)) narrowed.push(repo);
      }
    }
    // GitHub: without `permissions` the token has all the installation was granted; with it, only those
    // asked for, each no higher than granted, or the request is refused whole.
    let permissions: Record<string, string> = { ...installation.permissions };
    if (body.permissions !== undefined) {
      if (!body.permissions || typeof body.permissions !== "object" || Array.isArray(body.permissions))
        throw new GitHubError(422, "Invalid request.\n\nFor 'properties/permissions', is not an object.", docs);
      permissions = {};
      for (const [name, level] of Object.entries(body.permissions as Record<string, unknown>)) {
        const have = installation.permissions[name];
        if (typeof level !== "string" || !(level in LEVELS) || !have || LEVELS[level]! > (LEVELS[have] ?? 0))
          throw new GitHubError(422, "The permissions requested are not granted to this installation.", docs);
        permissions[name] = level;
      }
      // Metadata: Read-only is mandatory for every App, so every token carries it, asked for or not.
      if (installation.permissions.metadata && !permissions.metadata) permissions.metadata = "read";
    }
    const token = randomToken("ghs_", 36);
    const expiresAt = Date.now() + INSTALLATION_TOKEN_LIFETIME_MS;
    this.installationTokens.set(token, {
      id: this.nextTokenId++,
      installationId: installation.id,
      expiresAt,
      repoIds: narrowed?.map((r) => r.id) ?? null,
      permissions,
    });
    const answer: Record<string, unknown> = {
      token,
      expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
      permissions,
      repository_selection: narrowed ? "selected" : installation.selection,
    };
    if (narrowed) answer.repositories = narrowed.map((repo) => repoJson(this.store, repo));
    return { status: 201, body: answer };
  }
}
