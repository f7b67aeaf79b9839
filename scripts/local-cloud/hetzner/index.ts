// Hetzner Cloud API v1 subset (see contract/hetzner.json and docs/local-cloud.md).
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import type { CloudContext, Request } from "../context";
import { BodyTooLargeError, intParam, isoNow, sendJson } from "../http";
import { byIdOrName, datacenterJson, IMAGES, imageJson, LOCATIONS, SERVER_TYPES, serverTypeJson } from "./catalog";
import { LabelSelectorError, labelProblems, matchesSelector, parseLabelSelector } from "../labels";
import { destroyMachine, newMachine, runCloudInit, stopAgent } from "../machines";
import { RefillingLimiter } from "../rate-limit";

type ServerStatus = "initializing" | "starting" | "running" | "stopping" | "off" | "deleting";

export interface HetznerServer {
  id: number;
  name: string;
  status: ServerStatus;
  created: string;
  labels: Record<string, string>;
  serverTypeId: number;
  locationName: string;
  imageId: number;
  ipv4: string;
  ipv6: string;
  userData: string | null;
  /** Firewalls applied to this server directly (not through a label selector). */
}

interface FirewallRule {
  description: string | null;
  direction: "in" | "out";
  protocol: string;
  port: string | null;
  source_ips: string[];
  destination_ips: string[];
}

type FirewallTarget = { type: "server"; serverId: number } | { type: "label_selector"; selector: string };

export interface HetznerFirewall {
  id: number;
  name: string;
  labels: Record<string, string>;
  created: string;
  rules: FirewallRule[];
  appliedTo: FirewallTarget[];
}

interface Action {
  id: number;
  command: string;
  started: string;
  finished: string | null;
  resources: Array<{ id: number; type: string }>;
  error: { code: string; message: string } | null;
}

class HetznerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

const invalidField = (name: string, messages: string[]) =>
  new HetznerError(422, "invalid_input", `invalid input in field '${name}': ${messages.join(", ")}`, { fields: [{ name, messages }] });

const notFound = (what = "resource") => new HetznerError(404, "not_found", `${what} not found`);

const MAX_USER_DATA = 32 * 1024;
const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export class Hetzner {
  servers = new Map<number, HetznerServer>();
  firewalls = new Map<number, HetznerFirewall>();
  actions = new Map<number, Action>();
  readonly limiter = new RefillingLimiter(3600, 3600);
  private nextServerId = 10_000_001;
  private nextFirewallId = 20_001;
  private nextActionId = 30_000_001;
  private usedAddresses = new Set<number>();

  constructor(private readonly cloud: CloudContext) {}

  reset(): void {
    this.servers.clear();
    this.firewalls.clear();
    this.actions.clear();
    this.usedAddresses.clear();
    this.limiter.reset();
  }

  serverByIpv4(ip: string): HetznerServer | undefined {
    for (const server of this.servers.values()) if (server.ipv4 === ip) return server;
    return undefined;
  }

  async handle(r: Request): Promise<void> {
    const token = /^Bearer\s+(\S+)$/i.exec(r.req.headers.authorization ?? "")?.[1];
    const authorized = token === this.cloud.options.hetznerToken;
    const budget = this.limiter.take(authorized ? `token:${token}` : `ip:${r.req.socket.remoteAddress}`);
    const headers = { "RateLimit-Limit": String(budget.limit), "RateLimit-Remaining": String(budget.remaining), "RateLimit-Reset": String(budget.reset) };
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
      const result = await this.route(r);
      if (result.status === 204) reply(204);
      else reply(result.status, result.body, result.headers);
    } catch (error) {
      if (error instanceof HetznerError) reply(error.status, { error: { code: error.code, message: error.message, details: error.details } });
      else if (error instanceof BodyTooLargeError) reply(413, { error: { code: "invalid_input", message: error.message, details: null } });
      else {
        this.cloud.options.log(`hetzner: ${(error as Error).stack ?? error}`);
        reply(500, { error: { code: "server_error", message: "internal server error", details: null } });
      }
    }
  }

  private async json(r: Request): Promise<Record<string, unknown>> {
    const raw = (await r.body()).toString("utf8");
    if (raw.trim() === "") return {};
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new HetznerError(400, "json_error", `invalid JSON: ${(error as Error).message}`);
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new HetznerError(400, "json_error", "JSON body must be an object");
    return value as Record<string, unknown>;
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
      if (!methods.includes(method)) throw new HetznerError(405, "method_not_allowed", `method ${method} is not allowed`);
    };
    const [resource, , sub, action] = parts;
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
        return this.list(r, "server_types", all.filter((t) => !name || t.name === name));
      }
      case "locations": {
        only("GET");
        if (parts.length === 2) {
          const location = LOCATIONS.find((l) => l.id === id(1));
          if (!location) throw notFound("location");
          return { status: 200, body: { location } };
        }
        const name = url.searchParams.get("name");
        return this.list(r, "locations", LOCATIONS.filter((l) => !name || l.name === name));
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
        const page = this.page(r, all.filter((d) => !name || d.name === name));
        return { status: 200, body: { datacenters: page.items, recommendation: all[0]!.id, meta: page.meta }, headers: page.headers };
      }
      case "images": {
        only("GET");
        const all = IMAGES.map(imageJson);
        if (parts.length === 2) {
          const image = all.find((i) => i.id === id(1));
          if (!image) throw notFound("image");
          return { status: 200, body: { image } };
        }
        const name = url.searchParams.get("name");
        const types = url.searchParams.getAll("type");
        const arch = url.searchParams.get("architecture");
        return this.list(r, "images", all.filter((i) => (!name || i.name === name) && (!types.length || types.includes(i.type)) && (!arch || i.architecture === arch)));
      }
      case "actions": {
        only("GET");
        if (parts.length !== 2) throw notFound();
        const found = this.actions.get(id(1));
        if (!found) throw notFound("action");
        return { status: 200, body: { action: this.actionJson(found) } };
      }
      case "servers":
        if (parts.length === 1) {
          only("GET", "POST");
          return method === "GET" ? this.listServers(r) : this.createServer(await this.json(r));
        }
        if (parts.length === 2) {
          only("GET", "PUT", "DELETE");
          const server = this.servers.get(id(1));
          if (!server) throw notFound("server");
          if (method === "GET") return { status: 200, body: { server: this.serverJson(server) } };
          if (method === "PUT") return this.updateServer(server, await this.json(r));
          return { status: 200, body: { action: this.actionJson(this.deleteServer(server)) } };
        }
        if (parts.length === 4 && sub === "actions") {
          only("POST");
          const server = this.servers.get(id(1));
          if (!server) throw notFound("server");
          return this.serverAction(server, action!);
        }
        throw notFound();
      case "firewalls":
        return this.firewallRoute(r, parts, id, only);
      default:
        throw notFound();
    }
  }

  // Pagination per the API overview: page (from 1), per_page (default 25, max 50), meta.pagination, Link.
  private page<T>(r: Request, items: T[]) {
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
      const next = new URL(`${this.cloud.url}/hetzner/v1${r.path}`);
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

  private list(r: Request, key: string, items: unknown[]) {
    const page = this.page(r, items);
    return { status: 200, body: { [key]: page.items, meta: page.meta }, headers: page.headers };
  }

  private selector(r: Request) {
    const raw = r.url.searchParams.get("label_selector");
    if (raw === null) return null;
    try {
      return parseLabelSelector(raw);
    } catch (error) {
      if (error instanceof LabelSelectorError) throw invalidField("label_selector", [error.message]);
      throw error;
    }
  }

  private sorted<T extends { id: number; name: string; created: string }>(r: Request, items: T[]): T[] {
    const sorts = r.url.searchParams.getAll("sort");
    const allowed = ["id", "name", "created"];
    const keys = (sorts.length ? sorts : ["id"]).map((s) => {
      const [field = "", direction = "asc"] = s.split(":");
      if (!allowed.includes(field) || !["asc", "desc"].includes(direction)) throw invalidField("sort", [`invalid sort '${s}'`]);
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

  private listServers(r: Request) {
    const selector = this.selector(r);
    const name = r.url.searchParams.get("name");
    const statuses = r.url.searchParams.getAll("status");
    const matching = [...this.servers.values()].filter(
      (s) => (!selector || matchesSelector(s.labels, selector)) && (name === null || s.name === name) && (!statuses.length || statuses.includes(s.status)),
    );
    return this.list(r, "servers", this.sorted(r, matching).map((s) => this.serverJson(s)));
  }

  private newAction(command: string, resources: Array<{ id: number; type: string }>, done = false): Action {
    const action: Action = { id: this.nextActionId++, command, started: isoNow(), finished: null, resources, error: null };
    this.actions.set(action.id, action);
    if (done) setImmediate(() => (action.finished = isoNow()));
    return action;
  }

  private actionJson(action: Action) {
    const done = action.finished !== null;
    return {
      id: action.id,
      command: action.command,
      status: action.error ? "error" : done ? "success" : "running",
      progress: done ? 100 : 0,
      started: action.started,
      finished: action.finished,
      resources: action.resources,
      error: action.error,
    };
  }

  private allocateAddress(): number {
    for (let host = 2; host < 255; host++) {
      if (!this.usedAddresses.has(host)) {
        this.usedAddresses.add(host);
        return host;
      }
    }
    throw new HetznerError(412, "resource_unavailable", "no public IPv4 left in 203.0.113.0/24");
  }

  private createServer(body: Record<string, unknown>) {
    const { name, server_type, image, location, datacenter, labels, user_data, firewalls } = body;
    if (typeof name !== "string" || name === "") throw invalidField("name", ["Missing data for required field."]);
    if (!HOSTNAME.test(name)) throw invalidField("name", ["Invalid hostname (RFC 1123)."]);
    if (server_type === undefined) throw invalidField("server_type", ["Missing data for required field."]);
    if (image === undefined) throw invalidField("image", ["Missing data for required field."]);
    const type = byIdOrName(SERVER_TYPES, server_type);
    if (!type) throw invalidField("server_type", [`server type '${String(server_type)}' not found`]);
    if (location !== undefined && datacenter !== undefined) throw invalidField("location", ["must not be used together with datacenter"]);
    let place = LOCATIONS[0]!;
    if (location !== undefined) {
      const found = byIdOrName(LOCATIONS, location);
      if (!found) throw invalidField("location", [`location '${String(location)}' not found`]);
      place = found;
    } else if (datacenter !== undefined) {
      const found = byIdOrName(LOCATIONS.map(datacenterJson), datacenter);
      if (!found) throw invalidField("datacenter", [`datacenter '${String(datacenter)}' not found`]);
      place = found.location;
    }
    const candidates = typeof image === "number" || /^\d+$/.test(String(image)) ? IMAGES.filter((i) => i.id === Number(image)) : IMAGES.filter((i) => i.name === image);
    const chosenImage = candidates.find((i) => i.architecture === type.architecture);
    if (!chosenImage) throw invalidField("image", [candidates.length ? "image architecture does not match the server type" : `image '${String(image)}' not found`]);
    const labelIssues = labelProblems(labels);
    if (labelIssues.length) throw invalidField("labels", labelIssues);
    if (user_data !== undefined && user_data !== null) {
      if (typeof user_data !== "string") throw invalidField("user_data", ["Not a valid string."]);
      if (Buffer.byteLength(user_data) > MAX_USER_DATA) throw invalidField("user_data", ["user_data must not be larger than 32 KiB"]);
    }
    const firewallIds: number[] = [];
    if (firewalls !== undefined) {
      if (!Array.isArray(firewalls)) throw invalidField("firewalls", ["Not a valid list."]);
      for (const entry of firewalls) {
        const fwId = (entry as { firewall?: unknown })?.firewall;
        if (typeof fwId !== "number") throw invalidField("firewalls", ["each entry needs an integer 'firewall'"]);
        if (!this.firewalls.has(fwId)) throw new HetznerError(404, "firewall_resource_not_found", `firewall ${fwId} not found`);
        firewallIds.push(fwId);
      }
    }
    for (const existing of this.servers.values()) {
      if (existing.name === name) throw new HetznerError(409, "uniqueness_error", "server name is already used", { fields: [{ name: "name" }] });
    }
    const host = this.allocateAddress();
    const server: HetznerServer = {
      id: this.nextServerId++,
      name,
      status: "initializing",
      created: isoNow(),
      labels: { ...((labels as Record<string, string>) ?? {}) },
      serverTypeId: type.id,
      locationName: place.name,
      imageId: chosenImage.id,
      ipv4: `203.0.113.${host}`,
      ipv6: `2001:db8:0:${host.toString(16)}::/64`,
      userData: (user_data as string | undefined) ?? null,
    };
    this.servers.set(server.id, server);
    for (const fwId of firewallIds) this.firewalls.get(fwId)!.appliedTo.push({ type: "server", serverId: server.id });
    const resources = [{ id: server.id, type: "server" }];
    const create = this.newAction("create_server", resources);
    const start = body.start_after_create === false ? null : this.newAction("start_server", resources);
    const applies = firewallIds.map((fwId) => this.newAction("apply_firewall", [...resources, { id: fwId, type: "firewall" }]));
    const dir = join(this.cloud.dir, "servers", String(server.id));
    mkdirSync(dir, { recursive: true });
    const machine = newMachine(server.id, dir);
    this.cloud.machines.set(server.id, machine);
    const boot = async () => {
      // Always yield first: the create response shows the server still initializing, as Hetzner's does.
      await new Promise((resolve) => setTimeout(resolve, this.cloud.options.bootDelayMs));
      if (machine.stopped) return;
      const now = isoNow();
      create.finished = now;
      for (const action of applies) action.finished = now;
      if (!start) {
        server.status = "off";
        return;
      }
      server.status = "running";
      start.finished = now;
      await runCloudInit(machine, server.userData, this.cloud.options.log);
    };
    this.cloud.track(boot());
    const response = {
      server: this.serverJson(server),
      action: this.actionJson(create),
      next_actions: [start, ...applies].filter((a): a is Action => a !== null).map((a) => this.actionJson(a)),
      root_password: null,
    };
    return { status: 201, body: response };
  }

  private updateServer(server: HetznerServer, body: Record<string, unknown>) {
    if (body.name !== undefined) {
      if (typeof body.name !== "string" || !HOSTNAME.test(body.name)) throw invalidField("name", ["Invalid hostname (RFC 1123)."]);
      for (const other of this.servers.values()) {
        if (other !== server && other.name === body.name) throw new HetznerError(409, "uniqueness_error", "server name is already used", { fields: [{ name: "name" }] });
      }
    }
    const labelIssues = labelProblems(body.labels);
    if (labelIssues.length) throw invalidField("labels", labelIssues);
    if (typeof body.name === "string") server.name = body.name;
    if (body.labels !== undefined) server.labels = { ...(body.labels as Record<string, string>) };
    return { status: 200, body: { server: this.serverJson(server) } };
  }

  deleteServer(server: HetznerServer): Action {
    const action = this.newAction("delete_server", [{ id: server.id, type: "server" }]);
    this.servers.delete(server.id);
    this.usedAddresses.delete(Number(server.ipv4.split(".").pop()));
    for (const firewall of this.firewalls.values()) {
      firewall.appliedTo = firewall.appliedTo.filter((t) => !(t.type === "server" && t.serverId === server.id));
    }
    const machine = this.cloud.machines.get(server.id);
    const teardown = async () => {
      if (machine) {
        await destroyMachine(machine);
        this.cloud.machines.delete(server.id);
      }
      action.finished = isoNow();
    };
    this.cloud.track(teardown());
    return action;
  }

  private serverAction(server: HetznerServer, name: string) {
    const machine = this.cloud.machines.get(server.id);
    const resources = [{ id: server.id, type: "server" }];
    switch (name) {
      case "poweroff":
      case "shutdown": {
        const action = this.newAction(name === "poweroff" ? "stop_server" : "shutdown_server", resources);
        server.status = "off";
        this.cloud.track((machine ? stopAgent(machine) : Promise.resolve()).then(() => (action.finished = isoNow())));
        return { status: 201, body: { action: this.actionJson(action) } };
      }
      case "poweron": {
        const action = this.newAction("start_server", resources);
        if (server.status === "off" && machine) {
          server.status = "running";
          machine.stopped = false;
          // A powered-on VM runs its boot units again; cloud-init's runcmd does not, but systemd starts the agent.
          this.cloud.track(runCloudInit(machine, server.userData, this.cloud.options.log).then(() => (action.finished = isoNow())));
        } else action.finished = isoNow();
        return { status: 201, body: { action: this.actionJson(action) } };
      }
      default:
        throw notFound();
    }
  }

  /** Firewalls that apply to a server: directly or through a matching label selector. */
  private firewallsOf(server: HetznerServer): number[] {
    const ids: number[] = [];
    for (const firewall of this.firewalls.values()) {
      const applies = firewall.appliedTo.some((t) => (t.type === "server" ? t.serverId === server.id : matchesSelector(server.labels, parseLabelSelector(t.selector))));
      if (applies) ids.push(firewall.id);
    }
    return ids;
  }

  serverJson(server: HetznerServer) {
    const type = SERVER_TYPES.find((t) => t.id === server.serverTypeId)!;
    const location = LOCATIONS.find((l) => l.name === server.locationName)!;
    const image = IMAGES.find((i) => i.id === server.imageId)!;
    return {
      id: server.id,
      name: server.name,
      status: server.status,
      created: server.created,
      public_net: {
        ipv4: { id: server.id + 90_000_000, ip: server.ipv4, blocked: false, dns_ptr: `static.${server.ipv4.split(".").reverse().join(".")}.clients.your-server.de` },
        ipv6: { id: server.id + 91_000_000, ip: server.ipv6, blocked: false, dns_ptr: [] },
        floating_ips: [],
        firewalls: this.firewallsOf(server).map((id) => ({ id, status: "applied" })),
      },
      private_net: [],
      server_type: serverTypeJson(type),
      datacenter: datacenterJson(location),
      location,
      image: imageJson(image),
      iso: null,
      rescue_enabled: false,
      locked: false,
      backup_window: null,
      outgoing_traffic: 0,
      ingoing_traffic: 0,
      included_traffic: 21990232555520,
      protection: { delete: false, rebuild: false },
      labels: server.labels,
      volumes: [],
      load_balancers: [],
      primary_disk_size: type.disk,
      placement_group: null,
    };
  }

  // Firewalls --------------------------------------------------------------------------------------------

  private firewallJson(firewall: HetznerFirewall) {
    return {
      id: firewall.id,
      name: firewall.name,
      labels: firewall.labels,
      created: firewall.created,
      rules: firewall.rules,
      applied_to: firewall.appliedTo.map((t) =>
        t.type === "server"
          ? { type: "server", server: { id: t.serverId } }
          : {
              type: "label_selector",
              label_selector: { selector: t.selector },
              applied_to_resources: [...this.servers.values()]
                .filter((s) => matchesSelector(s.labels, parseLabelSelector(t.selector)))
                .map((s) => ({ type: "server", server: { id: s.id } })),
            },
      ),
    };
  }

  private parseRules(value: unknown): FirewallRule[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidField("rules", ["Not a valid list."]);
    if (value.length > 50) throw invalidField("rules", ["at most 50 rules"]);
    return value.map((raw, index) => {
      const rule = (raw ?? {}) as Record<string, unknown>;
      const field = `rules[${index}]`;
      if (rule.direction !== "in" && rule.direction !== "out") throw invalidField(`${field}.direction`, ["must be one of: in, out"]);
      if (!["tcp", "udp", "icmp", "esp", "gre"].includes(String(rule.protocol))) throw invalidField(`${field}.protocol`, ["must be one of: tcp, udp, icmp, esp, gre"]);
      const ported = rule.protocol === "tcp" || rule.protocol === "udp";
      let port: string | null = null;
      if (ported) {
        if (typeof rule.port !== "string" || !/^(any|\d{1,5}(-\d{1,5})?)$/.test(rule.port)) throw invalidField(`${field}.port`, ["port is required for tcp/udp: a port, a range 'a-b' or 'any'"]);
        for (const p of rule.port === "any" ? [] : rule.port.split("-").map(Number)) if (p < 1 || p > 65535) throw invalidField(`${field}.port`, ["ports are 1-65535"]);
        port = rule.port;
      } else if (rule.port !== undefined && rule.port !== null) throw invalidField(`${field}.port`, [`port is not allowed for protocol ${String(rule.protocol)}`]);
      const ips = (name: "source_ips" | "destination_ips") => {
        const list = rule[name] ?? [];
        if (!Array.isArray(list) || list.some((ip) => typeof ip !== "string" || !/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(ip))) throw invalidField(`${field}.${name}`, ["must be a list of CIDR blocks"]);
        if (list.length > 100) throw invalidField(`${field}.${name}`, ["at most 100 CIDR blocks"]);
        return list as string[];
      };
      const source = ips("source_ips");
      const destination = ips("destination_ips");
      if (rule.direction === "in" && source.length === 0) throw invalidField(`${field}.source_ips`, ["source_ips are required for direction 'in'"]);
      if (rule.direction === "out" && destination.length === 0) throw invalidField(`${field}.destination_ips`, ["destination_ips are required for direction 'out'"]);
      if (rule.description !== undefined && rule.description !== null && (typeof rule.description !== "string" || rule.description.length > 255)) throw invalidField(`${field}.description`, ["at most 255 characters"]);
      return { description: (rule.description as string | undefined) ?? null, direction: rule.direction, protocol: String(rule.protocol), port, source_ips: source, destination_ips: destination };
    });
  }

  private parseTargets(value: unknown, field: string): FirewallTarget[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidField(field, ["Not a valid list."]);
    return value.map((raw) => {
      const target = (raw ?? {}) as { type?: unknown; server?: { id?: unknown }; label_selector?: { selector?: unknown } };
      if (target.type === "server") {
        const serverId = target.server?.id;
        if (typeof serverId !== "number") throw invalidField(field, ["server.id is required for type 'server'"]);
        if (!this.servers.has(serverId)) throw new HetznerError(404, "firewall_resource_not_found", `server ${serverId} not found`);
        return { type: "server", serverId };
      }
      if (target.type === "label_selector") {
        const selector = target.label_selector?.selector;
        if (typeof selector !== "string" || selector === "") throw invalidField(field, ["label_selector.selector is required for type 'label_selector'"]);
        try {
          parseLabelSelector(selector);
        } catch (error) {
          throw invalidField(field, [(error as Error).message]);
        }
        return { type: "label_selector", selector };
      }
      throw invalidField(field, ["type must be one of: server, label_selector"]);
    });
  }

  private async firewallRoute(r: Request, parts: string[], id: (i: number) => number, only: (...m: string[]) => void) {
    if (parts.length === 1) {
      only("GET", "POST");
      if (r.method === "GET") {
        const selector = this.selector(r);
        const name = r.url.searchParams.get("name");
        const matching = [...this.firewalls.values()].filter((f) => (!selector || matchesSelector(f.labels, selector)) && (name === null || f.name === name));
        return this.list(r, "firewalls", this.sorted(r, matching).map((f) => this.firewallJson(f)));
      }
      const body = await this.json(r);
      if (typeof body.name !== "string" || body.name === "") throw invalidField("name", ["Missing data for required field."]);
      if (body.name.length > 128) throw invalidField("name", ["at most 128 characters"]);
      for (const f of this.firewalls.values()) if (f.name === body.name) throw new HetznerError(409, "uniqueness_error", "firewall name is already used", { fields: [{ name: "name" }] });
      const labelIssues = labelProblems(body.labels);
      if (labelIssues.length) throw invalidField("labels", labelIssues);
      const rules = this.parseRules(body.rules);
      const targets = this.parseTargets(body.apply_to, "apply_to");
      const firewall: HetznerFirewall = { id: this.nextFirewallId++, name: body.name, labels: { ...((body.labels as Record<string, string>) ?? {}) }, created: isoNow(), rules, appliedTo: targets };
      this.firewalls.set(firewall.id, firewall);
      const actions = targets.map((t) => this.newAction("apply_firewall", [{ id: firewall.id, type: "firewall" }, ...(t.type === "server" ? [{ id: t.serverId, type: "server" }] : [])], true));
      return { status: 201, body: { firewall: this.firewallJson(firewall), actions: actions.map((a) => this.actionJson(a)) } };
    }
    const firewall = this.firewalls.get(id(1));
    if (!firewall) throw notFound("firewall");
    if (parts.length === 2) {
      only("GET", "PUT", "DELETE");
      if (r.method === "GET") return { status: 200, body: { firewall: this.firewallJson(firewall) } };
      if (r.method === "PUT") {
        const body = await this.json(r);
        if (body.name !== undefined) {
          if (typeof body.name !== "string" || body.name === "") throw invalidField("name", ["must be a non-empty string"]);
          for (const f of this.firewalls.values()) if (f !== firewall && f.name === body.name) throw new HetznerError(409, "uniqueness_error", "firewall name is already used", { fields: [{ name: "name" }] });
        }
        const labelIssues = labelProblems(body.labels);
        if (labelIssues.length) throw invalidField("labels", labelIssues);
        if (typeof body.name === "string") firewall.name = body.name;
        if (body.labels !== undefined) firewall.labels = { ...(body.labels as Record<string, string>) };
        return { status: 200, body: { firewall: this.firewallJson(firewall) } };
      }
      if (firewall.appliedTo.length > 0) throw new HetznerError(422, "resource_in_use", "firewall is still applied to a resource");
      this.firewalls.delete(firewall.id);
      return { status: 204 };
    }
    if (parts.length === 4 && parts[2] === "actions") {
      only("POST");
      const body = await this.json(r);
      if (parts[3] === "apply_to_resources") {
        if (body.apply_to === undefined) throw invalidField("apply_to", ["Missing data for required field."]);
        const targets = this.parseTargets(body.apply_to, "apply_to");
        for (const t of targets) {
          const already = firewall.appliedTo.some((e) => (t.type === "server" && e.type === "server" ? e.serverId === t.serverId : t.type === "label_selector" && e.type === "label_selector" && e.selector === t.selector));
          if (already) throw new HetznerError(422, "firewall_already_applied", "firewall is already applied to the resource");
        }
        firewall.appliedTo.push(...targets);
        const actions = targets.map((t) => this.newAction("apply_firewall", [{ id: firewall.id, type: "firewall" }, ...(t.type === "server" ? [{ id: t.serverId, type: "server" }] : [])], true));
        return { status: 201, body: { actions: actions.map((a) => this.actionJson(a)) } };
      }
      if (parts[3] === "remove_from_resources") {
        if (body.remove_from === undefined) throw invalidField("remove_from", ["Missing data for required field."]);
        const targets = this.parseTargets(body.remove_from, "remove_from");
        for (const t of targets) {
          if (t.type === "server") {
            const direct = firewall.appliedTo.some((e) => e.type === "server" && e.serverId === t.serverId);
            if (!direct) {
              const viaSelector = this.firewallsOf(this.servers.get(t.serverId)!).includes(firewall.id);
              if (viaSelector) throw new HetznerError(422, "firewall_managed_by_label_selector", "firewall is applied via a label selector and cannot be removed manually");
              throw new HetznerError(404, "firewall_resource_not_found", "firewall is not applied to the resource");
            }
          } else if (!firewall.appliedTo.some((e) => e.type === "label_selector" && e.selector === t.selector)) {
            throw new HetznerError(404, "firewall_resource_not_found", "firewall is not applied to the label selector");
          }
        }
        firewall.appliedTo = firewall.appliedTo.filter((e) => !targets.some((t) => (t.type === "server" && e.type === "server" ? e.serverId === t.serverId : t.type === "label_selector" && e.type === "label_selector" && e.selector === t.selector)));
        const actions = targets.map((t) => this.newAction("remove_firewall", [{ id: firewall.id, type: "firewall" }, ...(t.type === "server" ? [{ id: t.serverId, type: "server" }] : [])], true));
        return { status: 201, body: { actions: actions.map((a) => this.actionJson(a)) } };
      }
    }
    throw notFound();
  }

  state() {
    return {
      servers: [...this.servers.values()].map((s) => ({ id: s.id, name: s.name, status: s.status, labels: s.labels, ipv4: s.ipv4, created: s.created })),
      firewalls: [...this.firewalls.values()].map((f) => this.firewallJson(f)),
    };
  }
}
