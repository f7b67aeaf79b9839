// What the Cloudflare account holds: the zone, its DNS records, Origin CA certificates, API tokens and the
// account resources the self-hosting wizard creates (D1, KV, R2, Pages).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { CloudContext } from "../context";
import { OriginCa } from "../origin-ca";

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

export interface OriginCertificate {
  id: string;
  certificate: string;
  csr: string;
  hostnames: string[];
  request_type: string;
  requested_validity: number;
  expires_on: string;
  revoked_at: string | null;
}

export interface ApiToken {
  id: string;
  /** "*" grants everything. */
  permissions: Set<string>;
  /** User tokens verify at /user/tokens/verify, account-owned ones at /accounts/{id}/tokens/verify only. */
  owner: "user" | "account";
}

export class CloudflareStore {
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
  readonly ca: OriginCa;
  readonly zoneCreated = new Date().toISOString();
  /** Whether the account has turned R2 on (PUT /_local/cloudflare/r2 turns it off to test the refusal). */
  r2Enabled = true;

  constructor(readonly cloud: CloudContext) {
    this.ca = new OriginCa(join(cloud.dir, "origin-ca"));
    this.resetTokens();
  }

  get zoneName(): string {
    return this.cloud.options.baseDomain.toLowerCase();
  }

  get zoneId(): string {
    return this.cloud.options.cloudflareZoneId;
  }

  private resetTokens(): void {
    this.tokens.clear();
    this.tokens.set(this.cloud.options.cloudflareApiToken, {
      id: randomBytes(16).toString("hex"),
      permissions: new Set(this.cloud.options.cloudflareTokenPermissions ?? ["*"]),
      owner: "user",
    });
  }

  reset(): void {
    this.records.clear();
    this.certificates.clear();
    this.d1.length = 0;
    this.kv.length = 0;
    this.r2.length = 0;
    this.pages.length = 0;
    this.r2Enabled = true;
    this.resetTokens();
  }

  addToken(token: string, permissions: string[], owner: ApiToken["owner"] = "user"): { id: string } {
    const entry = { id: randomBytes(16).toString("hex"), permissions: new Set(permissions), owner };
    this.tokens.set(token, entry);
    return { id: entry.id };
  }
}
