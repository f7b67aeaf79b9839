// What every Cloudflare endpoint shares: the error answer, token permissions, JSON bodies and pagination.
import type { Request } from "../context";
import { intParam } from "../http";
import type { ApiToken } from "./store";

export type Message = { code: number; message: string; error_chain?: Message[] };

/** A successful answer before it is wrapped in the v4 envelope. */
export interface Answer {
  status?: number;
  result: unknown;
  result_info?: object;
  messages?: Message[];
}

/** Refuses methods other than those given (from the router). */
export type Only = (...methods: string[]) => void;

export class CloudflareError extends Error {
  constructor(
    readonly status: number,
    readonly errors: Message[],
  ) {
    super(errors[0]?.message ?? "error");
  }
}

export const fail = (status: number, code: number, message: string) => new CloudflareError(status, [{ code, message }]);
export const authError = () => fail(403, 10000, "Authentication error");
export const noRoute = (path: string) =>
  fail(400, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
export const noUri = () => fail(400, 7000, "No route for that URI");
export const HEX32 = /^[0-9a-f]{32}$/;

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

export function can(token: ApiToken, ...needed: CloudflarePermission[]): boolean {
  return token.permissions.has("*") || needed.some((p) => token.permissions.has(p));
}

export function requirePermission(token: ApiToken, ...needed: CloudflarePermission[]): void {
  if (!can(token, ...needed)) throw authError();
}

export async function readJson(r: Request): Promise<Record<string, unknown>> {
  const raw = (await r.body()).toString("utf8");
  try {
    const value = JSON.parse(raw || "{}");
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {}
  throw fail(400, 9207, "Request body is invalid.");
}

export function paginate<T>(r: Request, items: T[], defaults: { perPage: number; min: number; max: number }) {
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
