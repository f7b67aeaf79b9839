// The account and what the self-hosting wizard creates in it: D1 databases, KV namespaces, R2 buckets and
// Pages projects.
import { randomBytes, randomUUID } from "node:crypto";
import type { Request } from "../context";
import {
  type Answer,
  authError,
  fail,
  HEX32,
  noRoute,
  noUri,
  type Only,
  paginate,
  readJson,
  requirePermission,
} from "./api";
import type { ApiToken, CloudflareStore } from "./store";

export async function accountsRoute(
  store: CloudflareStore,
  r: Request,
  parts: string[],
  token: ApiToken,
  only: Only,
): Promise<Answer> {
  if (parts.length === 1) {
    only("GET");
    return paginate(
      r,
      [
        {
          id: store.accountId,
          name: "Local Cloud",
          type: "standard",
          settings: { enforce_twofactor: false },
          created_on: store.zoneCreated,
        },
      ],
      { perPage: 20, min: 5, max: 50 },
    );
  }
  const accountId = parts[1]!;
  if (!HEX32.test(accountId)) throw noRoute(`/accounts/${accountId}`);
  if (accountId !== store.accountId) throw authError();
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
      requirePermission(token, "d1:edit");
      if (r.method === "GET") {
        const name = r.url.searchParams.get("name");
        return paginate(
          r,
          store.d1.filter((d) => !name || d.name === name),
          { perPage: 100, min: 10, max: 10000 },
        );
      }
      const name = named(await readJson(r), "name", /^[a-z0-9][a-z0-9_-]{0,63}$/i, 7400, "The database name");
      if (store.d1.some((d) => d.name === name)) throw fail(400, 7502, "A database with that name already exists");
      const db = { uuid: randomUUID(), name, version: "production", created_at: now, num_tables: 0, file_size: 0 };
      store.d1.push(db);
      return { result: { uuid: db.uuid, name: db.name, version: db.version, created_at: db.created_at } };
    }
    case "storage/kv/namespaces": {
      only("GET", "POST");
      requirePermission(token, "workers_kv:edit");
      if (r.method === "GET") return paginate(r, store.kv, { perPage: 20, min: 5, max: 100 });
      const title = named(await readJson(r), "title", /^.{1,512}$/, 10019, "The namespace title");
      if (store.kv.some((n) => n.title === title))
        throw fail(400, 10014, "a namespace with this account ID and title already exists");
      const ns = { id: randomBytes(16).toString("hex"), title, supports_url_encoding: true };
      store.kv.push(ns);
      return { result: ns };
    }
    case "r2/buckets": {
      only("GET", "POST");
      requirePermission(token, "r2:edit");
      // R2 is a subscription an account turns on in the dashboard once (even for the free tier).
      if (!store.r2Enabled) throw fail(403, 10042, "Please enable R2 through the Cloudflare Dashboard.");
      // The live API answers { buckets: [...] } (the 2024 description says an array; the live docs win).
      if (r.method === "GET") return { result: { buckets: store.r2 } };
      const body = await readJson(r);
      const name = named(body, "name", /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 10005, "The bucket name");
      if (store.r2.some((b) => b.name === name))
        throw fail(409, 10004, "The bucket you tried to create already exists, and you own it.");
      const bucket = {
        name,
        creation_date: now,
        location: typeof body.locationHint === "string" ? body.locationHint.toLowerCase() : "weur",
        storage_class: "Standard",
      };
      store.r2.push(bucket);
      return { result: bucket };
    }
    case "pages/projects": {
      only("GET", "POST");
      requirePermission(token, "pages:edit");
      if (r.method === "GET") return paginate(r, store.pages, { perPage: 10, min: 1, max: 100 });
      const body = await readJson(r);
      const name = named(body, "name", /^[a-z0-9][a-z0-9-]{0,57}$/, 8000007, "The project name");
      if (store.pages.some((p) => p.name === name))
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
      store.pages.push(project);
      return { result: project };
    }
    default:
      throw noUri();
  }
}
