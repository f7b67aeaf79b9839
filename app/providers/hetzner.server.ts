import { z } from "zod";
import {
  MAX_PAGES,
  isProviderError,
  request,
  retryAfterSeconds,
  type HttpConfig,
  type Method,
  type Query,
} from "./http.server";
import {
  actionSchema,
  errorSchema,
  firewallSchema,
  imageSchema,
  locationSchema,
  paginationSchema,
  serverSchema,
  serverTypeSchema,
  type HetznerAction,
  type HetznerFirewall,
  type HetznerFirewallResource,
  type HetznerFirewallRule,
  type HetznerImage,
  type HetznerServer,
} from "./hetzner.schemas.server";

export type {
  HetznerAction,
  HetznerFirewall,
  HetznerFirewallResource,
  HetznerFirewallRule,
  HetznerImage,
  HetznerLocation,
  HetznerServer,
  HetznerServerType,
} from "./hetzner.schemas.server";

/**
 * Hetzner Cloud API client (https://docs.hetzner.cloud). Only the fields the app uses are parsed;
 * unknown fields are dropped.
 */

export interface HetznerRateLimit {
  limit: number;
  remaining: number;
  /** When the full budget is back. */
  resetAt: Date;
}

export interface CreateServerInput {
  name: string;
  serverType: string;
  location: string;
  image: string;
  userData: string;
  labels: Record<string, string>;
  firewallIds?: number[];
  publicNet?: { enableIpv4?: boolean; enableIpv6?: boolean };
}

export interface HetznerOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Retry tuning, for tests; see HttpConfig. */
  retry?: Pick<HttpConfig, "maxAttempts" | "retryDelayMs" | "maxRetryWaitMs" | "retryBudgetMs">;
  /**
   * How long a delete waits for the server's running action (its create, for one stopped right after
   * creating) to finish while Hetzner answers 423 locked, and how often it asks again. Defaults 25 s and 2 s:
   * inside the 30 s a Worker may keep working after its response.
   */
  locked?: { waitMs?: number; pollMs?: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readRateLimit(headers: Headers): HetznerRateLimit | undefined {
  const limit = Number(headers.get("ratelimit-limit"));
  const remaining = Number(headers.get("ratelimit-remaining"));
  const reset = Number(headers.get("ratelimit-reset"));
  if (
    !headers.has("ratelimit-limit") ||
    !Number.isFinite(limit) ||
    !Number.isFinite(remaining) ||
    !Number.isFinite(reset)
  )
    return undefined;
  return { limit, remaining, resetAt: new Date(reset * 1000) };
}

/**
 * Hetzner refills the budget gradually (limit per hour, one request every 3600/limit seconds), so after a
 * 429 the next request is allowed long before RateLimit-Reset, which is when the *whole* budget is back.
 */
function hetznerRetryAfter(headers: Headers): number | undefined {
  const explicit = headers.get("retry-after") ? retryAfterSeconds(headers) : undefined;
  if (explicit !== undefined) return explicit;
  const untilFull = retryAfterSeconds(headers);
  const limit = Number(headers.get("ratelimit-limit"));
  if (Number.isFinite(limit) && limit > 0) {
    const perRequest = Math.ceil(3600 / limit);
    return untilFull === undefined ? perRequest : Math.min(untilFull, perRequest);
  }
  return untilFull;
}

export function hetzner(options: HetznerOptions) {
  let rateLimit: HetznerRateLimit | undefined;
  const http: HttpConfig = {
    provider: "hetzner",
    baseUrl: options.baseUrl,
    token: options.token,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    ...options.retry,
    onResponse: (response) => {
      rateLimit = readRateLimit(response.headers) ?? rateLimit;
    },
    parseError: (response, body) => {
      const parsed = errorSchema.safeParse(body);
      const retryAfter =
        response.status === 429 || response.status === 503 ? hetznerRetryAfter(response.headers) : undefined;
      if (!parsed.success)
        return {
          message: `Hetzner answered ${response.status} ${response.statusText}`.trim(),
          retryAfterSeconds: retryAfter,
        };
      return { message: parsed.data.error.message, code: parsed.data.error.code, retryAfterSeconds: retryAfter };
    },
  };

  const call = async <T>(
    method: Method,
    path: string,
    schema: z.ZodType<T>,
    extra: { query?: Query; body?: unknown } = {},
  ) => (await request(http, { method, path, schema, ...extra })).data;

  /** Follows meta.pagination.next_page until there is none. */
  async function listAll<K extends string, T>(
    path: string,
    key: K,
    item: z.ZodType<T>,
    query: Query = {},
  ): Promise<T[]> {
    type Page = z.infer<typeof paginationSchema> & Record<K, T[]>;
    const schema = z.object({ ...paginationSchema.shape, [key]: z.array(item) }) as unknown as z.ZodType<Page>;
    const items: T[] = [];
    let page: number | null = 1;
    for (let count = 0; page !== null && count < MAX_PAGES; count++) {
      const data: Page = await call("GET", path, schema, { query: { ...query, page, per_page: 50 } });
      items.push(...data[key]);
      const next: number | null = data.meta.pagination.next_page;
      page = next !== null && next > page ? next : null;
    }
    return items;
  }

  const orNull = async <T>(promise: Promise<T>): Promise<T | null> => {
    try {
      return await promise;
    } catch (error) {
      if (isProviderError(error, 404)) return null;
      throw error;
    }
  };

  return {
    /** The RateLimit-* headers of the last response, if it had them. */
    get rateLimit(): HetznerRateLimit | undefined {
      return rateLimit;
    },

    /** A cheap authenticated read; a wrong token throws ProviderError 401 ("unauthorized"). */
    async verifyToken(): Promise<void> {
      await call("GET", "/servers", paginationSchema, { query: { per_page: 1 } });
    },

    /**
     * Whether the token may write, without making anything: Hetzner checks a read-only token before it reads
     * the body (401 token_readonly), so an empty firewall create fails on its missing name (422 invalid_input)
     * for a Read & Write token and on the token for a read-only one. Throws the ProviderError otherwise.
     */
    async verifyWriteAccess(): Promise<void> {
      try {
        await call("POST", "/firewalls", z.unknown(), { body: {} });
      } catch (error) {
        if (isProviderError(error, 422) && error.code === "invalid_input") return;
        throw error;
      }
      throw new Error("Hetzner created a firewall from an empty request");
    },

    listServerTypes: () => listAll("/server_types", "server_types", serverTypeSchema),

    listLocations: () => listAll("/locations", "locations", locationSchema),

    /** POST /servers. Never retried: a lost answer could mean a server that bills. */
    async createServer(
      input: CreateServerInput,
    ): Promise<{ server: HetznerServer; action: HetznerAction; nextActions: HetznerAction[] }> {
      const body = {
        name: input.name,
        server_type: input.serverType,
        location: input.location,
        image: input.image,
        user_data: input.userData,
        labels: input.labels,
        start_after_create: true,
        ...(input.firewallIds?.length ? { firewalls: input.firewallIds.map((firewall) => ({ firewall })) } : {}),
        ...(input.publicNet
          ? {
              public_net: {
                enable_ipv4: input.publicNet.enableIpv4 ?? true,
                enable_ipv6: input.publicNet.enableIpv6 ?? true,
              },
            }
          : {}),
      };
      const data = await call(
        "POST",
        "/servers",
        z.object({ server: serverSchema, action: actionSchema, next_actions: z.array(actionSchema).optional() }),
        { body },
      );
      return { server: data.server, action: data.action, nextActions: data.next_actions ?? [] };
    },

    /** The server, or null when it does not exist (any more). */
    getServer: (id: number) =>
      orNull(call("GET", `/servers/${id}`, z.object({ server: serverSchema })).then((data) => data.server)),

    listServers: (filter: { labelSelector?: string; name?: string } = {}) =>
      listAll("/servers", "servers", serverSchema, { label_selector: filter.labelSelector, name: filter.name }),

    /**
     * Deletes the server; null when it was already gone (so a repeated delete is harmless). While another
     * action on it runs (a create takes a while), Hetzner refuses with 423 locked: wait for it and try again.
     */
    async deleteServer(id: number): Promise<HetznerAction | null> {
      const waitMs = options.locked?.waitMs ?? 25_000;
      const pollMs = options.locked?.pollMs ?? 2000;
      const started = Date.now();
      for (;;) {
        try {
          return await orNull(
            call("DELETE", `/servers/${id}`, z.object({ action: actionSchema.optional() })).then(
              (data) => data.action ?? null,
            ),
          );
        } catch (error) {
          const locked = isProviderError(error, 423) && error.code === "locked";
          if (!locked || Date.now() - started + pollMs > waitMs) throw error;
          await sleep(pollMs);
        }
      }
    },

    getAction: (id: number) =>
      call("GET", `/actions/${id}`, z.object({ action: actionSchema })).then((data) => data.action),

    /** Images of the project, e.g. SAM's snapshots by label (type snapshot, newest first). */
    listImages: (filter: { type?: "system" | "snapshot"; labelSelector?: string; architecture?: string } = {}) =>
      listAll("/images", "images", imageSchema, {
        type: filter.type,
        label_selector: filter.labelSelector,
        architecture: filter.architecture,
        sort: "created:desc",
      }),

    /** The image, or null when it does not exist (any more). */
    getImage: (id: number) =>
      orNull(call("GET", `/images/${id}`, z.object({ image: imageSchema })).then((data) => data.image)),

    /**
     * Snapshots the server (POST …/actions/create_image): the image starts `creating` and bills once
     * available. Never retried: a lost answer could mean an image that bills.
     */
    async createImage(
      serverId: number,
      input: { description: string; labels: Record<string, string> },
    ): Promise<{ image: HetznerImage; action: HetznerAction }> {
      return call(
        "POST",
        `/servers/${serverId}/actions/create_image`,
        z.object({ image: imageSchema, action: actionSchema }),
        { body: { type: "snapshot", description: input.description, labels: input.labels } },
      );
    },

    /** Deletes the image; an image already gone is fine. */
    async deleteImage(id: number): Promise<void> {
      await orNull(call("DELETE", `/images/${id}`, z.unknown()));
    },

    async createFirewall(input: {
      name: string;
      labels: Record<string, string>;
      rules: HetznerFirewallRule[];
      applyTo?: HetznerFirewallResource[];
    }): Promise<{ firewall: HetznerFirewall; actions: HetznerAction[] }> {
      const data = await call(
        "POST",
        "/firewalls",
        z.object({ firewall: firewallSchema, actions: z.array(actionSchema).optional() }),
        {
          body: {
            name: input.name,
            labels: input.labels,
            rules: input.rules,
            ...(input.applyTo ? { apply_to: input.applyTo } : {}),
          },
        },
      );
      return { firewall: data.firewall, actions: data.actions ?? [] };
    },

    listFirewalls: (filter: { labelSelector?: string; name?: string } = {}) =>
      listAll("/firewalls", "firewalls", firewallSchema, { label_selector: filter.labelSelector, name: filter.name }),

    /** Deletes the firewall; a firewall already gone is fine. Still applied somewhere → 422 "resource_in_use". */
    async deleteFirewall(id: number): Promise<void> {
      await orNull(call("DELETE", `/firewalls/${id}`, z.unknown()));
    },
  };
}

export type HetznerClient = ReturnType<typeof hetzner>;
