// Servers: create (with a machine that runs the user-data's agent, and volumes attached), list, rename and
// relabel, shut down, power off and on, delete (detaching its volumes); their JSON shows the firewalls that apply
// to them and the volumes attached.
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Request } from "../context";
import { isoNow } from "../http";
import { labelProblems, matchesSelector } from "../labels";
import { stopAgent } from "../agent-process";
import { destroyMachine, newMachine, runCloudInit } from "../machines";
import { HetznerError, invalidField, list, notFound, readJson, selectorParam, sorted } from "./api";
import { byIdOrName, datacenterJson, IMAGES, LOCATIONS, SERVER_TYPES, serverTypeJson } from "./catalog";
import { firewallsOf } from "./firewalls";
import type { Images } from "./images";
import { actionJson, type Action, type HetznerServer, type HetznerStore, type HetznerVolume } from "./store";
import { detachVolume, mountVolume } from "./volumes";

const MAX_USER_DATA = 32 * 1024;
const HOSTNAME =
  /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export class Servers {
  private nextServerId = 10_000_001;
  private usedAddresses = new Set<number>();

  constructor(
    private readonly store: HetznerStore,
    private readonly images: Images,
  ) {}

  reset(): void {
    this.usedAddresses.clear();
  }

  /** /servers and below; `id` reads a path segment as an id and `only` refuses other methods (both from the router). */
  async route(r: Request, parts: string[], id: (i: number) => number, only: (...m: string[]) => void) {
    const { method } = r;
    const [, , sub, action] = parts;
    if (parts.length === 1) {
      only("GET", "POST");
      return method === "GET" ? this.listServers(r) : this.createServer(await readJson(r));
    }
    if (parts.length === 2) {
      only("GET", "PUT", "DELETE");
      const server = this.store.servers.get(id(1));
      if (!server) throw notFound("server");
      if (method === "GET") return { status: 200, body: { server: this.serverJson(server) } };
      if (method === "PUT") return this.updateServer(server, await readJson(r));
      this.store.refuseWhileLocked("server", server.id);
      return { status: 200, body: { action: actionJson(this.deleteServer(server)) } };
    }
    if (parts.length === 4 && sub === "actions") {
      only("POST");
      const server = this.store.servers.get(id(1));
      if (!server) throw notFound("server");
      if (action === "create_image") {
        this.store.refuseWhileLocked("server", server.id);
        return this.images.createImage(r, server, join(this.store.cloud.dir, "servers", String(server.id)));
      }
      return this.serverAction(server, action!);
    }
    throw notFound();
  }

  private listServers(r: Request) {
    const selector = selectorParam(r);
    const name = r.url.searchParams.get("name");
    const statuses = r.url.searchParams.getAll("status");
    const matching = [...this.store.servers.values()].filter(
      (s) =>
        (!selector || matchesSelector(s.labels, selector)) &&
        (name === null || s.name === name) &&
        (!statuses.length || statuses.includes(s.status)),
    );
    return list(
      this.store.cloud,
      r,
      "servers",
      sorted(r, matching).map((s) => this.serverJson(s)),
    );
  }

  /**
   * A public IPv4 for a new server: a loopback address of its own, so its agent can listen on the production
   * port 8443 next to every other server's. The middle two bytes are the cloud's port, so two local clouds on
   * one machine (npm start and a test run) never hand out the same address.
   */
  private allocateAddress(): { host: number; ipv4: string } {
    const cloudPort = Number(new URL(this.store.cloud.url).port);
    const network = `127.${cloudPort >> 8}.${cloudPort & 255}`;
    for (let host = 2; host < 255; host++) {
      if (!this.usedAddresses.has(host)) {
        this.usedAddresses.add(host);
        return { host, ipv4: `${network}.${host}` };
      }
    }
    throw new HetznerError(412, "resource_unavailable", `no public IPv4 left in ${network}.0/24`);
  }

  private createServer(body: Record<string, unknown>) {
    const { name, server_type, image, location, datacenter, labels, user_data, firewalls, volumes, automount } = body;
    if (typeof name !== "string" || name === "") throw invalidField("name", ["Missing data for required field."]);
    if (!HOSTNAME.test(name)) throw invalidField("name", ["Invalid hostname (RFC 1123)."]);
    if (server_type === undefined) throw invalidField("server_type", ["Missing data for required field."]);
    if (image === undefined) throw invalidField("image", ["Missing data for required field."]);
    const type = byIdOrName(SERVER_TYPES, server_type);
    if (!type) throw invalidField("server_type", [`server type '${String(server_type)}' not found`]);
    if (location !== undefined && datacenter !== undefined)
      throw invalidField("location", ["must not be used together with datacenter"]);
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
    // A snapshot has no name: only its id finds it.
    const byId = typeof image === "number" || /^\d+$/.test(String(image));
    const snapshot = byId ? this.images.snapshot(Number(image)) : null;
    if (snapshot?.status === "creating")
      throw invalidField("image", [`image ${snapshot.id} is still being created (status creating)`]);
    const candidates = snapshot
      ? [{ ...this.images.baseImage(snapshot.id), id: snapshot.id }]
      : byId
        ? IMAGES.filter((i) => i.id === Number(image))
        : IMAGES.filter((i) => i.name === image);
    const chosenImage = candidates.find((i) => i.architecture === type.architecture);
    if (!chosenImage)
      throw invalidField("image", [
        candidates.length ? "image architecture does not match the server type" : `image '${String(image)}' not found`,
      ]);
    const labelIssues = labelProblems(labels);
    if (labelIssues.length) throw invalidField("labels", labelIssues);
    if (user_data !== undefined && user_data !== null) {
      if (typeof user_data !== "string") throw invalidField("user_data", ["Not a valid string."]);
      if (Buffer.byteLength(user_data) > MAX_USER_DATA)
        throw invalidField("user_data", ["user_data must not be larger than 32 KiB"]);
    }
    const firewallIds: number[] = [];
    if (firewalls !== undefined) {
      if (!Array.isArray(firewalls)) throw invalidField("firewalls", ["Not a valid list."]);
      for (const entry of firewalls) {
        const fwId = (entry as { firewall?: unknown })?.firewall;
        if (typeof fwId !== "number") throw invalidField("firewalls", ["each entry needs an integer 'firewall'"]);
        if (!this.store.firewalls.has(fwId))
          throw new HetznerError(404, "firewall_resource_not_found", `firewall ${fwId} not found`);
        firewallIds.push(fwId);
      }
    }
    const attached = this.volumesForCreate(volumes, automount, place.name);
    for (const existing of this.store.servers.values()) {
      if (existing.name === name)
        throw new HetznerError(409, "uniqueness_error", "server name is already used", { fields: [{ name: "name" }] });
    }
    const { host, ipv4 } = this.allocateAddress();
    const server: HetznerServer = {
      id: this.nextServerId++,
      name,
      status: "initializing",
      created: isoNow(),
      labels: { ...((labels as Record<string, string>) ?? {}) },
      serverTypeId: type.id,
      locationName: place.name,
      imageId: chosenImage.id,
      ipv4,
      ipv6: `2001:db8:0:${host.toString(16)}::/64`,
      userData: (user_data as string | undefined) ?? null,
    };
    this.store.servers.set(server.id, server);
    for (const fwId of firewallIds)
      this.store.firewalls.get(fwId)!.appliedTo.push({ type: "server", serverId: server.id });
    const resources = [{ id: server.id, type: "server" }];
    const create = this.store.newAction("create_server", resources);
    const start = body.start_after_create === false ? null : this.store.newAction("start_server", resources);
    const applies = firewallIds.map((fwId) =>
      this.store.newAction("apply_firewall", [...resources, { id: fwId, type: "firewall" }]),
    );
    const attaches = attached.map((volume) =>
      this.store.newAction("attach_volume", [...resources, { id: volume.id, type: "volume" }]),
    );
    const dir = join(this.store.cloud.dir, "servers", String(server.id));
    mkdirSync(dir, { recursive: true });
    // The disk starts as the snapshot's: what its build installed is in place before cloud-init runs.
    if (snapshot) cpSync(snapshot.dir, dir, { recursive: true, verbatimSymlinks: true });
    // Attached at create, mounted (automount) before anything on the server runs.
    for (const volume of attached) {
      volume.serverId = server.id;
      volume.automount = automount === true;
      mountVolume(this.store, volume);
    }
    const machine = newMachine(server.id, dir, ipv4, this.store.cloud.url);
    this.store.cloud.machines.set(server.id, machine);
    const boot = async () => {
      // Always yield first: the create response shows the server still initializing, as Hetzner's does.
      await new Promise((resolve) => setTimeout(resolve, this.store.cloud.options.bootDelayMs));
      if (machine.stopped) return;
      const now = isoNow();
      create.finished = now;
      for (const action of [...applies, ...attaches]) action.finished = now;
      if (!start) {
        server.status = "off";
        return;
      }
      server.status = "running";
      start.finished = now;
      await runCloudInit(machine, server.userData, this.store.cloud.options.log);
      // cloud-init's power_state: the VM shuts itself down once the boot is done (an image build does).
      if (machine.poweredOff && this.store.servers.has(server.id)) {
        await stopAgent(machine);
        server.status = "off";
      }
    };
    this.store.cloud.track(boot());
    const response = {
      server: this.serverJson(server),
      action: actionJson(create),
      next_actions: [start, ...applies, ...attaches].filter((a): a is Action => a !== null).map((a) => actionJson(a)),
      root_password: null,
    };
    return { status: 201, body: response };
  }

  private updateServer(server: HetznerServer, body: Record<string, unknown>) {
    if (body.name !== undefined) {
      if (typeof body.name !== "string" || !HOSTNAME.test(body.name))
        throw invalidField("name", ["Invalid hostname (RFC 1123)."]);
      for (const other of this.store.servers.values()) {
        if (other !== server && other.name === body.name)
          throw new HetznerError(409, "uniqueness_error", "server name is already used", {
            fields: [{ name: "name" }],
          });
      }
    }
    const labelIssues = labelProblems(body.labels);
    if (labelIssues.length) throw invalidField("labels", labelIssues);
    if (typeof body.name === "string") server.name = body.name;
    if (body.labels !== undefined) server.labels = { ...(body.labels as Record<string, string>) };
    return { status: 200, body: { server: this.serverJson(server) } };
  }

  /**
   * `volumes` of a server create ("Volumes must be in the same Location"): each exists, is available, is not
   * attached elsewhere and is not busy with another action.
   */
  private volumesForCreate(volumes: unknown, automount: unknown, location: string): HetznerVolume[] {
    if (automount !== undefined && typeof automount !== "boolean")
      throw invalidField("automount", ["Not a valid boolean."]);
    if (volumes === undefined) return [];
    if (!Array.isArray(volumes) || !volumes.every((v) => typeof v === "number" && Number.isInteger(v)))
      throw invalidField("volumes", ["must be a list of volume IDs"]);
    const found: HetznerVolume[] = [];
    for (const volumeId of new Set(volumes as number[])) {
      const volume = this.store.volumes.get(volumeId);
      if (!volume) throw notFound(`volume with ID '${volumeId}'`);
      if (volume.locationName !== location)
        throw invalidField("volumes", [
          `volume ${volumeId} is in ${volume.locationName}, the server in ${location}: volumes must be in the same location`,
        ]);
      if (volume.serverId !== null)
        throw new HetznerError(
          422,
          "volume_already_attached",
          `volume ${volumeId} is already attached to server ${volume.serverId}: detach it first`,
        );
      this.store.refuseWhileLocked("volume", volumeId);
      found.push(volume);
    }
    return found;
  }

  private volumesOf(server: HetznerServer): HetznerVolume[] {
    return [...this.store.volumes.values()].filter((v) => v.serverId === server.id);
  }

  private deleteServer(server: HetznerServer): Action {
    const action = this.store.newAction("delete_server", [{ id: server.id, type: "server" }]);
    this.store.servers.delete(server.id);
    this.usedAddresses.delete(Number(server.ipv4.split(".").pop()));
    for (const firewall of this.store.firewalls.values()) {
      firewall.appliedTo = firewall.appliedTo.filter((t) => !(t.type === "server" && t.serverId === server.id));
    }
    // "Any resources attached to the server (like Volumes …) are detached while the server is deleted."
    for (const volume of this.volumesOf(server)) detachVolume(this.store, volume);
    const machine = this.store.cloud.machines.get(server.id);
    const teardown = async () => {
      if (machine) {
        await destroyMachine(machine);
        this.store.cloud.machines.delete(server.id);
      }
      action.finished = isoNow();
    };
    this.store.cloud.track(teardown());
    return action;
  }

  private serverAction(server: HetznerServer, name: string) {
    const machine = this.store.cloud.machines.get(server.id);
    const resources = [{ id: server.id, type: "server" }];
    if (name === "poweroff" || name === "shutdown" || name === "poweron")
      this.store.refuseWhileLocked("server", server.id);
    switch (name) {
      case "poweroff": {
        // Pulling the power cord: the agent's processes are killed at once; the action ends when they are gone.
        const action = this.store.newAction("stop_server", resources);
        this.store.cloud.track(
          (machine ? stopAgent(machine, 0) : Promise.resolve()).then(() => {
            server.status = "off";
            action.finished = isoNow();
          }),
        );
        return { status: 201, body: { action: actionJson(action) } };
      }
      case "shutdown": {
        // ACPI: the action "only reflects whether the action was sent to the server"; the OS stops its units
        // (SIGTERM to the agent's process group, SIGKILL after systemd's stop timeout) and the server turns off.
        const action = this.store.runAction("shutdown_server", resources);
        if (server.status === "running")
          this.store.cloud.track(
            (machine ? stopAgent(machine, this.store.shutdownGraceMs) : Promise.resolve()).then(() => {
              if (this.store.servers.has(server.id)) server.status = "off";
            }),
          );
        return { status: 201, body: { action: actionJson(action) } };
      }
      case "poweron": {
        const action = this.store.newAction("start_server", resources);
        if (server.status === "off" && machine) {
          server.status = "running";
          machine.stopped = false;
          // A powered-on VM runs its boot units again; cloud-init's runcmd does not, but systemd starts the agent.
          this.store.cloud.track(
            runCloudInit(machine, server.userData, this.store.cloud.options.log).then(
              () => (action.finished = isoNow()),
            ),
          );
        } else action.finished = isoNow();
        return { status: 201, body: { action: actionJson(action) } };
      }
      default:
        throw notFound();
    }
  }

  private serverJson(server: HetznerServer) {
    const type = SERVER_TYPES.find((t) => t.id === server.serverTypeId)!;
    const location = LOCATIONS.find((l) => l.name === server.locationName)!;
    return {
      id: server.id,
      name: server.name,
      status: server.status,
      created: server.created,
      public_net: {
        ipv4: {
          id: server.id + 90_000_000,
          ip: server.ipv4,
          blocked: false,
          dns_ptr: `static.${server.ipv4.split(".").reverse().join(".")}.clients.your-server.de`,
        },
        ipv6: { id: server.id + 91_000_000, ip: server.ipv6, blocked: false, dns_ptr: [] },
        floating_ips: [],
        firewalls: firewallsOf(this.store, server).map((id) => ({ id, status: "applied" })),
      },
      private_net: [],
      server_type: serverTypeJson(type),
      datacenter: datacenterJson(location),
      location,
      image: this.images.imageOf(server),
      iso: null,
      rescue_enabled: false,
      locked: false,
      backup_window: null,
      outgoing_traffic: 0,
      ingoing_traffic: 0,
      included_traffic: 21990232555520,
      protection: { delete: false, rebuild: false },
      labels: server.labels,
      volumes: this.volumesOf(server).map((v) => v.id),
      load_balancers: [],
      primary_disk_size: type.disk,
      placement_group: null,
    };
  }
}
