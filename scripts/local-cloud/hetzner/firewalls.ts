// Firewalls: rules, and where they apply (servers directly or through a label selector), with the apply and
// remove actions.
import type { Request } from "../context";
import { isoNow } from "../http";
import { labelProblems, matchesSelector, parseLabelSelector } from "../labels";
import { HetznerError, invalidField, list, notFound, readJson, selectorParam, sorted } from "./api";
import {
  actionJson,
  type FirewallRule,
  type FirewallTarget,
  type HetznerFirewall,
  type HetznerServer,
  type HetznerStore,
} from "./store";

/** Firewalls that apply to a server: directly or through a matching label selector. */
export function firewallsOf(store: HetznerStore, server: HetznerServer): number[] {
  const ids: number[] = [];
  for (const firewall of store.firewalls.values()) {
    const applies = firewall.appliedTo.some((t) =>
      t.type === "server" ? t.serverId === server.id : matchesSelector(server.labels, parseLabelSelector(t.selector)),
    );
    if (applies) ids.push(firewall.id);
  }
  return ids;
}

/** Whether an IPv4 address lies in a CIDR block (IPv6 blocks never hold one). */
export function inCidr(ipv4: string, cidr: string): boolean {
  const [network, bits] = cidr.split("/");
  const toNumber = (address: string) => {
    const bytes = address.split(".").map(Number);
    if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) return null;
    return bytes.reduce((n, b) => n * 256 + b, 0);
  };
  const ip = toNumber(ipv4);
  const net = network ? toNumber(network) : null;
  const prefix = Number(bits);
  if (ip === null || net === null || !(prefix >= 0 && prefix <= 32)) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(ip / size) === Math.floor(net / size);
}

/**
 * Whether a TCP connection from `source` reaches `port` on the server, as Hetzner's firewalls decide: with no
 * firewall applied everything is admitted; with any applied, only what an inbound rule of one of them allows.
 */
export function admitsTcp(store: HetznerStore, server: HetznerServer, port: number, source: string): boolean {
  const applied = firewallsOf(store, server);
  if (!applied.length) return true;
  return applied.some((id) =>
    store.firewalls.get(id)!.rules.some((rule) => {
      if (rule.direction !== "in" || rule.protocol !== "tcp" || rule.port === null) return false;
      const [low, high = low] = rule.port === "any" ? [1, 65535] : rule.port.split("-").map(Number);
      return port >= low! && port <= high! && rule.source_ips.some((cidr) => inCidr(source, cidr));
    }),
  );
}

export class Firewalls {
  private nextFirewallId = 20_001;

  constructor(private readonly store: HetznerStore) {}

  firewallJson(firewall: HetznerFirewall) {
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
              applied_to_resources: [...this.store.servers.values()]
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
      if (rule.direction !== "in" && rule.direction !== "out")
        throw invalidField(`${field}.direction`, ["must be one of: in, out"]);
      if (!["tcp", "udp", "icmp", "esp", "gre"].includes(String(rule.protocol)))
        throw invalidField(`${field}.protocol`, ["must be one of: tcp, udp, icmp, esp, gre"]);
      const ported = rule.protocol === "tcp" || rule.protocol === "udp";
      let port: string | null = null;
      if (ported) {
        if (typeof rule.port !== "string" || !/^(any|\d{1,5}(-\d{1,5})?)$/.test(rule.port))
          throw invalidField(`${field}.port`, ["port is required for tcp/udp: a port, a range 'a-b' or 'any'"]);
        for (const p of rule.port === "any" ? [] : rule.port.split("-").map(Number))
          if (p < 1 || p > 65535) throw invalidField(`${field}.port`, ["ports are 1-65535"]);
        port = rule.port;
      } else if (rule.port !== undefined && rule.port !== null)
        throw invalidField(`${field}.port`, [`port is not allowed for protocol ${String(rule.protocol)}`]);
      const ips = (name: "source_ips" | "destination_ips") => {
        const list = rule[name] ?? [];
        if (!Array.isArray(list) || list.some((ip) => typeof ip !== "string" || !/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(ip)))
          throw invalidField(`${field}.${name}`, ["must be a list of CIDR blocks"]);
        if (list.length > 100) throw invalidField(`${field}.${name}`, ["at most 100 CIDR blocks"]);
        return list as string[];
      };
      const source = ips("source_ips");
      const destination = ips("destination_ips");
      if (rule.direction === "in" && source.length === 0)
        throw invalidField(`${field}.source_ips`, ["source_ips are required for direction 'in'"]);
      if (rule.direction === "out" && destination.length === 0)
        throw invalidField(`${field}.destination_ips`, ["destination_ips are required for direction 'out'"]);
      if (
        rule.description !== undefined &&
        rule.description !== null &&
        (typeof rule.description !== "string" || rule.description.length > 255)
      )
        throw invalidField(`${field}.description`, ["at most 255 characters"]);
      return {
        description: (rule.description as string | undefined) ?? null,
        direction: rule.direction,
        protocol: String(rule.protocol),
        port,
        source_ips: source,
        destination_ips: destination,
      };
    });
  }

  private parseTargets(value: unknown, field: string): FirewallTarget[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalidField(field, ["Not a valid list."]);
    return value.map((raw) => {
      const target = (raw ?? {}) as {
        type?: unknown;
        server?: { id?: unknown };
        label_selector?: { selector?: unknown };
      };
      if (target.type === "server") {
        const serverId = target.server?.id;
        if (typeof serverId !== "number") throw invalidField(field, ["server.id is required for type 'server'"]);
        if (!this.store.servers.has(serverId))
          throw new HetznerError(404, "firewall_resource_not_found", `server ${serverId} not found`);
        return { type: "server", serverId };
      }
      if (target.type === "label_selector") {
        const selector = target.label_selector?.selector;
        if (typeof selector !== "string" || selector === "")
          throw invalidField(field, ["label_selector.selector is required for type 'label_selector'"]);
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

  /** /firewalls and below; `id` reads a path segment as an id and `only` refuses other methods (both from the router). */
  async route(r: Request, parts: string[], id: (i: number) => number, only: (...m: string[]) => void) {
    if (parts.length === 1) {
      only("GET", "POST");
      if (r.method === "GET") {
        const selector = selectorParam(r);
        const name = r.url.searchParams.get("name");
        const matching = [...this.store.firewalls.values()].filter(
          (f) => (!selector || matchesSelector(f.labels, selector)) && (name === null || f.name === name),
        );
        return list(
          this.store.cloud,
          r,
          "firewalls",
          sorted(r, matching).map((f) => this.firewallJson(f)),
        );
      }
      const body = await readJson(r);
      if (typeof body.name !== "string" || body.name === "")
        throw invalidField("name", ["Missing data for required field."]);
      if (body.name.length > 128) throw invalidField("name", ["at most 128 characters"]);
      for (const f of this.store.firewalls.values())
        if (f.name === body.name)
          throw new HetznerError(409, "uniqueness_error", "firewall name is already used", {
            fields: [{ name: "name" }],
          });
      const labelIssues = labelProblems(body.labels);
      if (labelIssues.length) throw invalidField("labels", labelIssues);
      const rules = this.parseRules(body.rules);
      const targets = this.parseTargets(body.apply_to, "apply_to");
      const firewall: HetznerFirewall = {
        id: this.nextFirewallId++,
        name: body.name,
        labels: { ...((body.labels as Record<string, string>) ?? {}) },
        created: isoNow(),
        rules,
        appliedTo: targets,
      };
      this.store.firewalls.set(firewall.id, firewall);
      const actions = targets.map((t) =>
        this.store.newAction(
          "apply_firewall",
          [{ id: firewall.id, type: "firewall" }, ...(t.type === "server" ? [{ id: t.serverId, type: "server" }] : [])],
          true,
        ),
      );
      return {
        status: 201,
        body: { firewall: this.firewallJson(firewall), actions: actions.map((a) => actionJson(a)) },
      };
    }
    const firewall = this.store.firewalls.get(id(1));
    if (!firewall) throw notFound("firewall");
    if (parts.length === 2) {
      only("GET", "PUT", "DELETE");
      if (r.method === "GET") return { status: 200, body: { firewall: this.firewallJson(firewall) } };
      if (r.method === "PUT") {
        const body = await readJson(r);
        if (body.name !== undefined) {
          if (typeof body.name !== "string" || body.name === "")
            throw invalidField("name", ["must be a non-empty string"]);
          for (const f of this.store.firewalls.values())
            if (f !== firewall && f.name === body.name)
              throw new HetznerError(409, "uniqueness_error", "firewall name is already used", {
                fields: [{ name: "name" }],
              });
        }
        const labelIssues = labelProblems(body.labels);
        if (labelIssues.length) throw invalidField("labels", labelIssues);
        if (typeof body.name === "string") firewall.name = body.name;
        if (body.labels !== undefined) firewall.labels = { ...(body.labels as Record<string, string>) };
        return { status: 200, body: { firewall: this.firewallJson(firewall) } };
      }
      if (firewall.appliedTo.length > 0)
        throw new HetznerError(422, "resource_in_use", "firewall is still applied to a resource");
      this.store.firewalls.delete(firewall.id);
      return { status: 204 };
    }
    if (parts.length === 4 && parts[2] === "actions") {
      only("POST");
      const body = await readJson(r);
      if (parts[3] === "apply_to_resources") {
        if (body.apply_to === undefined) throw invalidField("apply_to", ["Missing data for required field."]);
        const targets = this.parseTargets(body.apply_to, "apply_to");
        for (const t of targets) {
          const already = firewall.appliedTo.some((e) =>
            t.type === "server" && e.type === "server"
              ? e.serverId === t.serverId
              : t.type === "label_selector" && e.type === "label_selector" && e.selector === t.selector,
          );
          if (already)
            throw new HetznerError(422, "firewall_already_applied", "firewall is already applied to the resource");
        }
        firewall.appliedTo.push(...targets);
        const actions = targets.map((t) =>
          this.store.newAction(
            "apply_firewall",
            [
              { id: firewall.id, type: "firewall" },
              ...(t.type === "server" ? [{ id: t.serverId, type: "server" }] : []),
            ],
            true,
          ),
        );
        return { status: 201, body: { actions: actions.map((a) => actionJson(a)) } };
      }
      if (parts[3] === "remove_from_resources") {
        if (body.remove_from === undefined) throw invalidField("remove_from", ["Missing data for required field."]);
        const targets = this.parseTargets(body.remove_from, "remove_from");
        for (const t of targets) {
          if (t.type === "server") {
            const direct = firewall.appliedTo.some((e) => e.type === "server" && e.serverId === t.serverId);
            if (!direct) {
              const viaSelector = firewallsOf(this.store, this.store.servers.get(t.serverId)!).includes(firewall.id);
              if (viaSelector)
                throw new HetznerError(
                  422,
                  "firewall_managed_by_label_selector",
                  "firewall is applied via a label selector and cannot be removed manually",
                );
              throw new HetznerError(404, "firewall_resource_not_found", "firewall is not applied to the resource");
            }
          } else if (!firewall.appliedTo.some((e) => e.type === "label_selector" && e.selector === t.selector)) {
            throw new HetznerError(404, "firewall_resource_not_found", "firewall is not applied to the label selector");
          }
        }
        firewall.appliedTo = firewall.appliedTo.filter(
          (e) =>
            !targets.some((t) =>
              t.type === "server" && e.type === "server"
                ? e.serverId === t.serverId
                : t.type === "label_selector" && e.type === "label_selector" && e.selector === t.selector,
            ),
        );
        const actions = targets.map((t) =>
          this.store.newAction(
            "remove_firewall",
            [
              { id: firewall.id, type: "firewall" },
              ...(t.type === "server" ? [{ id: t.serverId, type: "server" }] : []),
            ],
            true,
          ),
        );
        return { status: 201, body: { actions: actions.map((a) => actionJson(a)) } };
      }
    }
    throw notFound();
  }
}
