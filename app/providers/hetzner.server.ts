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

/**
 * Hetzner Cloud API client (https://docs.hetzner.cloud). Only the fields the app uses are parsed;
 * unknown fields are dropped.
 */

const labels = z.record(z.string(), z.string());
const price = z.object({ net: z.string(), gross: z.string() });
const deprecation = z.object({ announced: z.string(), unavailable_after: z.string() }).nullable();

const locationSchema = z.object({
  id: z.number(),
  name: z.string(),
  description: z.string(),
  country: z.string(),
  city: z.string(),
  latitude: z.number(),
  longitude: z.number(),
  network_zone: z.string(),
});

const serverTypeSchema = z.object({
  id: z.number(),
  name: z.string(),
  description: z.string(),
  cores: z.number(),
  memory: z.number(),
  disk: z.number(),
  cpu_type: z.string(),
  architecture: z.string(),
  deprecated: z.boolean().nullish(),
  prices: z.array(
    z.object({
      location: z.string(),
      price_hourly: price,
      price_monthly: price,
      included_traffic: z.number().optional(),
      price_per_tb_traffic: price.optional(),
    }),
  ),
  locations: z
    .array(
      z.object({
        id: z.number(),
        name: z.string(),
        deprecation: deprecation.optional(),
        available: z.boolean().optional(),
        recommended: z.boolean().optional(),
      }),
    )
    .optional(),
});

const serverSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    status: z.enum([
      "running",
      "initializing",
      "starting",
      "stopping",
      "off",
      "deleting",
      "migrating",
      "rebuilding",
      "unknown",
    ]),
    created: z.string(),
    public_net: z.object({
      ipv4: z.object({ id: z.number().optional(), ip: z.string() }).nullable(),
      ipv6: z.object({ id: z.number().optional(), ip: z.string() }).nullable(),
      firewalls: z.array(z.object({ id: z.number(), status: z.string() })).optional(),
    }),
    server_type: z.object({ id: z.number(), name: z.string() }),
    // `datacenter` is deprecated (to be removed after 1 July 2026) in favour of `location`; accept either.
    location: z.object({ id: z.number(), name: z.string() }).optional(),
    datacenter: z
      .object({ id: z.number(), name: z.string(), location: z.object({ id: z.number(), name: z.string() }) })
      .optional(),
    labels,
  })
  .transform(({ location, datacenter, ...server }, ctx) => {
    const place = location ?? datacenter?.location;
    if (!place) {
      ctx.addIssue({ code: "custom", message: "server has neither location nor datacenter" });
      return z.NEVER;
    }
    return { ...server, location: place };
  });

const actionSchema = z.object({
  id: z.number(),
  command: z.string(),
  status: z.enum(["running", "success", "error"]),
  progress: z.number(),
  started: z.string(),
  finished: z.string().nullable(),
  resources: z.array(z.object({ id: z.number(), type: z.string() })),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

const firewallRuleSchema = z.object({
  description: z.string().nullish(),
  direction: z.enum(["in", "out"]),
  protocol: z.enum(["tcp", "udp", "icmp", "esp", "gre"]),
  port: z.string().nullish(),
  source_ips: z.array(z.string()).optional(),
  destination_ips: z.array(z.string()).optional(),
});

const firewallResourceSchema = z.union([
  z.object({ type: z.literal("server"), server: z.object({ id: z.number() }) }),
  z.object({ type: z.literal("label_selector"), label_selector: z.object({ selector: z.string() }) }),
]);

const firewallSchema = z.object({
  id: z.number(),
  name: z.string(),
  labels: labels.optional(),
  created: z.string(),
  rules: z.array(firewallRuleSchema),
  applied_to: z.array(
    z.object({
      type: z.enum(["server", "label_selector"]),
      server: z.object({ id: z.number() }).optional(),
      label_selector: z.object({ selector: z.string() }).optional(),
    }),
  ),
});

const paginationSchema = z.object({
  meta: z.object({
    pagination: z.object({
      page: z.number(),
      per_page: z.number(),
      next_page: z.number().nullable(),
      last_page: z.number().nullable().optional(),
      total_entries: z.number().nullable().optional(),
    }),
  }),
});

const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export type HetznerLocation = z.infer<typeof locationSchema>;
export type HetznerServerType = z.infer<typeof serverTypeSchema>;
export type HetznerServer = z.output<typeof serverSchema>;
export type HetznerAction = z.infer<typeof actionSchema>;
export type HetznerFirewall = z.infer<typeof firewallSchema>;
export type HetznerFirewallRule = z.infer<typeof firewallRuleSchema>;
/** What a firewall applies to: one server, or every server matching a label selector. */
export type HetznerFirewallResource = z.infer<typeof firewallResourceSchema>;

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
