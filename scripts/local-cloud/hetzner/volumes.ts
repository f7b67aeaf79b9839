// Volumes: create (optionally attached to a server), list, rename and relabel, attach, detach, delete. A volume's
// files are the directory `<LOCAL_CLOUD_DIR>/volumes/<id>`, outside every server's directory, so they outlive
// the servers it is attached to; attached with automount it is linked where Hetzner mounts it,
// `<server dir>/mnt/HC_Volume_<id>`.
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { Request } from "../context";
import { isoNow } from "../http";
import { labelProblems, matchesSelector } from "../labels";
import { HetznerError, invalidField, list, notFound, readJson, selectorParam, sorted } from "./api";
import { byIdOrName, LOCATIONS } from "./catalog";
import { actionJson, type Action, type HetznerServer, type HetznerStore, type HetznerVolume } from "./store";

// Create volume: "alphanumeric characters, dashes, underscores, and dots, but has to start and end with an
// alphanumeric character. The total length is limited to 64 characters."
const VOLUME_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9])?$/;
const MIN_SIZE_GB = 10;
const MAX_SIZE_GB = 10240;

/** Where Hetzner's automount mounts the volume, relative to the server's root. */
export const mountPoint = (volumeId: number) => `mnt/HC_Volume_${volumeId}`;

export const serverDir = (store: HetznerStore, serverId: number) => join(store.cloud.dir, "servers", String(serverId));

/**
 * Mounts the volume in its server: a symlink at `<server dir>/mnt/HC_Volume_<id>` to the volume's directory.
 * Only an automounted volume with a file system is mounted (a blank one cannot be).
 */
export function mountVolume(store: HetznerStore, volume: HetznerVolume): void {
  if (volume.serverId === null || !volume.automount || volume.format === null) return;
  const link = join(serverDir(store, volume.serverId), mountPoint(volume.id));
  mkdirSync(join(link, ".."), { recursive: true, mode: 0o755 });
  rmSync(link, { force: true });
  symlinkSync(volume.dir, link);
}

/** Detaches the volume: its server no longer sees it (the link goes), its files stay. */
export function detachVolume(store: HetznerStore, volume: HetznerVolume): void {
  if (volume.serverId === null) return;
  const link = join(serverDir(store, volume.serverId), mountPoint(volume.id));
  if (existsSync(link) || isSymlink(link)) rmSync(link, { force: true });
  volume.serverId = null;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

export class Volumes {
  private nextVolumeId = 50_000_001;

  constructor(private readonly store: HetznerStore) {}

  /** /volumes and below; `id` reads a path segment as an id and `only` refuses other methods (both from the router). */
  async route(r: Request, parts: string[], id: (i: number) => number, only: (...m: string[]) => void) {
    const { method } = r;
    const [, , sub, action] = parts;
    if (parts.length === 1) {
      only("GET", "POST");
      return method === "GET" ? this.listVolumes(r) : this.createVolume(await readJson(r));
    }
    const volume = this.store.volumes.get(id(1));
    if (!volume) throw notFound(`volume with ID '${parts[1]}'`);
    if (parts.length === 2) {
      only("GET", "PUT", "DELETE");
      if (method === "GET") return { status: 200, body: { volume: this.volumeJson(volume) } };
      if (method === "PUT") return this.updateVolume(volume, await readJson(r));
      return this.deleteVolume(volume);
    }
    if (parts.length === 3 && sub === "actions") {
      only("GET");
      const actions = [...this.store.actions.values()].filter((a) =>
        a.resources.some((res) => res.type === "volume" && res.id === volume.id),
      );
      return list(
        this.store.cloud,
        r,
        "actions",
        actions.map((a) => actionJson(a)),
      );
    }
    if (parts.length === 4 && sub === "actions") {
      only("POST");
      if (action === "attach") return this.attach(volume, await readJson(r));
      if (action === "detach") return this.detach(volume);
    }
    throw notFound();
  }

  private listVolumes(r: Request) {
    const selector = selectorParam(r);
    const name = r.url.searchParams.get("name");
    const statuses = r.url.searchParams.getAll("status");
    for (const status of statuses)
      if (status !== "available" && status !== "creating") throw invalidField("status", [`invalid status '${status}'`]);
    const matching = [...this.store.volumes.values()].filter(
      (v) =>
        (!selector || matchesSelector(v.labels, selector)) &&
        (name === null || v.name === name) &&
        (!statuses.length || statuses.includes(v.status)),
    );
    return list(
      this.store.cloud,
      r,
      "volumes",
      sorted(r, matching).map((v) => this.volumeJson(v)),
    );
  }

  private checkName(name: unknown, except?: HetznerVolume): string {
    if (typeof name !== "string" || name === "") throw invalidField("name", ["Missing data for required field."]);
    if (!VOLUME_NAME.test(name))
      throw invalidField("name", [
        "must be 1 to 64 letters, digits, dashes, underscores and dots, starting and ending with a letter or digit",
      ]);
    for (const other of this.store.volumes.values())
      if (other !== except && other.name === name)
        throw new HetznerError(409, "uniqueness_error", "volume name is already used", { fields: [{ name: "name" }] });
    return name;
  }

  /**
   * The server a volume may be attached to: it exists, is in the volume's location and is not busy with
   * another action. Attaching refuses a volume that is already attached (detach first, as Hetzner says).
   */
  private attachable(volume: HetznerVolume, serverId: unknown): HetznerServer {
    if (typeof serverId !== "number" || !Number.isInteger(serverId))
      throw invalidField("server", ["Missing data for required field."]);
    const server = this.store.servers.get(serverId);
    if (!server) throw notFound(`server with ID '${serverId}'`);
    if (volume.serverId !== null)
      throw new HetznerError(
        422,
        "volume_already_attached",
        `volume ${volume.id} is already attached to server ${volume.serverId}: detach it first`,
      );
    if (server.locationName !== volume.locationName)
      throw invalidField("server", [
        `server ${server.id} is in ${server.locationName}, volume ${volume.id} in ${volume.locationName}: a volume attaches only to servers in its location`,
      ]);
    this.store.refuseWhileLocked("volume", volume.id);
    this.store.refuseWhileLocked("server", server.id);
    return server;
  }

  private createVolume(body: Record<string, unknown>) {
    const { size, location, server: serverId, automount, format, labels } = body;
    const name = this.checkName(body.name);
    if (size === undefined) throw invalidField("size", ["Missing data for required field."]);
    if (typeof size !== "number" || !Number.isInteger(size)) throw invalidField("size", ["Not a valid integer."]);
    if (size < MIN_SIZE_GB || size > MAX_SIZE_GB)
      throw invalidField("size", [`must be between ${MIN_SIZE_GB} and ${MAX_SIZE_GB} GB`]);
    if (format !== undefined && format !== null && format !== "ext4" && format !== "xfs")
      throw invalidField("format", ["must be one of: xfs, ext4"]);
    if (automount !== undefined && typeof automount !== "boolean")
      throw invalidField("automount", ["Not a valid boolean."]);
    if (automount !== undefined && serverId === undefined)
      throw invalidField("automount", ["`server` must be provided"]);
    const labelIssues = labelProblems(labels);
    if (labelIssues.length) throw invalidField("labels", labelIssues);
    let server: HetznerServer | undefined;
    if (serverId !== undefined) {
      if (typeof serverId !== "number") throw invalidField("server", ["Not a valid integer."]);
      server = this.store.servers.get(serverId);
      if (!server) throw notFound(`server with ID '${serverId}'`);
    }
    let locationName: string;
    if (location !== undefined) {
      const found = byIdOrName(LOCATIONS, location);
      if (!found) throw invalidField("location", [`location '${String(location)}' not found`]);
      if (server && server.locationName !== found.name)
        throw invalidField("location", [`server ${server.id} is in ${server.locationName}, not ${found.name}`]);
      locationName = found.name;
    } else if (server) locationName = server.locationName;
    else throw invalidField("location", ["location or server must be given"]);
    if (server) this.store.refuseWhileLocked("server", server.id);

    const id = this.nextVolumeId++;
    const volume: HetznerVolume = {
      id,
      name,
      size,
      status: "creating",
      created: isoNow(),
      labels: { ...((labels as Record<string, string> | undefined) ?? {}) },
      locationName,
      serverId: null,
      automount: automount === true,
      format: (format as "ext4" | "xfs" | undefined) ?? null,
      protectDelete: false,
      dir: join(this.store.cloud.dir, "volumes", String(id)),
    };
    mkdirSync(volume.dir, { recursive: true, mode: 0o755 });
    // mkfs.ext4 leaves lost+found in the new file system's root; xfs has none.
    if (volume.format === "ext4") mkdirSync(join(volume.dir, "lost+found"), { mode: 0o700 });
    this.store.volumes.set(id, volume);
    const resources = [{ id, type: "volume" }];
    const create = this.store.runAction(
      "create_volume",
      resources,
      () => {
        volume.status = "available";
      },
      {
        // A volume whose create failed is not kept (nothing to bill or attach).
        failed: () => {
          this.store.volumes.delete(id);
          rmSync(volume.dir, { recursive: true, force: true });
        },
      },
    );
    const nextActions: Action[] = [];
    if (server) {
      const target = server;
      // "attach … after it has been initialized": the attach action waits for the create.
      volume.serverId = target.id;
      const attach = this.store.runAction(
        "attach_volume",
        [...resources, { id: target.id, type: "server" }],
        async () => {
          await this.finished(create);
          if (create.error || !this.store.servers.has(target.id)) volume.serverId = null;
          else mountVolume(this.store, volume);
        },
      );
      nextActions.push(attach);
    }
    return {
      status: 201,
      body: {
        volume: this.volumeJson(volume),
        action: actionJson(create),
        next_actions: nextActions.map((a) => actionJson(a)),
      },
    };
  }

  private async finished(action: Action): Promise<void> {
    while (action.finished === null) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private updateVolume(volume: HetznerVolume, body: Record<string, unknown>) {
    const name = body.name === undefined ? undefined : this.checkName(body.name, volume);
    const labelIssues = labelProblems(body.labels);
    if (labelIssues.length) throw invalidField("labels", labelIssues);
    if (name !== undefined) volume.name = name;
    if (body.labels !== undefined) volume.labels = { ...(body.labels as Record<string, string>) };
    return { status: 200, body: { volume: this.volumeJson(volume) } };
  }

  private deleteVolume(volume: HetznerVolume) {
    if (volume.protectDelete)
      throw new HetznerError(423, "protected", `volume ${volume.id} has delete protection: turn it off first`);
    this.store.refuseWhileLocked("volume", volume.id);
    if (volume.serverId !== null)
      throw new HetznerError(
        422,
        "service_error",
        `volume with ID '${volume.id}' is still attached to a server (server ${volume.serverId}): detach it first`,
      );
    this.store.volumes.delete(volume.id);
    rmSync(volume.dir, { recursive: true, force: true });
    return { status: 204 };
  }

  private attach(volume: HetznerVolume, body: Record<string, unknown>) {
    if (body.automount !== undefined && typeof body.automount !== "boolean")
      throw invalidField("automount", ["Not a valid boolean."]);
    const server = this.attachable(volume, body.server);
    const action = this.store.runAction(
      "attach_volume",
      [
        { id: volume.id, type: "volume" },
        { id: server.id, type: "server" },
      ],
      () => {
        // The server may have been deleted while the attach ran: then there is nothing to attach to.
        if (!this.store.servers.has(server.id) || volume.serverId !== null || !this.store.volumes.has(volume.id))
          return;
        volume.serverId = server.id;
        volume.automount = body.automount === true;
        mountVolume(this.store, volume);
      },
    );
    return { status: 201, body: { action: actionJson(action) } };
  }

  private detach(volume: HetznerVolume) {
    if (volume.serverId === null) throw invalidField("volume", [`volume ${volume.id} is not attached to a server`]);
    this.store.refuseWhileLocked("volume", volume.id);
    this.store.refuseWhileLocked("server", volume.serverId);
    const serverId = volume.serverId;
    const action = this.store.runAction(
      "detach_volume",
      [
        { id: volume.id, type: "volume" },
        { id: serverId, type: "server" },
      ],
      () => {
        if (volume.serverId === serverId) detachVolume(this.store, volume);
      },
    );
    return { status: 201, body: { action: actionJson(action) } };
  }

  volumeJson(volume: HetznerVolume) {
    return {
      id: volume.id,
      created: volume.created,
      name: volume.name,
      server: volume.serverId,
      location: LOCATIONS.find((l) => l.name === volume.locationName)!,
      size: volume.size,
      linux_device: `/dev/disk/by-id/scsi-0HC_Volume_${volume.id}`,
      protection: { delete: volume.protectDelete },
      labels: volume.labels,
      status: volume.status,
      format: volume.format,
    };
  }

  /** What GET /_local/state shows of a volume: where its files are and which server has it. */
  stateJson(volume: HetznerVolume) {
    return {
      id: volume.id,
      name: volume.name,
      size: volume.size,
      status: volume.status,
      location: volume.locationName,
      server: volume.serverId,
      automount: volume.automount,
      format: volume.format,
      labels: volume.labels,
      dir: volume.dir,
    };
  }
}
