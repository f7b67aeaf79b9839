import { z } from "zod";
import {
  MAX_PAGES,
  ProviderError,
  isProviderError,
  request,
  retryAfterSeconds,
  type HttpConfig,
  type Method,
  type Query,
} from "./http.server";

/**
 * Cloudflare API v4 client: DNS records and Origin CA certificates for workspaces, plus the account
 * resources (D1, KV, R2, Pages) the self-hosting setup creates. Every answer comes in the v4 envelope
 * `{ success, errors: [{ code, message }], messages, result, result_info }`.
 */

const messagesSchema = z.array(z.object({ code: z.number(), message: z.string() }).loose());
const resultInfoSchema = z
  .object({
    page: z.number().optional(),
    per_page: z.number().optional(),
    total_pages: z.number().optional(),
    count: z.number().optional(),
    total_count: z.number().optional(),
    cursor: z.string().optional(),
  })
  .nullish();
const envelopeSchema = z.object({
  success: z.boolean(),
  errors: messagesSchema.default([]),
  result: z.unknown(),
  result_info: resultInfoSchema,
});

const tokenSchema = z.object({
  id: z.string(),
  status: z.enum(["active", "disabled", "expired"]),
  expires_on: z.string().optional(),
  not_before: z.string().optional(),
});

const zoneSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string().optional(),
  account: z.object({ id: z.string(), name: z.string().optional() }),
  name_servers: z.array(z.string()).optional(),
});

const dnsRecordSchema = z.object({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  content: z.string(),
  proxied: z.boolean().optional(),
  proxiable: z.boolean().optional(),
  ttl: z.number(),
  comment: z.string().nullish(),
  tags: z.array(z.string()).optional(),
  created_on: z.string().optional(),
  modified_on: z.string().optional(),
});

const originCertificateSchema = z.object({
  id: z.string(),
  certificate: z.string(),
  expires_on: z.string(),
  hostnames: z.array(z.string()).optional(),
  request_type: z.string().optional(),
  requested_validity: z.number().optional(),
});

const d1DatabaseSchema = z.object({
  uuid: z.string(),
  name: z.string(),
  created_at: z.string().optional(),
  version: z.string().optional(),
});
const kvNamespaceSchema = z.object({
  id: z.string(),
  title: z.string(),
  supports_url_encoding: z.boolean().optional(),
});
const r2BucketSchema = z.object({
  name: z.string(),
  creation_date: z.string().optional(),
  location: z.string().optional(),
  storage_class: z.string().optional(),
});
// The 2024 description lists deployments here; the live API (and its docs) answer with projects.
const pagesProjectSchema = z.object({
  id: z.string().optional(),
  name: z.string(),
  subdomain: z.string().optional(),
  production_branch: z.string().optional(),
  domains: z.array(z.string()).optional(),
  created_on: z.string().optional(),
});

export type CloudflareZone = z.infer<typeof zoneSchema>;
export type DnsRecord = z.infer<typeof dnsRecordSchema>;
export type OriginCertificate = z.infer<typeof originCertificateSchema>;
export type D1Database = z.infer<typeof d1DatabaseSchema>;
export type KvNamespace = z.infer<typeof kvNamespaceSchema>;
export type R2Bucket = z.infer<typeof r2BucketSchema>;
export type PagesProject = z.infer<typeof pagesProjectSchema>;
type ResultInfo = NonNullable<z.infer<typeof resultInfoSchema>>;

export interface DnsRecordInput {
  type: "A" | "AAAA" | "CNAME" | "TXT";
  name: string;
  content: string;
  proxied: boolean;
  /** Seconds; 1 means automatic (the default, and the only value for proxied records). */
  ttl?: number;
  comment?: string;
}

export interface CloudflareOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  retry?: Pick<HttpConfig, "maxAttempts" | "retryDelayMs" | "maxRetryWaitMs" | "retryBudgetMs">;
}

/** "Record does not exist." — the code Cloudflare pairs with a missing DNS record. */
const RECORD_NOT_FOUND = "81044";

function fromErrors(errors: z.infer<typeof messagesSchema>): { message: string; code?: string } | undefined {
  if (errors.length === 0) return undefined;
  return { code: String(errors[0]!.code), message: errors.map((error) => error.message).join("; ") };
}

export function cloudflare(options: CloudflareOptions) {
  const http: HttpConfig = {
    provider: "cloudflare",
    baseUrl: options.baseUrl,
    token: options.token,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    ...options.retry,
    parseError: (response, body) => {
      const parsed = envelopeSchema.safeParse(body);
      const details = parsed.success ? fromErrors(parsed.data.errors) : undefined;
      const retryAfter =
        response.status === 429 || response.status >= 500 ? retryAfterSeconds(response.headers) : undefined;
      return {
        ...(details ?? { message: `Cloudflare answered ${response.status} ${response.statusText}`.trim() }),
        retryAfterSeconds: retryAfter,
      };
    },
  };

  async function call<T>(
    method: Method,
    path: string,
    result: z.ZodType<T>,
    extra: { query?: Query; body?: unknown } = {},
  ): Promise<{ result: T; resultInfo?: ResultInfo }> {
    const { data, status } = await request(http, { method, path, schema: envelopeSchema, ...extra });
    if (!data.success) {
      throw new ProviderError({
        provider: "cloudflare",
        status,
        ...(fromErrors(data.errors) ?? { message: "Cloudflare reported a failure without details" }),
      });
    }
    const parsed = result.safeParse(data.result);
    if (!parsed.success) {
      throw new ProviderError({
        provider: "cloudflare",
        status,
        code: "unexpected_response",
        message: `unexpected response from Cloudflare (${method} ${path})`,
        cause: parsed.error,
      });
    }
    return { result: parsed.data, resultInfo: data.result_info ?? undefined };
  }

  const get = async <T>(path: string, result: z.ZodType<T>, query?: Query) =>
    (await call("GET", path, result, { query })).result;
  const send = async <T>(method: Method, path: string, result: z.ZodType<T>, body: unknown) =>
    (await call(method, path, result, { body })).result;

  /** Walks page=1,2,… until result_info says it was the last page (total_pages, a short page, or total_count reached). */
  async function listPages<T>(path: string, item: z.ZodType<T>, query: Query = {}, perPage?: number): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { result, resultInfo } = await call("GET", path, z.array(item), {
        query: { ...query, page, ...(perPage ? { per_page: perPage } : {}) },
      });
      items.push(...result);
      if (!resultInfo || result.length === 0) break;
      if (resultInfo.total_pages !== undefined) {
        if (page >= resultInfo.total_pages) break;
        continue;
      }
      const pageSize = resultInfo.per_page ?? perPage;
      if (pageSize !== undefined && result.length < pageSize) break;
      if (resultInfo.total_count !== undefined && items.length >= resultInfo.total_count) break;
      if (pageSize === undefined && resultInfo.total_count === undefined) break;
    }
    return items;
  }

  const goneOn404 = async (promise: Promise<unknown>): Promise<void> => {
    try {
      await promise;
    } catch (error) {
      if (isProviderError(error, 404) || (error instanceof ProviderError && error.code === RECORD_NOT_FOUND)) return;
      throw error;
    }
  };

  const orNull = async <T>(promise: Promise<T>): Promise<T | null> => {
    try {
      return await promise;
    } catch (error) {
      if (isProviderError(error, 404) || (error instanceof ProviderError && error.code === RECORD_NOT_FOUND))
        return null;
      throw error;
    }
  };

  const zone = (zoneId: string) => `/zones/${encodeURIComponent(zoneId)}`;
  const account = (accountId: string) => `/accounts/${encodeURIComponent(accountId)}`;

  return {
    /** Checks a user API token; a bad one throws ProviderError (400/401 with Cloudflare's code, e.g. 1000 "Invalid API Token"). */
    verifyToken: () => get("/user/tokens/verify", tokenSchema).then(({ id, status }) => ({ id, status })),

    /** Checks an account-owned API token, which /user/tokens/verify refuses as invalid. */
    verifyAccountToken: (accountId: string) =>
      get(`${account(accountId)}/tokens/verify`, tokenSchema).then(({ id, status }) => ({ id, status })),

    listZones: (filter: { name?: string } = {}) => listPages("/zones", zoneSchema, { name: filter.name }, 50),

    getZone: (zoneId: string) => get(zone(zoneId), zoneSchema),

    /** Records meeting every given filter; `comment` is Cloudflare's case-insensitive `comment.exact`. */
    listDnsRecords: (zoneId: string, filter: { name?: string; type?: string; comment?: string } = {}) =>
      listPages(
        `${zone(zoneId)}/dns_records`,
        dnsRecordSchema,
        { name: filter.name, type: filter.type, "comment.exact": filter.comment },
        100,
      ),

    /** POST — never retried; on failure look the record up by name before trying again. */
    createDnsRecord: (zoneId: string, input: DnsRecordInput) =>
      send("POST", `${zone(zoneId)}/dns_records`, dnsRecordSchema, {
        type: input.type,
        name: input.name,
        content: input.content,
        proxied: input.proxied,
        ttl: input.ttl ?? 1,
        ...(input.comment !== undefined ? { comment: input.comment } : {}),
      }),

    /** The record, or null when it does not exist. */
    getDnsRecord: (zoneId: string, recordId: string) =>
      orNull(get(`${zone(zoneId)}/dns_records/${encodeURIComponent(recordId)}`, dnsRecordSchema)),

    patchDnsRecord: (zoneId: string, recordId: string, patch: Partial<DnsRecordInput>) =>
      send("PATCH", `${zone(zoneId)}/dns_records/${encodeURIComponent(recordId)}`, dnsRecordSchema, patch),

    /** Deletes the record; one that is already gone is fine. */
    deleteDnsRecord: (zoneId: string, recordId: string) =>
      goneOn404(
        call(
          "DELETE",
          `${zone(zoneId)}/dns_records/${encodeURIComponent(recordId)}`,
          z.object({ id: z.string() }).nullish(),
        ),
      ),

    /** Signs the CSR with the Cloudflare Origin CA (API token with "SSL and Certificates: Edit"). */
    createOriginCertificate: (input: {
      csr: string;
      hostnames: string[];
      requestType: "origin-ecc" | "origin-rsa";
      validityDays: 7 | 30 | 90 | 365 | 730 | 1095 | 5475;
    }) =>
      send("POST", "/certificates", originCertificateSchema, {
        csr: input.csr,
        hostnames: input.hostnames,
        request_type: input.requestType,
        requested_validity: input.validityDays,
      }).then(({ id, certificate, expires_on }) => ({ id, certificate, expires_on })),

    /** When the certificate was revoked: null while it is live, "gone" when Cloudflare no longer has it. */
    originCertificateRevokedAt: async (certificateId: string): Promise<string | null | "gone"> => {
      try {
        const cert = await get(
          `/certificates/${encodeURIComponent(certificateId)}`,
          z.object({ id: z.string(), revoked_at: z.string().nullish() }).loose(),
        );
        return cert.revoked_at ?? null;
      } catch (error) {
        if (error instanceof ProviderError && error.status === 404) return "gone";
        throw error;
      }
    },

    /** Revokes the certificate; one that is already gone is fine. */
    revokeOriginCertificate: (certificateId: string) =>
      goneOn404(
        call(
          "DELETE",
          `/certificates/${encodeURIComponent(certificateId)}`,
          z.object({ id: z.string() }).loose().nullish(),
        ),
      ),

    listD1Databases: (accountId: string) => listPages(`${account(accountId)}/d1/database`, d1DatabaseSchema, {}, 100),
    createD1Database: (accountId: string, name: string) =>
      send("POST", `${account(accountId)}/d1/database`, d1DatabaseSchema, { name }),

    listKvNamespaces: (accountId: string) =>
      listPages(`${account(accountId)}/storage/kv/namespaces`, kvNamespaceSchema, {}, 100),
    createKvNamespace: (accountId: string, title: string) =>
      send("POST", `${account(accountId)}/storage/kv/namespaces`, kvNamespaceSchema, { title }),

    /** R2 pages with a cursor; the live API wraps the list as `{ buckets: [...] }`, the 2024 description as a bare array. */
    async listR2Buckets(accountId: string): Promise<R2Bucket[]> {
      const page = z.union([
        z.array(r2BucketSchema),
        z.object({ buckets: z.array(r2BucketSchema) }).transform((value) => value.buckets),
      ]);
      const buckets: R2Bucket[] = [];
      let cursor: string | undefined;
      for (let count = 0; count < MAX_PAGES; count++) {
        const { result, resultInfo } = await call("GET", `${account(accountId)}/r2/buckets`, page, {
          query: { per_page: 1000, cursor },
        });
        buckets.push(...result);
        cursor = resultInfo?.cursor || undefined;
        if (!cursor || result.length === 0) break;
      }
      return buckets;
    },
    createR2Bucket: (accountId: string, name: string) =>
      send("POST", `${account(accountId)}/r2/buckets`, r2BucketSchema, { name }),

    listPagesProjects: (accountId: string) => listPages(`${account(accountId)}/pages/projects`, pagesProjectSchema),
    createPagesProject: (accountId: string, input: { name: string; productionBranch: string }) =>
      send("POST", `${account(accountId)}/pages/projects`, pagesProjectSchema, {
        name: input.name,
        production_branch: input.productionBranch,
      }),
  };
}

export type CloudflareClient = ReturnType<typeof cloudflare>;
