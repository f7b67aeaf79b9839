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
import {
  actionSchema,
  errorSchema,
  firewallSchema,
  imageSchema,
  locationSchema,
  paginationSchema,
  pricingSchema,
  serverSchema,
  serverTypeSchema,
  volumeSchema,
  type HetznerAction,
  type HetznerFirewall,
  type HetznerFirewallResource,
  type HetznerFirewallRule,
  type HetznerImage,
  type HetznerServer,
  type HetznerVolume,
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
  HetznerVolume,
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
  /** Volume ids to attach at create; they must be unattached and in the server's location. */
  volumes?: number[];
  /** Whether Hetzner mounts the volumes (at /mnt/HC_Volume_<id>); sent only with `volumes`. */
  automount?: boolean;
}

export interface CreateVolumeInput {
  /** Unique in the project: letters, digits, `-`, `_`, `.`, starting and ending alphanumeric, ≤ 64 characters. */
  name: string;
  /** 10 to 10240 GB. */
  sizeGb: number;
  location: string;
  labels: Record<string, string>;
  /** Formats the volume at create; without it the volume is a blank block device. */
  format?: "ext4" | "xfs";
}

export interface HetznerPricing {
  /** What one GB of volume costs a month, VAT included, as Hetzner's decimal string. */
  volumePerGbMonthGross: string;
  volumePerGbMonthNet: string;
  /** The project owner's currency, e.g. "EUR". */
  currency: string;
  vatRate: string;
}

export interface HetznerOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Retry tuning, for tests; see HttpConfig. */
  retry?: Pick<HttpConfig, "maxAttempts" | "retryDelayMs" | "maxRetryWaitMs" | "retryBudgetMs">;
  /**
   * How long a delete, shutdown, attach or detach waits for the resource's running action (its create, for
   * one stopped right after creating) to finish while Hetzner answers 423 locked, and how often it asks
   * again. Defaults 25 s and 2 s: inside the 30 s a Worker may keep working after its response.
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

  /**
   * Runs `attempt` again while Hetzner answers 423 locked (another action on the resource still runs): a
   * locked refusal changed nothing, so asking again is safe. Other refusals, `protected` included, throw at once.
   */
  const whileLocked = async <T>(attempt: () => Promise<T>): Promise<T> => {
    const waitMs = options.locked?.waitMs ?? 25_000;
    const pollMs = options.locked?.pollMs ?? 2000;
    const started = Date.now();
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        const locked = isProviderError(error, 423) && error.code === "locked";
        if (!locked || Date.now() - started + pollMs > waitMs) throw error;
        await sleep(pollMs);
      }
    }
  };

  const actionAnswer = z.object({ action: actionSchema });

  const getAction = (id: number) => call("GET", `/actions/${id}`, actionAnswer).then((data) => data.action);

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
        ...(input.volumes?.length
          ? { volumes: input.volumes, ...(input.automount === undefined ? {} : { automount: input.automount }) }
          : {}),
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
    deleteServer: (id: number): Promise<HetznerAction | null> =>
      whileLocked(() =>
        orNull(
          call("DELETE", `/servers/${id}`, z.object({ action: actionSchema.optional() })).then(
            (data) => data.action ?? null,
          ),
        ),
      ),

    /**
     * ACPI shutdown (POST …/actions/shutdown): the OS stops its services (the agent syncs) and unmounts the
     * volumes. The action's success "only reflects whether the action was sent to the server" (Hetzner's docs):
     * the server is down once its status is `off` (waitForServerOff). Waits out 423 locked like deleteServer.
     */
    shutdownServer: (id: number): Promise<HetznerAction> =>
      whileLocked(() => call("POST", `/servers/${id}/actions/shutdown`, actionAnswer)).then((data) => data.action),

    getAction,

    /**
     * Polls the server until its status is `off` (after a shutdown: the OS has stopped); null when it is gone.
     * Rejects with status 0, code `timeout_off`, when it is still on after `timeoutMs`.
     */
    async waitForServerOff(id: number, wait: { timeoutMs: number; pollMs?: number }): Promise<HetznerServer | null> {
      const pollMs = wait.pollMs ?? 2000;
      const deadline = Date.now() + wait.timeoutMs;
      for (;;) {
        const server = await orNull(
          call("GET", `/servers/${id}`, z.object({ server: serverSchema })).then((data) => data.server),
        );
        if (!server || server.status === "off") return server;
        if (Date.now() + pollMs > deadline)
          throw new ProviderError({
            provider: "hetzner",
            status: 0,
            code: "timeout_off",
            message: `Hetzner server ${id} was still ${server.status} ${Math.round(wait.timeoutMs / 1000)} s after its shutdown`,
          });
        await sleep(pollMs);
      }
    },

    /**
     * Polls the action until it has finished: resolves with it on `success`; on `error` rejects with a
     * ProviderError of status 200 (Hetzner answered; the action failed) carrying the action's own error code
     * and message; rejects with status 0, code `action_timeout`, when it still runs after `timeoutMs`.
     */
    async waitForAction(id: number, wait: { timeoutMs: number; pollMs?: number }): Promise<HetznerAction> {
      const pollMs = wait.pollMs ?? 1000;
      const deadline = Date.now() + wait.timeoutMs;
      for (;;) {
        const action = await getAction(id);
        if (action.status === "success") return action;
        if (action.status === "error")
          throw new ProviderError({
            provider: "hetzner",
            status: 200,
            code: action.error?.code ?? "action_failed",
            message: action.error?.message ?? `Hetzner action ${action.command} failed`,
          });
        if (Date.now() + pollMs > deadline)
          throw new ProviderError({
            provider: "hetzner",
            status: 0,
            code: "action_timeout",
            message: `Hetzner's ${action.command} (action ${id}) was still running after ${Math.round(wait.timeoutMs / 1000)} s`,
          });
        await sleep(pollMs);
      }
    },

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

    /**
     * POST /volumes, unattached, in `location`. Never retried: a lost answer could mean a volume that bills.
     * The action (create_volume) runs until the volume is `available`.
     */
    async createVolume(
      input: CreateVolumeInput,
    ): Promise<{ volume: HetznerVolume; action: HetznerAction; nextActions: HetznerAction[] }> {
      const data = await call(
        "POST",
        "/volumes",
        z.object({ volume: volumeSchema, action: actionSchema, next_actions: z.array(actionSchema).optional() }),
        {
          body: {
            name: input.name,
            size: input.sizeGb,
            location: input.location,
            labels: input.labels,
            ...(input.format ? { format: input.format } : {}),
          },
        },
      );
      return { volume: data.volume, action: data.action, nextActions: data.next_actions ?? [] };
    },

    /** The volume, or null when it does not exist (any more). */
    getVolume: (id: number) =>
      orNull(call("GET", `/volumes/${id}`, z.object({ volume: volumeSchema })).then((data) => data.volume)),

    listVolumes: (filter: { labelSelector?: string; name?: string } = {}) =>
      listAll("/volumes", "volumes", volumeSchema, { label_selector: filter.labelSelector, name: filter.name }),

    /**
     * Deletes the volume and its data; a volume already gone is fine. Waits out 423 locked like deleteServer.
     * Hetzner refuses a volume still attached to a server (422) and one with delete protection (423
     * protected): those throw the ProviderError.
     */
    async deleteVolume(id: number): Promise<void> {
      await whileLocked(() => orNull(call("DELETE", `/volumes/${id}`, z.unknown())));
    },

    /** Attaches the volume to a server in its location; `automount` mounts it at /mnt/HC_Volume_<id>. */
    attachVolume: (id: number, serverId: number, automount?: boolean): Promise<HetznerAction> =>
      whileLocked(() =>
        call("POST", `/volumes/${id}/actions/attach`, actionAnswer, {
          body: { server: serverId, ...(automount === undefined ? {} : { automount }) },
        }),
      ).then((data) => data.action),

    /** Detaches the volume from its server; null when the volume is gone. */
    detachVolume: (id: number): Promise<HetznerAction | null> =>
      whileLocked(() =>
        orNull(call("POST", `/volumes/${id}/actions/detach`, actionAnswer).then((data) => data.action)),
      ),

    /** What a GB of volume costs a month (GET /pricing), in the project owner's currency. */
    async getPricing(): Promise<HetznerPricing> {
      const { pricing } = await call("GET", "/pricing", pricingSchema);
      return {
        volumePerGbMonthGross: pricing.volume.price_per_gb_month.gross,
        volumePerGbMonthNet: pricing.volume.price_per_gb_month.net,
        currency: pricing.currency,
        vatRate: pricing.vat_rate,
      };
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
