// Hetzner Cloud API v1 subset (see contract/hetzner.json and docs/local-cloud.md): authentication, rate
// limits and errors, the catalog, pricing and actions routes; servers, firewalls, images and volumes have their
// own modules.
import type { CloudContext, Request } from "../context";
import { BodyTooLargeError, sendJson } from "../http";
import { RefillingLimiter } from "../rate-limit";
import { HetznerError, list, notFound, paginate } from "./api";
import { datacenterJson, LOCATIONS, pricingJson, SERVER_TYPES, serverTypeJson } from "./catalog";
import { admitsTcp, Firewalls } from "./firewalls";
import { Images } from "./images";
import { Servers } from "./servers";
import { actionJson, HetznerStore, type HetznerServer } from "./store";
import { Volumes } from "./volumes";

export class Hetzner {
  readonly limiter = new RefillingLimiter(3600, 3600);
  private readonly store: HetznerStore;
  private readonly servers: Servers;
  private readonly firewalls: Firewalls;
  private readonly images: Images;
  private readonly volumes: Volumes;

  constructor(cloud: CloudContext) {
    this.store = new HetznerStore(cloud);
    this.images = new Images(this.store);
    this.servers = new Servers(this.store, this.images);
    this.firewalls = new Firewalls(this.store);
    this.volumes = new Volumes(this.store);
  }

  /** How long an ACPI shutdown lets the agent stop before killing it (default 20 s, systemd's way); for tests. */
  set shutdownGraceMs(ms: number) {
    this.store.shutdownGraceMs = ms;
  }

  /** How many servers exist (for the admin API's health answer). */
  get serverCount(): number {
    return this.store.servers.size;
  }

  /** Tokens made with only Read access in the console: every method but GET answers 401 token_readonly. */
  private readonly readOnlyTokens = new Set<string>();

  addReadOnlyToken(token: string): void {
    this.readOnlyTokens.add(token);
  }

  reset(): void {
    this.readOnlyTokens.clear();
    this.store.reset();
    this.servers.reset();
    this.limiter.reset();
  }

  serverByIpv4(ip: string): HetznerServer | undefined {
    for (const server of this.store.servers.values()) if (server.ipv4 === ip) return server;
    return undefined;
  }

  /** Whether the server's firewalls let a TCP connection from `source` through to `port`. */
  admitsTcp(server: HetznerServer, port: number, source: string): boolean {
    return admitsTcp(this.store, server, port, source);
  }

  async handle(r: Request): Promise<void> {
    const token = /^Bearer\s+(\S+)$/i.exec(r.req.headers.authorization ?? "")?.[1];
    const readOnly = token !== undefined && this.readOnlyTokens.has(token);
    const authorized = token === this.store.cloud.options.hetznerToken || readOnly;
    const budget = this.limiter.take(authorized ? `token:${token}` : `ip:${r.req.socket.remoteAddress}`);
    const headers = {
      "RateLimit-Limit": String(budget.limit),
      "RateLimit-Remaining": String(budget.remaining),
      "RateLimit-Reset": String(budget.reset),
    };
    const reply = (status: number, body?: unknown, extra: Record<string, string> = {}) => {
      if (body === undefined) {
        r.res.writeHead(status, { ...headers, ...extra });
        r.res.end();
      } else sendJson(r.res, status, body, { ...headers, ...extra });
    };
    try {
      if (!budget.allowed) throw new HetznerError(429, "rate_limit_exceeded", "limit of requests per hour reached");
      if (!token) throw new HetznerError(401, "unauthorized", "request was made without a token");
      if (!authorized) throw new HetznerError(401, "unauthorized", "unable to authenticate");
      // Checked with the token, before the request's body is read: as the API's error table says.
      if (readOnly && r.method !== "GET")
        throw new HetznerError(401, "token_readonly", "the token is only allowed to perform GET requests");
      const result = await this.route(r);
      if (result.status === 204) reply(204);
      else reply(result.status, result.body, result.headers);
    } catch (error) {
      if (error instanceof HetznerError)
        reply(error.status, { error: { code: error.code, message: error.message, details: error.details } });
      else if (error instanceof BodyTooLargeError)
        reply(413, { error: { code: "invalid_input", message: error.message, details: null } });
      else {
        this.store.cloud.options.log(`hetzner: ${(error as Error).stack ?? error}`);
        reply(500, { error: { code: "server_error", message: "internal server error", details: null } });
      }
    }
  }

  private async route(r: Request): Promise<{ status: number; body?: unknown; headers?: Record<string, string> }> {
    const { method, path, url } = r;
    const parts = path.split("/").filter(Boolean);
    const id = (index: number) => {
      const raw = parts[index] ?? "";
      if (!/^\d+$/.test(raw)) throw notFound();
      return Number(raw);
    };
    const only = (...methods: string[]) => {
      if (!methods.includes(method))
        throw new HetznerError(405, "method_not_allowed", `method ${method} is not allowed`);
    };
    const [resource] = parts;
    switch (resource) {
      case "server_types": {
        only("GET");
        const all = SERVER_TYPES.map(serverTypeJson);
        if (parts.length === 2) {
          const type = all.find((t) => t.id === id(1));
          if (!type) throw notFound("server type");
          return { status: 200, body: { server_type: type } };
        }
        const name = url.searchParams.get("name");
        return list(
          this.store.cloud,
          r,
          "server_types",
          all.filter((t) => !name || t.name === name),
        );
      }
      case "locations": {
        only("GET");
        if (parts.length === 2) {
          const location = LOCATIONS.find((l) => l.id === id(1));
          if (!location) throw notFound("location");
          return { status: 200, body: { location } };
        }
        const name = url.searchParams.get("name");
        return list(
          this.store.cloud,
          r,
          "locations",
          LOCATIONS.filter((l) => !name || l.name === name),
        );
      }
      case "datacenters": {
        only("GET");
        const all = LOCATIONS.map(datacenterJson);
        if (parts.length === 2) {
          const dc = all.find((d) => d.id === id(1));
          if (!dc) throw notFound("datacenter");
          return { status: 200, body: { datacenter: dc } };
        }
        const name = url.searchParams.get("name");
        const page = paginate(
          this.store.cloud,
          r,
          all.filter((d) => !name || d.name === name),
        );
        return {
          status: 200,
          body: { datacenters: page.items, recommendation: all[0]!.id, meta: page.meta },
          headers: page.headers,
        };
      }
      case "images":
        return this.images.route(r, parts, id, only);
      case "actions": {
        only("GET");
        if (parts.length !== 2) throw notFound();
        const found = this.store.actions.get(id(1));
        if (!found) throw notFound("action");
        return { status: 200, body: { action: actionJson(found) } };
      }
      case "servers":
        return this.servers.route(r, parts, id, only);
      case "volumes":
        return this.volumes.route(r, parts, id, only);
      case "pricing":
        only("GET");
        if (parts.length !== 1) throw notFound();
        return { status: 200, body: { pricing: pricingJson() } };
      case "firewalls":
        return this.firewalls.route(r, parts, id, only);
      default:
        throw notFound();
    }
  }

  state() {
    return {
      servers: [...this.store.servers.values()].map((s) => ({
        id: s.id,
        name: s.name,
        status: s.status,
        labels: s.labels,
        ipv4: s.ipv4,
        created: s.created,
        // What the server booted with, as Hetzner keeps it for anyone with the project's token: tests check
        // that no secret is in it.
        user_data: s.userData,
      })),
      firewalls: [...this.store.firewalls.values()].map((f) => this.firewalls.firewallJson(f)),
      images: [...this.store.snapshots.values()].map((s) => this.images.snapshotJson(s)),
      volumes: [...this.store.volumes.values()].map((v) => this.volumes.stateJson(v)),
    };
  }
}
