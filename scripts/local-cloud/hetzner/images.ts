// Images: the system images of the catalog and the project's snapshots. create_image copies the server's
// directory (its root file system, logs left out) into the cloud's images/ while the image is `creating`;
// a server created with the snapshot's id starts with a copy of those files, so what the build installed
// (the tools prefix under /opt/sam and its marker) is there before cloud-init runs.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Request } from "../context";
import { isoNow } from "../http";
import { labelProblems, matchesSelector } from "../labels";
import { HetznerError, invalidField, list, notFound, readJson, selectorParam } from "./api";
import { IMAGES, imageJson } from "./catalog";
import { actionJson, type HetznerServer, type HetznerSnapshot, type HetznerStore } from "./store";

/** Files of a local server that are its own run, not its disk's content. */
const NOT_IN_SNAPSHOT = new Set(["agent.log", "cloud-init.log", "run"]);

/** How long a snapshot stays `creating` before the copy lands (Hetzner takes minutes; this keeps tests quick). */
const SNAPSHOT_MS = 300;

export class Images {
  private nextImageId = 200_000_001;

  constructor(private readonly store: HetznerStore) {}

  /** GET /images and /images/{id}, DELETE /images/{id}. */
  async route(r: Request, parts: string[], id: (i: number) => number, only: (...m: string[]) => void) {
    if (parts.length === 1) {
      only("GET");
      return this.listImages(r);
    }
    if (parts.length !== 2) throw notFound();
    only("GET", "DELETE");
    const imageId = id(1);
    const snapshot = this.store.snapshots.get(imageId);
    if (r.method === "DELETE") {
      if (!snapshot) {
        if (IMAGES.some((i) => i.id === imageId))
          throw new HetznerError(422, "invalid_input", "system images cannot be deleted");
        throw notFound("image");
      }
      this.store.snapshots.delete(imageId);
      rmSync(snapshot.dir, { recursive: true, force: true });
      return { status: 204 };
    }
    const image = snapshot ? this.snapshotJson(snapshot) : this.systemJson().find((i) => i.id === imageId);
    if (!image) throw notFound("image");
    return { status: 200, body: { image } };
  }

  private systemJson() {
    return IMAGES.map(imageJson);
  }

  private listImages(r: Request) {
    const params = r.url.searchParams;
    const selector = selectorParam(r);
    const name = params.get("name");
    const types = params.getAll("type");
    const statuses = params.getAll("status");
    const arch = params.get("architecture");
    const sorts = params.getAll("sort");
    for (const s of sorts) {
      const [field = "", direction = "asc"] = s.split(":");
      if (!["id", "name", "created"].includes(field) || !["asc", "desc"].includes(direction))
        throw invalidField("sort", [`invalid sort '${s}'`]);
    }
    for (const type of types)
      if (!["system", "app", "snapshot", "backup"].includes(type))
        throw invalidField("type", [`must be one of system, app, snapshot, backup`]);
    const all = [...this.systemJson(), ...[...this.store.snapshots.values()].map((s) => this.snapshotJson(s))];
    const matching = all.filter(
      (i) =>
        (!selector || matchesSelector(i.labels, selector)) &&
        (!name || i.name === name) &&
        (!types.length || types.includes(i.type)) &&
        (!statuses.length || statuses.includes(i.status)) &&
        (!arch || i.architecture === arch),
    );
    const keys = (sorts.length ? sorts : ["id"]).map((s) => {
      const [field, direction = "asc"] = s.split(":") as ["id" | "name" | "created", string];
      return { field, sign: direction === "desc" ? -1 : 1 };
    });
    matching.sort((a, b) => {
      for (const { field, sign } of keys) {
        const [x, y] = [a[field] ?? "", b[field] ?? ""];
        if (x < y) return -sign;
        if (x > y) return sign;
      }
      return 0;
    });
    return list(this.store.cloud, r, "images", matching);
  }

  /** A snapshot by id for POST /servers: null when there is none. */
  snapshot(id: number): HetznerSnapshot | null {
    return this.store.snapshots.get(id) ?? null;
  }

  /** The system image a server was made from, directly or through a snapshot. */
  baseImage(imageId: number) {
    const snapshot = this.store.snapshots.get(imageId);
    return IMAGES.find((i) => i.id === (snapshot ? snapshot.baseImageId : imageId))!;
  }

  /** What a server's `image` shows: the snapshot or system image it was made from, null once a snapshot is gone. */
  imageOf(server: HetznerServer) {
    const snapshot = this.store.snapshots.get(server.imageId);
    if (snapshot) return this.snapshotJson(snapshot);
    const system = IMAGES.find((i) => i.id === server.imageId);
    return system ? imageJson(system) : null;
  }

  /** POST /servers/{id}/actions/create_image. */
  async createImage(r: Request, server: HetznerServer, serverDir: string) {
    const body = await readJson(r);
    const type = body.type ?? "snapshot";
    if (type !== "snapshot" && type !== "backup") throw invalidField("type", ["must be one of snapshot, backup"]);
    // Backups exist only for servers with backups enabled, which the local cloud does not model.
    if (type === "backup")
      throw new HetznerError(422, "invalid_input", "backups are not enabled for this server", {
        fields: [{ name: "type", messages: ["backups are not enabled for this server"] }],
      });
    if (body.description !== undefined && typeof body.description !== "string")
      throw invalidField("description", ["Not a valid string."]);
    const labelIssues = labelProblems(body.labels);
    if (labelIssues.length) throw invalidField("labels", labelIssues);
    const imageId = this.nextImageId++;
    const snapshot: HetznerSnapshot = {
      id: imageId,
      description: (body.description as string | undefined) ?? `${server.name}-${isoNow()}`,
      status: "creating",
      created: isoNow(),
      labels: { ...((body.labels as Record<string, string> | undefined) ?? {}) },
      createdFrom: { id: server.id, name: server.name },
      baseImageId: this.baseImage(server.imageId).id,
      diskSize: 40,
      dir: join(this.store.cloud.dir, "images", String(imageId)),
    };
    this.store.snapshots.set(snapshot.id, snapshot);
    const action = this.store.newAction("create_image", [
      { id: server.id, type: "server" },
      { id: snapshot.id, type: "image" },
    ]);
    const copy = async () => {
      await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_MS));
      // Deleted while it was being made: nothing to copy into.
      if (!this.store.snapshots.has(snapshot.id)) return;
      mkdirSync(snapshot.dir, { recursive: true });
      cpSync(serverDir, snapshot.dir, {
        recursive: true,
        verbatimSymlinks: true,
        filter: (source) => {
          const path = source.slice(serverDir.length + 1);
          // A snapshot holds the server's own disk: attached volumes are not part of it.
          return !NOT_IN_SNAPSHOT.has(path) && !/^mnt\/HC_Volume_\d+$/.test(path);
        },
      });
      snapshot.status = "available";
      action.finished = isoNow();
    };
    this.store.cloud.track(
      copy().catch((error) => {
        action.error = { code: "image_creation_failed", message: (error as Error).message };
        action.finished = isoNow();
        this.store.snapshots.delete(snapshot.id);
        rmSync(snapshot.dir, { recursive: true, force: true });
      }),
    );
    return { status: 201, body: { image: this.snapshotJson(snapshot), action: actionJson(action) } };
  }

  snapshotJson(snapshot: HetznerSnapshot) {
    const base = this.baseImage(snapshot.baseImageId);
    return {
      id: snapshot.id,
      type: "snapshot",
      status: snapshot.status,
      name: null,
      description: snapshot.description,
      image_size: snapshot.status === "available" ? 1.2 : null,
      disk_size: snapshot.diskSize,
      created: snapshot.created,
      created_from: snapshot.createdFrom,
      bound_to: null,
      os_flavor: base.os_flavor,
      os_version: base.os_version,
      rapid_deploy: false,
      protection: { delete: false },
      deprecated: null,
      deleted: null,
      labels: snapshot.labels,
      architecture: base.architecture,
    };
  }
}
