// What every Hetzner endpoint shares: the error answer, JSON bodies, pagination, label selectors and sorting.
import type { CloudContext, Request } from "../context";
import { intParam } from "../http";
import { LabelSelectorError, parseLabelSelector } from "../labels";

export class HetznerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

export const invalidField = (name: string, messages: string[]) =>
  new HetznerError(422, "invalid_input", `invalid input in field '${name}': ${messages.join(", ")}`, {
    fields: [{ name, messages }],
  });

export const notFound = (what = "resource") => new HetznerError(404, "not_found", `${what} not found`);

export async function readJson(r: Request): Promise<Record<string, unknown>> {
  const raw = (await r.body()).toString("utf8");
  if (raw.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new HetznerError(400, "json_error", `invalid JSON: ${(error as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new HetznerError(400, "json_error", "JSON body must be an object");
  return value as Record<string, unknown>;
}

// Pagination per the API overview: page (from 1), per_page (default 25, max 50), meta.pagination, Link.
export function paginate<T>(cloud: CloudContext, r: Request, items: T[]) {
  const page = intParam(r.url, "page") ?? 1;
  const requested = intParam(r.url, "per_page") ?? 25;
  if (!Number.isInteger(page) || page < 1) throw invalidField("page", ["must be a positive integer"]);
  if (!Number.isInteger(requested) || requested < 1) throw invalidField("per_page", ["must be a positive integer"]);
  const perPage = Math.min(requested, 50);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const meta = {
    pagination: {
      page,
      per_page: perPage,
      previous_page: page > 1 ? page - 1 : null,
      next_page: page < lastPage ? page + 1 : null,
      last_page: lastPage,
      total_entries: items.length,
    },
  };
  const link = (p: number) => {
    const next = new URL(`${cloud.url}/hetzner/v1${r.path}`);
    r.url.searchParams.forEach((value, key) => next.searchParams.append(key, value));
    next.searchParams.set("page", String(p));
    next.searchParams.set("per_page", String(perPage));
    return `<${next.toString()}>`;
  };
  const links: string[] = [];
  if (meta.pagination.previous_page) links.push(`${link(page - 1)}; rel="prev"`);
  if (meta.pagination.next_page) links.push(`${link(page + 1)}; rel="next"`);
  links.push(`${link(lastPage)}; rel="last"`);
  return { items: items.slice((page - 1) * perPage, page * perPage), meta, headers: { Link: links.join(", ") } };
}

export function list(cloud: CloudContext, r: Request, key: string, items: unknown[]) {
  const page = paginate(cloud, r, items);
  return { status: 200, body: { [key]: page.items, meta: page.meta }, headers: page.headers };
}

export function selectorParam(r: Request) {
  const raw = r.url.searchParams.get("label_selector");
  if (raw === null) return null;
  try {
    return parseLabelSelector(raw);
  } catch (error) {
    if (error instanceof LabelSelectorError) throw invalidField("label_selector", [error.message]);
    throw error;
  }
}

export function sorted<T extends { id: number; name: string; created: string }>(r: Request, items: T[]): T[] {
  const sorts = r.url.searchParams.getAll("sort");
  const allowed = ["id", "name", "created"];
  const keys = (sorts.length ? sorts : ["id"]).map((s) => {
    const [field = "", direction = "asc"] = s.split(":");
    if (!allowed.includes(field) || !["asc", "desc"].includes(direction))
      throw invalidField("sort", [`invalid sort '${s}'`]);
    return { field: field as "id" | "name" | "created", sign: direction === "desc" ? -1 : 1 };
  });
  return [...items].sort((a, b) => {
    for (const { field, sign } of keys) {
      if (a[field] < b[field]) return -sign;
      if (a[field] > b[field]) return sign;
    }
    return 0;
  });
}
