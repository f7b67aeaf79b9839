// Hetzner volumes in the local cloud: the API's answers and refusals, the volume's directory outside every server
// and its mount link inside the server it is attached to, volumes given at server create, detaching on server
// delete, ACPI shutdown and power off of a server whose stand-in agent writes to its volume, pricing and the
// faults that make volume and server calls fail.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { volumeDirIn } from "../agent-process";
import type { LocalCloud } from "../server";
import { call, contractErrors, HETZNER_TOKEN, startTestCloud } from "../test-support";

let cloud: LocalCloud;
let base: string;
let downloads: Server;
let downloadBase: string;
const h = (method: string, path: string, body?: unknown) => call(base, method, path, { token: HETZNER_TOKEN, body });
const admin = (method: string, path: string, body?: unknown) => call(cloud.url, method, `/_local${path}`, { body });

/**
 * A stand-in agent: records the SAM_VOLUME_DIR it was given, and on SIGTERM writes `synced` to the volume before
 * it exits, as the agent syncs before systemd stops it; with STANDIN_IGNORE_TERM=1 in its agent.env it ignores
 * SIGTERM, so only the SIGKILL after the grace ends it.
 */
const standInAgent = `#!/bin/sh
printf '%s' "$SAM_VOLUME_DIR" > volume-dir.txt
if grep -q STANDIN_IGNORE_TERM=1 "$2"; then trap '' TERM; else trap 'echo synced > "$SAM_VOLUME_DIR/synced"; exit 0' TERM; fi
echo started > "$SAM_VOLUME_DIR/started"
while :; do sleep 0.05; done
`;

function userData(volumeId: number, extraEnv = ""): string {
  return `#cloud-config
write_files:
  - path: /etc/sam/agent.env
    permissions: "0600"
    content: |
      SAM_WORKSPACE_ID=ws1
      SAM_VOLUME_DIR=/mnt/HC_Volume_${volumeId}
      ${extraEnv}
runcmd:
  - [sh, -c, "curl -fsSL '${downloadBase}/api/agent/download?os=linux&arch=amd64' -o /usr/local/bin/vm-agent && chmod 755 /usr/local/bin/vm-agent"]
  - [systemctl, enable, --now, sam-agent]
`;
}

beforeAll(async () => {
  downloads = createServer((_, res) => res.end(standInAgent));
  await new Promise<void>((ok) => downloads.listen(0, "127.0.0.1", ok));
  downloadBase = `http://127.0.0.1:${(downloads.address() as { port: number }).port}`;
  cloud = await startTestCloud();
  base = `${cloud.url}/hetzner/v1`;
  cloud.services.hetzner.shutdownGraceMs = 1000;
});
afterAll(async () => {
  await cloud?.close();
  await new Promise((ok) => downloads?.close(ok));
});

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

const actionDone = (id: number) =>
  until(`action ${id}`, async () => {
    const { json } = await h("GET", `/actions/${id}`);
    return json.action.status !== "running" && json.action;
  });

let nameCount = 0;
async function newVolume(extra: Record<string, unknown> = {}) {
  const res = await h("POST", "/volumes", {
    name: `vol-${++nameCount}`,
    size: 10,
    location: "fsn1",
    format: "ext4",
    labels: { "managed-by": "sam" },
    ...extra,
  });
  expect(res.status).toBe(201);
  await actionDone(res.json.action.id);
  return res.json.volume as { id: number; name: string };
}

async function newServer(name: string, extra: Record<string, unknown> = {}) {
  const res = await h("POST", "/servers", {
    name,
    server_type: "cx23",
    image: "ubuntu-24.04",
    location: "fsn1",
    ...extra,
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  await actionDone(res.json.action.id);
  return res.json.server as { id: number; volumes: number[] };
}

const volumeState = (id: number) => cloud.state().volumes.find((v) => v.id === id)!;
const serverDir = (id: number) => join(cloud.state().servers.find((s) => s.id === id)!.agent!.dir);

describe("Hetzner volumes: the API", () => {
  it("creates a volume (creating, then available) in the documented shape, and lists, gets, renames and deletes it", async () => {
    const created = await h("POST", "/volumes", {
      name: "sam-ws-1",
      size: 10,
      location: "fsn1",
      format: "ext4",
      labels: { "managed-by": "sam", workspace: "ws1" },
    });
    expect(created.status).toBe(201);
    expect(contractErrors("hetzner", "operations.create_volume.201", created.json)).toEqual([]);
    const { volume } = created.json;
    expect(volume).toMatchObject({
      name: "sam-ws-1",
      size: 10,
      server: null,
      status: "creating",
      format: "ext4",
      location: { name: "fsn1" },
      linux_device: `/dev/disk/by-id/scsi-0HC_Volume_${volume.id}`,
      protection: { delete: false },
    });
    expect(created.json.action).toMatchObject({ command: "create_volume", status: "running" });
    expect(created.json.next_actions).toEqual([]);
    expect((await actionDone(created.json.action.id)).status).toBe("success");

    const got = await h("GET", `/volumes/${volume.id}`);
    expect(got.json.volume.status).toBe("available");
    expect(contractErrors("hetzner", "operations.get_volume.200", got.json)).toEqual([]);
    const dir = volumeState(volume.id).dir;
    expect(dir).toMatch(new RegExp(`/volumes/${volume.id}$`));
    expect(existsSync(join(dir, "lost+found"))).toBe(true);

    const listed = await h("GET", "/volumes?label_selector=workspace%3Dws1&status=available&sort=name:desc");
    expect(contractErrors("hetzner", "operations.list_volumes.200", listed.json)).toEqual([]);
    expect(listed.json.volumes.map((v: { id: number }) => v.id)).toEqual([volume.id]);
    expect((await h("GET", "/volumes?name=sam-ws-1")).json.volumes).toHaveLength(1);
    expect((await h("GET", "/volumes?label_selector=workspace%3Dws2")).json.volumes).toEqual([]);

    const renamed = await h("PUT", `/volumes/${volume.id}`, { name: "sam-ws-1b", labels: { workspace: "ws1" } });
    expect(renamed.status).toBe(200);
    expect(contractErrors("hetzner", "operations.update_volume.200", renamed.json)).toEqual([]);
    expect(renamed.json.volume).toMatchObject({ name: "sam-ws-1b", labels: { workspace: "ws1" } });

    const deleted = await h("DELETE", `/volumes/${volume.id}`);
    expect(deleted.status).toBe(204);
    expect(existsSync(dir)).toBe(false);
    const gone = await h("GET", `/volumes/${volume.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe("not_found");
    expect(contractErrors("hetzner", "operations.get_volume.4xx", gone.json)).toEqual([]);
    expect((await h("DELETE", `/volumes/${volume.id}`)).status).toBe(404);
  });

  it.each([
    ["no name", { size: 10, location: "fsn1" }, 422, "invalid_input", "name"],
    ["a name that ends in a dash", { name: "vol-", size: 10, location: "fsn1" }, 422, "invalid_input", "name"],
    ["a name of 65 characters", { name: "v".repeat(65), size: 10, location: "fsn1" }, 422, "invalid_input", "name"],
    ["no size", { name: "v1", location: "fsn1" }, 422, "invalid_input", "size"],
    ["9 GB", { name: "v1", size: 9, location: "fsn1" }, 422, "invalid_input", "size"],
    ["10241 GB", { name: "v1", size: 10241, location: "fsn1" }, 422, "invalid_input", "size"],
    ["neither location nor server", { name: "v1", size: 10 }, 422, "invalid_input", "location"],
    ["an unknown location", { name: "v1", size: 10, location: "mars1" }, 422, "invalid_input", "location"],
    ["format btrfs", { name: "v1", size: 10, location: "fsn1", format: "btrfs" }, 422, "invalid_input", "format"],
    [
      "automount without server",
      { name: "v1", size: 10, location: "fsn1", automount: true },
      422,
      "invalid_input",
      "automount",
    ],
    [
      "a reserved label",
      { name: "v1", size: 10, location: "fsn1", labels: { "hetzner.cloud/x": "y" } },
      422,
      "invalid_input",
      "labels",
    ],
    ["an unknown server", { name: "v1", size: 10, server: 999 }, 404, "not_found", null],
  ])("refuses a create with %s", async (_, body, status, code, field) => {
    const res = await h("POST", "/volumes", body);
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    if (field) expect(res.json.error.details.fields[0].name).toBe(field);
    expect(contractErrors("hetzner", "operations.create_volume.4xx", res.json)).toEqual([]);
  });

  it("refuses a second volume of the same name with 409 uniqueness_error, on create and on rename", async () => {
    const first = await newVolume();
    const second = await newVolume();
    const duplicate = await h("POST", "/volumes", { name: first.name, size: 10, location: "fsn1" });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.error.code).toBe("uniqueness_error");
    const rename = await h("PUT", `/volumes/${second.id}`, { name: first.name });
    expect(rename.status).toBe(409);
    expect(rename.json.error.code).toBe("uniqueness_error");
  });

  it("keeps the volume locked (423) while its create runs, and drops a volume whose create failed", async () => {
    expect(
      (await admin("POST", "/faults", { service: "hetzner", action: "create_volume", fault: { action_delay_ms: 600 } }))
        .status,
    ).toBe(201);
    const server = await newServer("lock-target");
    const slow = await h("POST", "/volumes", { name: "slow", size: 10, location: "fsn1" });
    const attach = await h("POST", `/volumes/${slow.json.volume.id}/actions/attach`, { server: server.id });
    expect(attach.status).toBe(423);
    expect(attach.json.error.code).toBe("locked");
    expect((await h("DELETE", `/volumes/${slow.json.volume.id}`)).json.error.code).toBe("locked");
    expect((await actionDone(slow.json.action.id)).status).toBe("success");

    await admin("POST", "/faults", {
      service: "hetzner",
      action: "create_volume",
      fault: { action_error: { code: "action_failed", message: "no space left" } },
    });
    const failing = await h("POST", "/volumes", { name: "failing", size: 10, location: "fsn1" });
    expect(failing.status).toBe(201);
    expect(await actionDone(failing.json.action.id)).toMatchObject({
      status: "error",
      error: { code: "action_failed", message: "no space left" },
    });
    expect((await h("GET", `/volumes/${failing.json.volume.id}`)).status).toBe(404);
  });

  it("answers GET /pricing with currency, VAT, the volume price per GB and month and the server types' prices", async () => {
    const res = await h("GET", "/pricing");
    expect(res.status).toBe(200);
    expect(contractErrors("hetzner", "operations.get_pricing.200", res.json)).toEqual([]);
    const { pricing } = res.json;
    expect(pricing).toMatchObject({ currency: "EUR", vat_rate: "19.00" });
    expect(Number(pricing.volume.price_per_gb_month.gross)).toBeCloseTo(
      Number(pricing.volume.price_per_gb_month.net) * 1.19,
      8,
    );
    const types = (await h("GET", "/server_types")).json.server_types;
    const cx23 = types.find((t: { name: string }) => t.name === "cx23");
    expect(pricing.server_types.find((t: { name: string }) => t.name === "cx23").prices).toEqual(cx23.prices);
  });
});

describe("Hetzner volumes: attach and detach", () => {
  it("links an automounted volume at /mnt/HC_Volume_<id> in the server, refuses what Hetzner refuses, and detaches", async () => {
    const server = await newServer("attach-a");
    const elsewhere = await newServer("attach-b", { location: "nbg1" });
    const volume = await newVolume();
    const dir = volumeState(volume.id).dir;

    const attach = await h("POST", `/volumes/${volume.id}/actions/attach`, { server: server.id, automount: true });
    expect(attach.status).toBe(201);
    expect(contractErrors("hetzner", "operations.attach_volume.201", attach.json)).toEqual([]);
    expect(attach.json.action).toMatchObject({ command: "attach_volume", status: "running" });
    expect(attach.json.action.resources).toEqual(
      expect.arrayContaining([
        { id: volume.id, type: "volume" },
        { id: server.id, type: "server" },
      ]),
    );
    expect((await actionDone(attach.json.action.id)).status).toBe("success");
    expect((await h("GET", `/volumes/${volume.id}`)).json.volume.server).toBe(server.id);
    expect((await h("GET", `/servers/${server.id}`)).json.server.volumes).toEqual([volume.id]);
    const link = join(serverDir(server.id), `mnt/HC_Volume_${volume.id}`);
    expect(readlinkSync(link)).toBe(dir);
    writeFileSync(join(link, "kept.txt"), "hello");
    expect(readFileSync(join(dir, "kept.txt"), "utf8")).toBe("hello");
    expect(volumeState(volume.id)).toMatchObject({ server: server.id, location: "fsn1", dir });

    const again = await h("POST", `/volumes/${volume.id}/actions/attach`, { server: server.id });
    expect(again.status).toBe(422);
    expect(again.json.error.code).toBe("volume_already_attached");
    const deleteAttached = await h("DELETE", `/volumes/${volume.id}`);
    expect(deleteAttached.status).toBe(422);
    expect(deleteAttached.json.error.code).toBe("service_error");
    expect(deleteAttached.json.error.message).toMatch(/still attached/);

    const detach = await h("POST", `/volumes/${volume.id}/actions/detach`);
    expect(detach.status).toBe(201);
    expect(contractErrors("hetzner", "operations.detach_volume.201", detach.json)).toEqual([]);
    await actionDone(detach.json.action.id);
    expect(existsSync(link)).toBe(false);
    expect(readFileSync(join(dir, "kept.txt"), "utf8")).toBe("hello");
    expect((await h("GET", `/volumes/${volume.id}`)).json.volume.server).toBeNull();
    const detachAgain = await h("POST", `/volumes/${volume.id}/actions/detach`);
    expect(detachAgain.status).toBe(422);

    const otherLocation = await h("POST", `/volumes/${volume.id}/actions/attach`, { server: elsewhere.id });
    expect(otherLocation.status).toBe(422);
    expect(otherLocation.json.error.code).toBe("invalid_input");
    expect(otherLocation.json.error.message).toMatch(/location/);
    const noServer = await h("POST", `/volumes/${volume.id}/actions/attach`, { server: 1 });
    expect(noServer.status).toBe(404);

    // Without automount the volume is attached but not mounted: nothing at the mount point.
    const plain = await h("POST", `/volumes/${volume.id}/actions/attach`, { server: server.id });
    await actionDone(plain.json.action.id);
    expect((await h("GET", `/volumes/${volume.id}`)).json.volume.server).toBe(server.id);
    expect(existsSync(link)).toBe(false);
  });

  it("refuses an attach while the server's create runs (423 locked)", async () => {
    await admin("PUT", "/boot-delay", { ms: 800 });
    const res = await h("POST", "/servers", {
      name: "booting",
      server_type: "cx23",
      image: "ubuntu-24.04",
      location: "fsn1",
    });
    await admin("PUT", "/boot-delay", { ms: 0 });
    const volume = await newVolume();
    const attach = await h("POST", `/volumes/${volume.id}/actions/attach`, { server: res.json.server.id });
    expect(attach.status).toBe(423);
    expect(attach.json.error.code).toBe("locked");
    await actionDone(res.json.action.id);
  });

  it("creates a volume attached to a server (next_actions: attach_volume) and mounts it", async () => {
    const server = await newServer("create-attached");
    const res = await h("POST", "/volumes", {
      name: "with-server",
      size: 10,
      server: server.id,
      automount: true,
      format: "xfs",
    });
    expect(res.status).toBe(201);
    expect(res.json.volume.location.name).toBe("fsn1");
    expect(res.json.next_actions.map((a: { command: string }) => a.command)).toEqual(["attach_volume"]);
    await actionDone(res.json.next_actions[0].id);
    expect((await h("GET", `/volumes/${res.json.volume.id}`)).json.volume.server).toBe(server.id);
    expect(existsSync(join(serverDir(server.id), `mnt/HC_Volume_${res.json.volume.id}`))).toBe(true);
  });
});

describe("Hetzner volumes: servers", () => {
  it("refuses volumes at server create that are missing, elsewhere or attached", async () => {
    const holder = await newServer("holder");
    const attached = await newVolume();
    await actionDone((await h("POST", `/volumes/${attached.id}/actions/attach`, { server: holder.id })).json.action.id);
    const inHelsinki = await newVolume({ location: "hel1" });
    const base = { server_type: "cx23", image: "ubuntu-24.04", location: "fsn1" };
    const missing = await h("POST", "/servers", { ...base, name: "v-missing", volumes: [987654] });
    expect([missing.status, missing.json.error.code]).toEqual([404, "not_found"]);
    const elsewhere = await h("POST", "/servers", { ...base, name: "v-elsewhere", volumes: [inHelsinki.id] });
    expect([elsewhere.status, elsewhere.json.error.code]).toEqual([422, "invalid_input"]);
    const taken = await h("POST", "/servers", { ...base, name: "v-taken", volumes: [attached.id] });
    expect([taken.status, taken.json.error.code]).toEqual([422, "volume_already_attached"]);
    expect(contractErrors("hetzner", "operations.create_server.4xx", taken.json)).toEqual([]);
    expect(cloud.state().servers.some((s) => s.name.startsWith("v-"))).toBe(false);
  });

  it("boots a server with its volume mounted before the agent starts, shuts it down gracefully, and keeps the files after delete", async () => {
    const volume = await newVolume();
    const dir = volumeState(volume.id).dir;
    const res = await h("POST", "/servers", {
      name: "with-volume",
      server_type: "cx23",
      image: "ubuntu-24.04",
      location: "fsn1",
      volumes: [volume.id],
      automount: true,
      user_data: userData(volume.id),
    });
    expect(res.status).toBe(201);
    expect(contractErrors("hetzner", "operations.create_server.201", res.json)).toEqual([]);
    expect(res.json.server.volumes).toEqual([volume.id]);
    expect(res.json.next_actions.map((a: { command: string }) => a.command)).toContain("attach_volume");
    const serverId = res.json.server.id as number;
    const link = join(serverDir(serverId), `mnt/HC_Volume_${volume.id}`);
    // In place with the create's answer, before the boot runs anything.
    expect(readlinkSync(link)).toBe(dir);

    await until("the stand-in agent", () => existsSync(join(dir, "started")));
    expect(readFileSync(join(serverDir(serverId), "volume-dir.txt"), "utf8")).toBe(link);

    const shutdown = await h("POST", `/servers/${serverId}/actions/shutdown`);
    expect(shutdown.status).toBe(201);
    expect(shutdown.json.action.command).toBe("shutdown_server");
    await until(
      "the server to be off",
      async () => (await h("GET", `/servers/${serverId}`)).json.server.status === "off",
    );
    expect(readFileSync(join(dir, "synced"), "utf8")).toBe("synced\n");
    expect(cloud.state().servers.find((s) => s.id === serverId)!.agent!.alive).toBe(false);

    const deleted = await h("DELETE", `/servers/${serverId}`);
    expect(deleted.status).toBe(200);
    await actionDone(deleted.json.action.id);
    expect(volumeState(volume.id).server).toBeNull();
    expect((await h("GET", `/volumes/${volume.id}`)).json.volume.server).toBeNull();
    expect(existsSync(link)).toBe(false);
    expect(readFileSync(join(dir, "synced"), "utf8")).toBe("synced\n");
    // Free again: a new server in the same location takes it at create.
    const next = await newServer("with-volume-again", { volumes: [volume.id], automount: true });
    expect(next.volumes).toEqual([volume.id]);
    expect(existsSync(join(serverDir(next.id), `mnt/HC_Volume_${volume.id}/synced`))).toBe(true);
  });

  it("kills an agent that ignores the ACPI shutdown after the grace, and powers off at once", async () => {
    const volume = await newVolume();
    const dir = volumeState(volume.id).dir;
    const stubborn = await newServer("stubborn", {
      volumes: [volume.id],
      automount: true,
      user_data: userData(volume.id, "STANDIN_IGNORE_TERM=1"),
    });
    await until("the stand-in agent", () => existsSync(join(dir, "started")));
    const started = Date.now();
    await h("POST", `/servers/${stubborn.id}/actions/shutdown`);
    expect((await h("GET", `/servers/${stubborn.id}`)).json.server.status).toBe("running");
    await until(
      "the server to be off",
      async () => (await h("GET", `/servers/${stubborn.id}`)).json.server.status === "off",
    );
    // shutdownGraceMs is 1 s in this file.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(existsSync(join(dir, "synced"))).toBe(false);

    const poweron = await h("POST", `/servers/${stubborn.id}/actions/poweron`);
    await actionDone(poweron.json.action.id);
    await until("the agent again", () => cloud.state().servers.find((s) => s.id === stubborn.id)?.agent?.alive);
    const poweroff = await h("POST", `/servers/${stubborn.id}/actions/poweroff`);
    expect(contractErrors("hetzner", "operations.poweroff_server.201", poweroff.json)).toEqual([]);
    await actionDone(poweroff.json.action.id);
    expect((await h("GET", `/servers/${stubborn.id}`)).json.server.status).toBe("off");
    expect(cloud.state().servers.find((s) => s.id === stubborn.id)!.agent!.alive).toBe(false);
  }, 20_000);
});

describe("Hetzner volume faults", () => {
  it("fails a volume create with 403 resource_limit_exceeded and a server create with 412 resource_unavailable", async () => {
    const quota = await admin("POST", "/faults", {
      service: "hetzner",
      method: "POST",
      path: "^/volumes$",
      fault: { hetzner_error: "resource_limit_exceeded", message: "volume limit exceeded" },
    });
    expect(quota.status).toBe(201);
    const refused = await h("POST", "/volumes", { name: "over-quota", size: 10, location: "fsn1" });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toEqual({
      code: "resource_limit_exceeded",
      message: "volume limit exceeded",
      details: null,
    });
    expect(contractErrors("hetzner", "operations.create_volume.4xx", refused.json)).toEqual([]);

    await admin("POST", "/faults", {
      service: "hetzner",
      method: "POST",
      path: "^/servers$",
      fault: { hetzner_error: "resource_unavailable", message: "server type cx23 is unavailable in fsn1" },
    });
    const soldOut = await h("POST", "/servers", {
      name: "sold-out",
      server_type: "cx23",
      image: "ubuntu-24.04",
      location: "fsn1",
    });
    expect([soldOut.status, soldOut.json.error.code]).toEqual([412, "resource_unavailable"]);
    expect(
      (await admin("POST", "/faults", { service: "hetzner", path: "^/x$", fault: { hetzner_error: "made_up" } }))
        .status,
    ).toBe(400);
  });

  it("makes an attach or detach action end in error (the volume stays as it was), and a delete fail", async () => {
    const server = await newServer("faulty");
    const volume = await newVolume();
    await admin("POST", "/faults", {
      service: "hetzner",
      action: "attach_volume",
      fault: { action_error: { code: "action_failed", message: "attach failed" } },
    });
    const attach = await h("POST", `/volumes/${volume.id}/actions/attach`, { server: server.id, automount: true });
    expect(await actionDone(attach.json.action.id)).toMatchObject({
      status: "error",
      error: { message: "attach failed" },
    });
    expect((await h("GET", `/volumes/${volume.id}`)).json.volume.server).toBeNull();
    expect(cloud.state().faults).toEqual([]);

    await actionDone(
      (await h("POST", `/volumes/${volume.id}/actions/attach`, { server: server.id, automount: true })).json.action.id,
    );
    await admin("POST", "/faults", { service: "hetzner", action: "detach_volume", fault: { action_error: {} } });
    const detach = await h("POST", `/volumes/${volume.id}/actions/detach`);
    expect((await actionDone(detach.json.action.id)).error.code).toBe("action_failed");
    expect((await h("GET", `/volumes/${volume.id}`)).json.volume.server).toBe(server.id);

    await actionDone((await h("POST", `/volumes/${volume.id}/actions/detach`)).json.action.id);
    await admin("POST", "/faults", {
      service: "hetzner",
      method: "DELETE",
      path: "^/volumes/\\d+$",
      fault: { hetzner_error: "server_error" },
    });
    expect((await h("DELETE", `/volumes/${volume.id}`)).status).toBe(500);
    expect((await h("DELETE", `/volumes/${volume.id}`)).status).toBe(204);
  });

  it("wipes volumes on reset", async () => {
    const volume = await newVolume();
    const dir = volumeState(volume.id).dir;
    await admin("POST", "/reset");
    expect(cloud.state().volumes).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("SAM_VOLUME_DIR", () => {
  it("moves the agent.env's absolute volume path into the server's directory", () => {
    const scratch = mkdtempSync(join(tmpdir(), "volume-dir-"));
    const envFile = join(scratch, "agent.env");
    writeFileSync(envFile, "SAM_WORKSPACE_ID=ws1\nSAM_VOLUME_DIR=/mnt/HC_Volume_7\n");
    expect(volumeDirIn("/srv/servers/1", envFile)).toEqual({ SAM_VOLUME_DIR: "/srv/servers/1/mnt/HC_Volume_7" });
    writeFileSync(envFile, "SAM_WORKSPACE_ID=ws1\n");
    expect(volumeDirIn("/srv/servers/1", envFile)).toEqual({});
    rmSync(scratch, { recursive: true, force: true });
  });
});
