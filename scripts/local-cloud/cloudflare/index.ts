// Cloudflare API v4 subset: token verify, zones, DNS records, Origin CA, and the account resources the
// self-hosting wizard creates (D1, KV, R2, Pages). Every answer uses the v4 envelope.
import { randomBytes, randomUUID } from "node:crypto";
import { isIP } from "node:net";
import { join } from "node:path";
import type { CloudContext, Request } from "../context";
import { BodyTooLargeError, intParam, sendJson } from "../http";
import { OriginCa } from "../origin-ca";
import { RefillingLimiter } from "../rate-limit";

export interface DnsRecord {
  id: string;
  name: string;
  type: "A" | "AAAA" | "CNAME" | "TXT";
  content: string;
  proxied: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
  created_on: string;
  modified_on: string;
}

interface OriginCertificate {
  id: string;
  certificate: string;
  csr: string;
  hostnames: string[];
  request_type: string;
  requested_validity: number;
  expires_on: string;
  revoked_at: string | null;
}

interface ApiToken {
  id: string;
  /** "*" grants everything. */
  permissions: Set<string>;
}

type Message = { code: number; message: string; error_chain?: Message[] };

class CloudflareError extends Error {
  constructor(
    readonly status: number,
    readonly errors: Message[],
  ) {
    super(errors[0]?.message ?? "error");
  }
}

const fail = (status: number, code: number, message: string) => new CloudflareError(status, [{ code, message }]);
const authError = () => fail(403, 10000, "Authentication error");
const noRoute = (path: string) =>
  fail(400, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
const HEX32 = /^[0-9a-f]{32}$/;
const PROXIABLE = new Set(["A", "AAAA", "CNAME"]);
const VALIDITIES = [7, 30, 90, 365, 730, 1095, 5475];

/** Permission names (see docs/local-cloud.md): what each group of endpoints needs. */
const CLOUDFLARE_PERMISSIONS = [
  "zone:read",
  "dns_records:read",
  "dns_records:edit",
  "ssl_and_certificates:edit",
  "d1:edit",
  "workers_kv:edit",
  "r2:edit",
  "pages:edit",
  "account:read",
] as const;
type CloudflarePermission = (typeof CLOUDFLARE_PERMISSIONS)[number];

export class Cloudflare {
  readonly accountId = "0000000000000000000000000000acc1";
  readonly records = new Map<string, DnsRecord>();
  readonly certificates = new Map<string, OriginCertificate>();
  readonly tokens = new Map<string, ApiToken>();
  readonly d1: Array<{
    uuid: string;
    name: string;
    version: string;
    created_at: string;
    num_tables: number;
    file_size: number;
  }> = [];
  readonly kv: Array<{ id: string; title: string; supports_url_encoding: boolean }> = [];
  readonly r2: Array<{ name: string; creation_date: string; location: string; storage_class: string }> = [];
  readonly pages: Array<Record<string, unknown>> = [];
  readonly limiter = new RefillingLimiter(1200, 300);
  readonly ca: OriginCa;
  private readonly zoneCreated = new Date().toISOString();

  constructor(private readonly cloud: CloudContext) {
    this.ca = new OriginCa(join(cloud.dir, "origin-ca"));
    this.resetTokens();
  }

  get zoneName(): string {
    return this.cloud.options.baseDomain.toLowerCase();
  }

  private resetTokens(): void {
    this.tokens.clear();
    this.tokens.set(this.cloud.options.cloudflareApiToken, {
      id: randomBytes(16).toString("hex"),
      permissions: new Set(this.cloud.options.cloudflareTokenPermissions ?? ["*"]),
    });
  }

  reset(): void {
    this.records.clear();
    this.certificates.clear();
    this.d1.length = 0;
    this.kv.length = 0;
    this.r2.length = 0;
    this.pages.length = 0;
    this.limiter.reset();
    this.resetTokens();
  }

  addToken(token: string, permissions: string[]): { id: string } {
    const entry = { id: randomBytes(16).toString("hex"), permissions: new Set(permissions) };
    this.tokens.set(token, entry);
    return { id: entry.id };
  }

  /** The proxied A record for a hostname, as the edge sees it. */
  proxiedRecord(hostname: string): DnsRecord | undefined {
    const name = hostname.toLowerCase();
    return [...this.records.values()].find((r) => r.name === name && r.type === "A" && r.proxied);
  }

  async handle(r: Request): Promise<void> {
    const header = r.req.headers.authorization;
    const token = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header ?? "")?.[1];
    const known = token ? this.tokens.get(token) : undefined;
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
        if (r.path === "/user/tokens/verify") throw fail(401, 1000, "Invalid API Token");
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

  private can(token: ApiToken, ...needed: CloudflarePermission[]): boolean {
    return token.permissions.has("*") || needed.some((p) => token.permissions.has(p));
  }

  private require(token: ApiToken, ...needed: CloudflarePermission[]): void {
    if (!this.can(token, ...needed)) throw authError();
  }

  private async json(r: Request): Promise<Record<string, unknown>> {
    const raw = (await r.body()).toString("utf8");
    try {
      const value = JSON.parse(raw || "{}");
      if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {}
    throw fail(400, 9207, "Request body is invalid.");
  }

  private paginate<T>(r: Request, items: T[], defaults: { perPage: number; min: number; max: number }) {
    const page = intParam(r.url, "page") ?? 1;
    const perPageRaw = intParam(r.url, "per_page") ?? defaults.perPage;
    if (!Number.isInteger(page) || page < 1) throw fail(400, 1004, "page must be a positive integer");
    if (!Number.isInteger(perPageRaw)) throw fail(400, 1004, "per_page must be an integer");
    const perPage = Math.min(defaults.max, Math.max(defaults.min, perPageRaw));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return {
      result: slice,
      result_info: {
        page,
        per_page: perPage,
        count: slice.length,
        total_count: items.length,
        total_pages: Math.max(1, Math.ceil(items.length / perPage)),
      },
    };
  }

  zoneJson() {
    return {
      id: this.cloud.options.cloudflareZoneId,
      name: this.zoneName,
      status: "active",
      paused: false,
      type: "full",
      development_mode: 0,
      name_servers: ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
      original_name_servers: null,
      original_registrar: null,
      original_dnshost: null,
      created_on: this.zoneCreated,
      modified_on: this.zoneCreated,
      activated_on: this.zoneCreated,
      meta: { step: 4, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
      owner: {
        id: "00000000000000000000000000001001",
        type: "user",
        email: `${this.cloud.options.githubLogin}@example.test`,
      },
      account: { id: this.accountId, name: "Local Cloud" },
      tenant: { id: null, name: null },
      tenant_unit: { id: null },
      permissions: ["#dns_records:edit", "#dns_records:read", "#zone:read"],
      plan: {
        id: "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
        name: "Free Website",
        price: 0,
        currency: "USD",
        frequency: "",
        is_subscribed: false,
        can_subscribe: false,
        legacy_id: "free",
        legacy_discount: false,
        externally_managed: false,
      },
    };
  }

  recordJson(record: DnsRecord) {
    return {
      id: record.id,
      zone_id: this.cloud.options.cloudflareZoneId,
      zone_name: this.zoneName,
      name: record.name,
      type: record.type,
      content: record.content,
      proxiable: PROXIABLE.has(record.type),
      proxied: record.proxied,
      ttl: record.ttl,
      settings: {},
      meta: { auto_added: false, managed_by_apps: false, managed_by_argo_tunnel: false, source: "primary" },
      // Records without a comment carry no comment key (the 2024 description types it as a plain string).
      ...(record.comment !== null ? { comment: record.comment } : {}),
      tags: record.tags,
      created_on: record.created_on,
      modified_on: record.modified_on,
    };
  }

  private async route(
    r: Request,
    token: ApiToken,
  ): Promise<{ status?: number; result: unknown; result_info?: object; messages?: Message[] }> {
    const parts = r.path.split("/").filter(Boolean);
    const only = (...methods: string[]) => {
      if (!methods.includes(r.method)) throw fail(405, 7001, "Method not allowed for this endpoint");
    };
    if (r.path === "/user/tokens/verify") {
      only("GET");
      return {
        result: { id: token.id, status: "active" },
        messages: [{ code: 10000, message: "This API Token is valid and active" }],
      };
    }
    if (parts[0] === "zones") return this.zonesRoute(r, parts, token, only);
    if (parts[0] === "certificates") return this.certificatesRoute(r, parts, token, only);
    if (parts[0] === "accounts") return this.accountsRoute(r, parts, token, only);
    throw fail(400, 7000, "No route for that URI");
  }

  private zoneScoped(token: ApiToken): boolean {
    return this.can(token, "zone:read", "dns_records:read", "dns_records:edit", "ssl_and_certificates:edit");
  }

  private async zonesRoute(r: Request, parts: string[], token: ApiToken, only: (...m: string[]) => void) {
    if (parts.length === 1) {
      only("GET");
      const name = r.url.searchParams.get("name");
      const visible = this.zoneScoped(token) ? [this.zoneJson()] : [];
      const accountId = r.url.searchParams.get("account.id");
      const matching = visible.filter(
        (z) => (!name || z.name === name.toLowerCase()) && (!accountId || z.account.id === accountId),
      );
      return this.paginate(r, matching, { perPage: 20, min: 5, max: 50 });
    }
    const zoneId = parts[1]!;
    if (!HEX32.test(zoneId)) throw noRoute(`/zones/${zoneId}`);
    if (zoneId !== this.cloud.options.cloudflareZoneId || !this.zoneScoped(token)) throw authError();
    if (parts.length === 2) {
      only("GET");
      return { result: this.zoneJson() };
    }
    if (parts[2] !== "dns_records") throw fail(400, 7000, "No route for that URI");
    if (parts.length === 3) {
      only("GET", "POST");
      if (r.method === "GET") {
        this.require(token, "dns_records:read", "dns_records:edit");
        return this.listRecords(r);
      }
      this.require(token, "dns_records:edit");
      const record = this.validateRecord(await this.json(r), undefined);
      this.records.set(record.id, record);
      return { result: this.recordJson(record) };
    }
    if (parts.length !== 4) throw fail(400, 7000, "No route for that URI");
    const recordId = parts[3]!;
    if (!HEX32.test(recordId)) throw noRoute(`/zones/${zoneId}/dns_records/${recordId}`);
    only("GET", "PATCH", "PUT", "DELETE");
    this.require(
      token,
      ...(r.method === "GET" ? (["dns_records:read", "dns_records:edit"] as const) : (["dns_records:edit"] as const)),
    );
    const existing = this.records.get(recordId);
    if (!existing) throw fail(404, 81044, "Record does not exist.");
    if (r.method === "GET") return { result: this.recordJson(existing) };
    if (r.method === "DELETE") {
      this.records.delete(recordId);
      return { result: { id: recordId } };
    }
    const body = await this.json(r);
    const merged =
      r.method === "PATCH"
        ? {
            type: existing.type,
            name: existing.name,
            content: existing.content,
            proxied: existing.proxied,
            ttl: existing.ttl,
            comment: existing.comment,
            tags: existing.tags,
            ...body,
          }
        : body;
    const updated = this.validateRecord(merged, existing);
    this.records.set(recordId, updated);
    return { result: this.recordJson(updated) };
  }

  private listRecords(r: Request) {
    const q = r.url.searchParams;
    const name = q.get("name") ?? q.get("name.exact");
    const type = q.get("type");
    const content = q.get("content") ?? q.get("content.exact");
    const proxied = q.get("proxied");
    const order = q.get("order") ?? "type";
    const direction = q.get("direction") === "desc" ? -1 : 1;
    if (!["type", "name", "content", "ttl", "proxied"].includes(order)) throw fail(400, 1004, "Invalid order");
    const match = q.get("match") ?? "all";
    if (match !== "all" && match !== "any") throw fail(400, 1004, "match must be 'all' or 'any'");
    // Each given filter is one condition; `match` says whether a record needs all of them or any.
    const conditions: Array<(rec: DnsRecord) => boolean> = [];
    if (name) conditions.push((rec) => rec.name === this.normalizeName(name));
    if (type) conditions.push((rec) => rec.type === type.toUpperCase());
    if (content) conditions.push((rec) => rec.content === content);
    if (proxied !== null) conditions.push((rec) => String(rec.proxied) === proxied);
    conditions.push(...commentConditions(q));
    const matching = [...this.records.values()]
      .filter(
        (rec) =>
          conditions.length === 0 ||
          (match === "all" ? conditions.every((test) => test(rec)) : conditions.some((test) => test(rec))),
      )
      .sort((a, b) => {
        const key = order as keyof DnsRecord;
        const x = String(a[key]);
        const y = String(b[key]);
        return (x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0) * direction;
      })
      .map((rec) => this.recordJson(rec));
    return this.paginate(r, matching, { perPage: 100, min: 5, max: 5_000_000 });
  }

  /** "@" is the apex; a name outside the zone gets the zone appended, as the dashboard and API do. */
  private normalizeName(name: string): string {
    const lower = name.trim().toLowerCase().replace(/\.$/, "");
    if (lower === "@" || lower === "") return this.zoneName;
    if (lower === this.zoneName || lower.endsWith(`.${this.zoneName}`)) return lower;
    return `${lower}.${this.zoneName}`;
  }

  private validateRecord(body: Record<string, unknown>, existing: DnsRecord | undefined): DnsRecord {
    const type = typeof body.type === "string" ? body.type.toUpperCase() : undefined;
    if (!type) throw fail(400, 9000, "DNS record type is required.");
    if (!["A", "AAAA", "CNAME", "TXT"].includes(type))
      throw fail(400, 9004, `DNS record type "${type}" is not supported by the local cloud.`);
    if (typeof body.name !== "string" || body.name.trim() === "") throw fail(400, 9000, "DNS name is invalid.");
    const name = this.normalizeName(body.name);
    if (
      !/^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name) ||
      name.length > 253
    )
      throw fail(400, 9000, "DNS name is invalid.");
    if (typeof body.content !== "string" || body.content === "") throw fail(400, 9005, "Content is required.");
    let content = body.content;
    if (type === "A" && isIP(content) !== 4)
      throw fail(400, 9005, "Content for A record must be a valid IPv4 address.");
    if (type === "AAAA" && isIP(content) !== 6)
      throw fail(400, 9005, "Content for AAAA record must be a valid IPv6 address.");
    if (type === "CNAME") {
      content = content.toLowerCase().replace(/\.$/, "");
      if (!/^[a-z0-9_.-]+$/.test(content)) throw fail(400, 9005, "Content for CNAME record is invalid.");
    }
    if (type === "TXT" && content.length > 2048) throw fail(400, 9005, "Content for TXT record is too long.");
    if (body.proxied !== undefined && typeof body.proxied !== "boolean")
      throw fail(400, 9003, "Invalid 'proxied' value, must be a boolean.");
    const proxied = (body.proxied as boolean | undefined) ?? false;
    if (proxied && !PROXIABLE.has(type)) throw fail(400, 9004, `This record type cannot be proxied.`);
    let ttl: unknown = body.ttl === undefined ? 1 : body.ttl;
    if (typeof ttl !== "number" || !Number.isInteger(ttl) || (ttl !== 1 && (ttl < 60 || ttl > 86400)))
      throw fail(400, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.");
    if (proxied) ttl = 1;
    if (
      body.comment !== undefined &&
      body.comment !== null &&
      (typeof body.comment !== "string" || body.comment.length > 100)
    )
      throw fail(400, 9100, "Comment is invalid: at most 100 characters.");
    const tags = body.tags === undefined ? [] : body.tags;
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || !t.includes(":")))
      throw fail(400, 9101, "Tags must be name:value strings.");
    for (const other of this.records.values()) {
      if (other.id === existing?.id || other.name !== name) continue;
      if (other.type === type && other.content === content)
        throw fail(400, 81058, "An identical record already exists.");
      const addressTypes = ["A", "AAAA", "CNAME"];
      if (
        (type === "CNAME" && addressTypes.includes(other.type)) ||
        (other.type === "CNAME" && addressTypes.includes(type))
      ) {
        throw fail(400, 81053, "An A, AAAA, or CNAME record with that host already exists.");
      }
    }
    const now = new Date().toISOString();
    return {
      id: existing?.id ?? randomBytes(16).toString("hex"),
      name,
      type: type as DnsRecord["type"],
      content,
      proxied,
      ttl: ttl as number,
      comment: (body.comment as string | null | undefined) ?? null,
      tags: tags as string[],
      created_on: existing?.created_on ?? now,
      modified_on: now,
    };
  }

  // Origin CA -------------------------------------------------------------------------------------------

  private certificateJson(cert: OriginCertificate) {
    return {
      id: cert.id,
      certificate: cert.certificate,
      csr: cert.csr,
      hostnames: cert.hostnames,
      request_type: cert.request_type,
      requested_validity: cert.requested_validity,
      expires_on: cert.expires_on,
      ...(cert.revoked_at ? { revoked_at: cert.revoked_at } : {}),
    };
  }

  private inZone(hostname: string): boolean {
    const host = hostname.toLowerCase().replace(/^\*\./, "");
    return host === this.zoneName || host.endsWith(`.${this.zoneName}`);
  }

  private async certificatesRoute(r: Request, parts: string[], token: ApiToken, only: (...m: string[]) => void) {
    this.require(token, "ssl_and_certificates:edit");
    if (parts.length === 1) {
      only("GET", "POST");
      if (r.method === "GET") {
        const zoneId = r.url.searchParams.get("zone_id");
        if (!zoneId) throw fail(400, 1001, "zone_id is required");
        if (zoneId !== this.cloud.options.cloudflareZoneId) throw authError();
        const live = [...this.certificates.values()].filter((c) => !c.revoked_at).map((c) => this.certificateJson(c));
        return this.paginate(r, live, { perPage: 50, min: 5, max: 1000 });
      }
      const body = await this.json(r);
      const { csr, hostnames, request_type } = body;
      const validity: unknown = body.requested_validity === undefined ? 5475 : body.requested_validity;
      if (typeof csr !== "string" || !csr.includes("BEGIN CERTIFICATE REQUEST"))
        throw fail(400, 1001, "CSR is required and must be a PEM certificate request.");
      if (
        !Array.isArray(hostnames) ||
        hostnames.length === 0 ||
        hostnames.some((h) => typeof h !== "string" || h === "")
      )
        throw fail(400, 1002, "hostnames must be a non-empty list of hostnames.");
      if (!["origin-rsa", "origin-ecc", "keyless-certificate"].includes(String(request_type)))
        throw fail(400, 1003, "request_type must be one of origin-rsa, origin-ecc, keyless-certificate.");
      if (typeof validity !== "number" || !VALIDITIES.includes(validity))
        throw fail(400, 1004, `requested_validity must be one of ${VALIDITIES.join(", ")}.`);
      for (const host of hostnames as string[]) {
        if (!this.inZone(host))
          throw fail(
            400,
            1010,
            `Failed to validate requested hostname ${host}: This zone is either not part of your account, or you do not have access to it. Please contact support if using a multi-user organization.`,
          );
      }
      const inspected = this.ca.inspectCsr(csr);
      if ("error" in inspected) throw fail(400, 1001, inspected.error);
      const wanted = request_type === "origin-ecc" ? "ec" : "rsa";
      if (request_type !== "keyless-certificate" && inspected.keyType !== wanted)
        throw fail(400, 1005, `The CSR key type does not match request_type ${String(request_type)}.`);
      const signed = this.ca.sign(csr, hostnames as string[], validity);
      const cert: OriginCertificate = {
        id: signed.serial,
        certificate: signed.certificate,
        csr,
        hostnames: hostnames as string[],
        request_type: String(request_type),
        requested_validity: validity as number,
        expires_on: signed.expiresOn.toISOString(),
        revoked_at: null,
      };
      this.certificates.set(cert.id, cert);
      return { result: this.certificateJson(cert) };
    }
    if (parts.length !== 2) throw fail(400, 7000, "No route for that URI");
    only("GET", "DELETE");
    const cert = this.certificates.get(parts[1]!);
    if (!cert || (cert.revoked_at && r.method === "DELETE")) throw fail(404, 1006, "Certificate not found.");
    if (r.method === "GET") return { result: this.certificateJson(cert) };
    cert.revoked_at = new Date().toISOString();
    return { result: { id: cert.id, revoked_at: cert.revoked_at } };
  }

  // Accounts (self-hosting wizard) -----------------------------------------------------------------------

  private async accountsRoute(r: Request, parts: string[], token: ApiToken, only: (...m: string[]) => void) {
    if (parts.length === 1) {
      only("GET");
      return this.paginate(
        r,
        [
          {
            id: this.accountId,
            name: "Local Cloud",
            type: "standard",
            settings: { enforce_twofactor: false },
            created_on: this.zoneCreated,
          },
        ],
        { perPage: 20, min: 5, max: 50 },
      );
    }
    const accountId = parts[1]!;
    if (!HEX32.test(accountId)) throw noRoute(`/accounts/${accountId}`);
    if (accountId !== this.accountId) throw authError();
    const resource = parts.slice(2).join("/");
    const now = new Date().toISOString();
    const named = (body: Record<string, unknown>, key: string, pattern: RegExp, code: number, what: string) => {
      const value = body[key];
      if (typeof value !== "string" || !pattern.test(value)) throw fail(400, code, `${what} is invalid.`);
      return value;
    };
    switch (resource) {
      case "d1/database": {
        only("GET", "POST");
        this.require(token, "d1:edit");
        if (r.method === "GET") {
          const name = r.url.searchParams.get("name");
          return this.paginate(
            r,
            this.d1.filter((d) => !name || d.name === name),
            { perPage: 100, min: 10, max: 10000 },
          );
        }
        const name = named(await this.json(r), "name", /^[a-z0-9][a-z0-9_-]{0,63}$/i, 7400, "The database name");
        if (this.d1.some((d) => d.name === name)) throw fail(400, 7502, "A database with that name already exists");
        const db = { uuid: randomUUID(), name, version: "production", created_at: now, num_tables: 0, file_size: 0 };
        this.d1.push(db);
        return { result: { uuid: db.uuid, name: db.name, version: db.version, created_at: db.created_at } };
      }
      case "storage/kv/namespaces": {
        only("GET", "POST");
        this.require(token, "workers_kv:edit");
        if (r.method === "GET") return this.paginate(r, this.kv, { perPage: 20, min: 5, max: 100 });
        const title = named(await this.json(r), "title", /^.{1,512}$/, 10019, "The namespace title");
        if (this.kv.some((n) => n.title === title))
          throw fail(400, 10014, "a namespace with this account ID and title already exists");
        const ns = { id: randomBytes(16).toString("hex"), title, supports_url_encoding: true };
        this.kv.push(ns);
        return { result: ns };
      }
      case "r2/buckets": {
        only("GET", "POST");
        this.require(token, "r2:edit");
        // The live API answers { buckets: [...] } (the 2024 description says an array; the live docs win).
        if (r.method === "GET") return { result: { buckets: this.r2 } };
        const body = await this.json(r);
        const name = named(body, "name", /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 10005, "The bucket name");
        if (this.r2.some((b) => b.name === name))
          throw fail(409, 10004, "The bucket you tried to create already exists, and you own it.");
        const bucket = {
          name,
          creation_date: now,
          location: typeof body.locationHint === "string" ? body.locationHint.toLowerCase() : "weur",
          storage_class: "Standard",
        };
        this.r2.push(bucket);
        return { result: bucket };
      }
      case "pages/projects": {
        only("GET", "POST");
        this.require(token, "pages:edit");
        if (r.method === "GET") return this.paginate(r, this.pages, { perPage: 10, min: 1, max: 100 });
        const body = await this.json(r);
        const name = named(body, "name", /^[a-z0-9][a-z0-9-]{0,57}$/, 8000007, "The project name");
        if (this.pages.some((p) => p.name === name))
          throw fail(409, 8000002, "A project with this name already exists. Choose a different project name.");
        const project = {
          id: randomUUID(),
          name,
          subdomain: `${name}.pages.dev`,
          domains: [`${name}.pages.dev`],
          production_branch: typeof body.production_branch === "string" ? body.production_branch : "main",
          created_on: now,
          build_config: body.build_config ?? {},
          deployment_configs: body.deployment_configs ?? { preview: {}, production: {} },
          source: null,
          latest_deployment: null,
          canonical_deployment: null,
        };
        this.pages.push(project);
        return { result: project };
      }
      default:
        throw fail(400, 7000, "No route for that URI");
    }
  }

  state() {
    return {
      zone: { id: this.cloud.options.cloudflareZoneId, name: this.zoneName, account_id: this.accountId },
      dns_records: [...this.records.values()].map((r) => this.recordJson(r)),
      origin_certificates: [...this.certificates.values()].map((c) => ({
        id: c.id,
        hostnames: c.hostnames,
        request_type: c.request_type,
        expires_on: c.expires_on,
        revoked_at: c.revoked_at,
      })),
      tokens: [...this.tokens.values()].map((t) => ({ id: t.id, permissions: [...t.permissions] })),
      d1: this.d1,
      kv_namespaces: this.kv,
      r2_buckets: this.r2,
      pages_projects: this.pages.map((p) => ({ id: p.id, name: p.name })),
    };
  }
}

/** The documented `comment`, `comment.exact|contains|startswith|endswith|present|absent` filters; values compare case-insensitively. */
function commentConditions(q: URLSearchParams): Array<(rec: DnsRecord) => boolean> {
  const text = (rec: DnsRecord) => (rec.comment ?? "").toLowerCase();
  const tests: Record<string, (comment: string, value: string) => boolean> = {
    comment: (comment, value) => comment === value,
    "comment.exact": (comment, value) => comment === value,
    "comment.contains": (comment, value) => comment.includes(value),
    "comment.startswith": (comment, value) => comment.startsWith(value),
    "comment.endswith": (comment, value) => comment.endsWith(value),
  };
  const conditions: Array<(rec: DnsRecord) => boolean> = [];
  for (const [key, test] of Object.entries(tests)) {
    const value = q.get(key);
    if (value !== null) conditions.push((rec) => rec.comment != null && test(text(rec), value.toLowerCase()));
  }
  if (q.has("comment.present")) conditions.push((rec) => Boolean(rec.comment));
  if (q.has("comment.absent")) conditions.push((rec) => !rec.comment);
  return conditions;
}
