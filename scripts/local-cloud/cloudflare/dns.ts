// DNS records of the zone: create, list (with the name, type, content, proxied and comment filters), read,
// patch, replace and delete, validated as the live API validates them.
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import type { Request } from "../context";
import { type Answer, fail, HEX32, noRoute, noUri, type Only, paginate, readJson, requirePermission } from "./api";
import type { ApiToken, CloudflareStore, DnsRecord } from "./store";

const PROXIABLE = new Set(["A", "AAAA", "CNAME"]);

export function recordJson(store: CloudflareStore, record: DnsRecord) {
  return {
    id: record.id,
    zone_id: store.zoneId,
    zone_name: store.zoneName,
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

/** /zones/:zone/dns_records and below, once the zone and the token's access to it are checked. */
export async function dnsRecordsRoute(
  store: CloudflareStore,
  r: Request,
  parts: string[],
  token: ApiToken,
  only: Only,
): Promise<Answer> {
  if (parts.length === 3) {
    only("GET", "POST");
    if (r.method === "GET") {
      requirePermission(token, "dns_records:read", "dns_records:edit");
      return listRecords(store, r);
    }
    requirePermission(token, "dns_records:edit");
    const record = validateRecord(store, await readJson(r), undefined);
    store.records.set(record.id, record);
    return { result: recordJson(store, record) };
  }
  if (parts.length !== 4) throw noUri();
  const recordId = parts[3]!;
  if (!HEX32.test(recordId)) throw noRoute(`/zones/${parts[1]}/dns_records/${recordId}`);
  only("GET", "PATCH", "PUT", "DELETE");
  requirePermission(
    token,
    ...(r.method === "GET" ? (["dns_records:read", "dns_records:edit"] as const) : (["dns_records:edit"] as const)),
  );
  const existing = store.records.get(recordId);
  if (!existing) throw fail(404, 81044, "Record does not exist.");
  if (r.method === "GET") return { result: recordJson(store, existing) };
  if (r.method === "DELETE") {
    store.records.delete(recordId);
    return { result: { id: recordId } };
  }
  const body = await readJson(r);
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
  const updated = validateRecord(store, merged, existing);
  store.records.set(recordId, updated);
  return { result: recordJson(store, updated) };
}

function listRecords(store: CloudflareStore, r: Request) {
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
  if (name) conditions.push((rec) => rec.name === normalizeName(store, name));
  if (type) conditions.push((rec) => rec.type === type.toUpperCase());
  if (content) conditions.push((rec) => rec.content === content);
  if (proxied !== null) conditions.push((rec) => String(rec.proxied) === proxied);
  conditions.push(...commentConditions(q));
  const matching = [...store.records.values()]
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
    .map((rec) => recordJson(store, rec));
  return paginate(r, matching, { perPage: 100, min: 5, max: 5_000_000 });
}

/** "@" is the apex; a name outside the zone gets the zone appended, as the dashboard and API do. */
function normalizeName(store: CloudflareStore, name: string): string {
  const lower = name.trim().toLowerCase().replace(/\.$/, "");
  if (lower === "@" || lower === "") return store.zoneName;
  if (lower === store.zoneName || lower.endsWith(`.${store.zoneName}`)) return lower;
  return `${lower}.${store.zoneName}`;
}

function validateRecord(
  store: CloudflareStore,
  body: Record<string, unknown>,
  existing: DnsRecord | undefined,
): DnsRecord {
  const type = typeof body.type === "string" ? body.type.toUpperCase() : undefined;
  if (!type) throw fail(400, 9000, "DNS record type is required.");
  if (!["A", "AAAA", "CNAME", "TXT"].includes(type))
    throw fail(400, 9004, `DNS record type "${type}" is not supported by the local cloud.`);
  if (typeof body.name !== "string" || body.name.trim() === "") throw fail(400, 9000, "DNS name is invalid.");
  const name = normalizeName(store, body.name);
  if (
    !/^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name) ||
    name.length > 253
  )
    throw fail(400, 9000, "DNS name is invalid.");
  if (typeof body.content !== "string" || body.content === "") throw fail(400, 9005, "Content is required.");
  let content = body.content;
  if (type === "A" && isIP(content) !== 4) throw fail(400, 9005, "Content for A record must be a valid IPv4 address.");
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
  for (const other of store.records.values()) {
    if (other.id === existing?.id || other.name !== name) continue;
    if (other.type === type && other.content === content) throw fail(400, 81058, "An identical record already exists.");
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
