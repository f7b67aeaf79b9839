// Cloudflare API v4 subset: token verify, zones, DNS records, Origin CA, and the account resources the
// self-hosting wizard creates (D1, KV, R2, Pages). Every answer uses the v4 envelope; this class checks the
// token and the rate limit, wraps answers and errors, and routes to the parts.
import { randomBytes } from "node:crypto";
import type { CloudContext, Request } from "../context";
import { BodyTooLargeError, sendJson } from "../http";
import type { OriginCa } from "../origin-ca";
import { RefillingLimiter } from "../rate-limit";
import { accountsRoute } from "./accounts";
import { type Answer, authError, CloudflareError, fail, noUri } from "./api";
import { certificatesRoute } from "./certificates";
import { recordJson } from "./dns";
import { type ApiToken, CloudflareStore, type DnsRecord } from "./store";
import { zonesRoute } from "./zones";

const isVerify = (path: string) => path === "/user/tokens/verify" || /^\/accounts\/[^/]+\/tokens\/verify$/.test(path);

export class Cloudflare {
  readonly limiter = new RefillingLimiter(1200, 300);
  private readonly store: CloudflareStore;

  constructor(private readonly cloud: CloudContext) {
    this.store = new CloudflareStore(cloud);
  }

  get accountId(): string {
    return this.store.accountId;
  }

  /** The zone's name (its apex), below which the edge serves proxied names. */
  get zoneName(): string {
    return this.store.zoneName;
  }

  /** The local Origin CA that signs the certificates (tests check signatures against it). */
  get ca(): OriginCa {
    return this.store.ca;
  }

  reset(): void {
    this.store.reset();
    this.limiter.reset();
  }

  addToken(token: string, permissions: string[], owner: "user" | "account" = "user"): { id: string } {
    return this.store.addToken(token, permissions, owner);
  }

  setR2Enabled(enabled: boolean): void {
    this.store.r2Enabled = enabled;
  }

  /** The proxied A record for a hostname, as the edge sees it. */
  proxiedRecord(hostname: string): DnsRecord | undefined {
    const name = hostname.toLowerCase();
    return [...this.store.records.values()].find((r) => r.name === name && r.type === "A" && r.proxied);
  }

  async handle(r: Request): Promise<void> {
    const header = r.req.headers.authorization;
    const token = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header ?? "")?.[1];
    const known = token ? this.store.tokens.get(token) : undefined;
    const budget = this.limiter.take(known ? `token:${token}` : `ip:${r.req.socket.remoteAddress}`);
    const headers: Record<string, string> = {
      Ratelimit: `"default";r=${budget.remaining};t=${Math.max(0, budget.reset - Math.floor(Date.now() / 1000))}`,
      "Ratelimit-Policy": `"default";q=${budget.limit};w=300`,
      "CF-Ray": `${randomBytes(8).toString("hex")}-LCL`,
    };
    try {
      if (!budget.allowed) {
        headers["Retry-After"] = String(Math.max(1, budget.reset - Math.floor(Date.now() / 1000)));
        throw new CloudflareError(429, [
          { code: 971, message: "Please wait and consider throttling your request speed" },
        ]);
      }
      if (!header)
        throw new CloudflareError(400, [
          { code: 9106, message: "Missing X-Auth-Key, X-Auth-Email or Authorization headers" },
        ]);
      if (!token)
        throw new CloudflareError(400, [
          {
            code: 6003,
            message: "Invalid request headers",
            error_chain: [{ code: 6111, message: "Invalid format for Authorization header" }],
          },
        ]);
      if (!known) {
        if (isVerify(r.path)) throw fail(401, 1000, "Invalid API Token");
        throw authError();
      }
      const result = await this.route(r, known);
      sendJson(
        r.res,
        result.status ?? 200,
        {
          success: true,
          errors: [],
          messages: result.messages ?? [],
          result: result.result,
          ...(result.result_info ? { result_info: result.result_info } : {}),
        },
        headers,
      );
    } catch (error) {
      if (error instanceof CloudflareError) {
        sendJson(r.res, error.status, { success: false, errors: error.errors, messages: [], result: null }, headers);
      } else if (error instanceof BodyTooLargeError) {
        sendJson(
          r.res,
          413,
          { success: false, errors: [{ code: 9207, message: "Request body too large" }], messages: [], result: null },
          headers,
        );
      } else {
        this.cloud.options.log(`cloudflare: ${(error as Error).stack ?? error}`);
        sendJson(
          r.res,
          500,
          { success: false, errors: [{ code: 10001, message: "Internal server error" }], messages: [], result: null },
          headers,
        );
      }
    }
  }

  private async route(r: Request, token: ApiToken): Promise<Answer> {
    const parts = r.path.split("/").filter(Boolean);
    const only = (...methods: string[]) => {
      if (!methods.includes(r.method)) throw fail(405, 7001, "Method not allowed for this endpoint");
    };
    if (isVerify(r.path)) {
      only("GET");
      // Each kind of token verifies only at its own endpoint; the other answers as for an unknown token.
      const accountPath = `/accounts/${this.store.accountId}/tokens/verify`;
      const own = token.owner === "account" ? accountPath : "/user/tokens/verify";
      if (r.path !== own) throw fail(401, 1000, "Invalid API Token");
      return {
        result: { id: token.id, status: "active" },
        messages: [{ code: 10000, message: "This API Token is valid and active" }],
      };
    }
    if (parts[0] === "zones") return zonesRoute(this.store, r, parts, token, only);
    if (parts[0] === "certificates") return certificatesRoute(this.store, r, parts, token, only);
    if (parts[0] === "accounts") return accountsRoute(this.store, r, parts, token, only);
    throw noUri();
  }

  state() {
    return {
      zone: { id: this.store.zoneId, name: this.store.zoneName, account_id: this.store.accountId },
      dns_records: [...this.store.records.values()].map((r) => recordJson(this.store, r)),
      origin_certificates: [...this.store.certificates.values()].map((c) => ({
        id: c.id,
        hostnames: c.hostnames,
        request_type: c.request_type,
        expires_on: c.expires_on,
        revoked_at: c.revoked_at,
      })),
      tokens: [...this.store.tokens.values()].map((t) => ({
        id: t.id,
        owner: t.owner,
        permissions: [...t.permissions],
      })),
      r2_enabled: this.store.r2Enabled,
      d1: this.store.d1,
      kv_namespaces: this.store.kv,
      r2_buckets: this.store.r2,
      pages_projects: this.store.pages.map((p) => ({ id: p.id, name: p.name })),
    };
  }
}
