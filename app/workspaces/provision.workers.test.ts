import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "../db/schema";
import { ProviderError } from "../providers/http.server";
import { samImageVersion } from "../admin/image.server";
import { provision } from "./provision.server";
import { finishStop } from "./teardown.server";
import { claimRestart, claimStop, listEvents, type Workspace } from "./workspaces.server";
import {
  config,
  db,
  deps,
  fakeClouds,
  newWorkspace,
  reload,
  useFreshUser,
  userId,
} from "../../tests/support/workspaces.workers";

useFreshUser();

describe("provisioning", () => {
  it("creates a volume, a firewall, a server with the volume attached and a proxied DNS record, and logs each step", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(row).toMatchObject({ status: "creating", error: null });
    expect(row!.serverId).toBe([...fake.servers.keys()][0]);
    expect(fake.servers.get(row!.serverId!)!.labels).toEqual({
      "managed-by": "sam",
      instance: "localhost-8788",
      workspace: workspace.id,
      user: userId,
    });
    expect([...fake.records.values()]).toEqual([
      expect.objectContaining({ name: `ws-${workspace.id}.${config.BASE_DOMAIN}` }),
    ]);
    // The volume: in the workspace's location, labelled like the server, attached to it, priced from Hetzner.
    const [volume] = [...fake.volumes.values()];
    expect(volume).toMatchObject({
      name: `sam-${workspace.id}`,
      size: 10,
      location: "fsn1",
      labels: fake.servers.get(row!.serverId!)!.labels,
      server: row!.serverId,
    });
    expect(row).toMatchObject({ volumeId: volume!.id, volumeSizeGb: 10, volumeMonthlyPrice: "0.44" });
    const events = await listEvents(db, workspace.id);
    expect(events.map((event) => `${event.step}:${event.status}`)).toEqual([
      "volume:started",
      "volume:ok",
      "cloud-init:ok",
      "image:ok",
      "firewall:started",
      "firewall:ok",
      "server:started",
      "server:ok",
      "dns:started",
      "dns:ok",
      "boot:started",
    ]);
  });

  it("boots from the newest SAM image of the current version when the project has one, else ubuntu-24.04", async () => {
    const fake = fakeClouds();
    const version = await samImageVersion(config);
    const snapshot = (id: number, created: string) => ({
      id,
      type: "snapshot" as const,
      status: "available" as const,
      name: null,
      description: "SAM image",
      created,
      labels: { "sam-image-version": version },
      architecture: "x86",
    });
    const selectors: Array<string | undefined> = [];
    fake.clouds.hetzner.listImages = async (filter = {}) => {
      selectors.push(filter.labelSelector);
      return [snapshot(7, "2026-01-01T00:00:00Z"), snapshot(9, "2026-02-01T00:00:00Z")];
    };
    const images: string[] = [];
    const create = fake.clouds.hetzner.createServer;
    fake.clouds.hetzner.createServer = async (input) => {
      images.push(input.image);
      return create(input);
    };
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    expect(images).toEqual(["9"]);
    expect(selectors).toEqual([`managed-by=sam,instance=localhost-8788,role=sam-image,sam-image-version=${version}`]);
    const events = await listEvents(db, workspace.id);
    expect(events.find((event) => event.step === "image")!.message).toMatch(/^Booting from the SAM image 9 /);

    // A failed lookup costs boot time, not the workspace.
    fake.clouds.hetzner.listImages = async () => {
      throw new ProviderError({ provider: "hetzner", status: 503, code: "unavailable", message: "down" });
    };
    const second = await newWorkspace();
    await provision(deps, second, { clouds: fake.factory });
    expect(images.at(-1)).toBe("ubuntu-24.04");
    expect((await reload(second.id))!.status).toBe("creating");
    const why = (await listEvents(db, second.id)).find((event) => event.step === "image")!.message;
    expect(why).toMatch(/^Booting ubuntu-24.04 \(looking for the SAM image failed: .*\), which installs Node.js/);
  });

  it.each([
    [
      "createServer",
      new ProviderError({ provider: "hetzner", status: 412, code: "resource_unavailable", message: "no capacity" }),
      /no capacity for cx23 in fsn1/,
    ],
    [
      "createServer",
      new ProviderError({ provider: "hetzner", status: 401, code: "unauthorized", message: "unable to authenticate" }),
      /rejected the token/,
    ],
    [
      "createRecord",
      new ProviderError({ provider: "cloudflare", status: 500, message: "Internal server error" }),
      /Cloudflare had an internal error/,
    ],
  ])("a failing %s leaves nothing behind and an error to act on", async (call, error, message) => {
    const fake = fakeClouds();
    fake.failures.set(call, error);
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(row!.status).toBe("error");
    expect(row!.error).toMatch(message);
    expect({ servers: fake.servers.size, firewalls: fake.firewalls.size, records: fake.records.size }).toEqual({
      servers: 0,
      firewalls: 0,
      records: 0,
    });
    expect(row).toMatchObject({ serverId: null, firewallId: null, dnsRecordId: null });
  });

  it("a server created by a request whose answer was lost is found by its label and deleted", async () => {
    const fake = fakeClouds();
    const original = fake.clouds.hetzner.createServer;
    fake.clouds.hetzner.createServer = async (input) => {
      await original(input);
      throw new ProviderError({
        provider: "hetzner",
        status: 0,
        code: "timeout",
        message: "Hetzner did not answer within 15 s",
      });
    };
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    expect((await reload(workspace.id))!.error).toMatch(/did not answer in time/);
    expect(fake.servers.size).toBe(0);
  });

  it("stopped while provisioning: what was made is removed and the stop wins", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace();
    const original = fake.clouds.hetzner.createServer;
    fake.clouds.hetzner.createServer = async (input) => {
      await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
      return original(input);
    };
    await provision(deps, workspace, { clouds: fake.factory });
    expect(fake.servers.size + fake.firewalls.size + fake.records.size).toBe(0);
    expect((await reload(workspace.id))!.status).toBe("stopping");
  });
});

describe("a run overtaken by stop and restart", () => {
  it("a late answer to the old run neither writes into the new run nor removes its server", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    const original = fake.clouds.hetzner.createServer;
    let restarted: Workspace | null = null;
    fake.clouds.hetzner.createServer = async (input) => {
      if (!restarted) {
        // While the first run waits for Hetzner, the user stops and restarts; the second run provisions fully.
        const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
        await finishStop(deps, stopping!, { clouds: fake.factory });
        restarted = await claimRestart(deps, { id: workspace.id, userId });
        await provision(deps, restarted!, { clouds: fake.factory });
      }
      // The old run asks for a server with the kept volume, which the new run's server now holds: refused.
      return await original(input);
    };
    await provision(deps, workspace, { clouds: fake.factory });

    const row = await reload(workspace.id);
    expect(row!.status).toBe("creating");
    expect(row!.startedAt!.getTime()).toBe(restarted!.startedAt!.getTime());
    // Exactly the new run's server and record are left, and the row points at them.
    expect([...fake.servers.keys()]).toEqual([row!.serverId]);
    expect([...fake.records.keys()]).toEqual([row!.dnsRecordId]);
    // The volume the first run made is the workspace's: the new run's server holds it.
    expect([...fake.volumes.values()]).toEqual([expect.objectContaining({ id: row!.volumeId, server: row!.serverId })]);
  });
});

describe("the workspace's volume", () => {
  const hetznerError = (status: number, code: string, message: string) =>
    new ProviderError({ provider: "hetzner", status, code, message });
  const billing = (fake: ReturnType<typeof fakeClouds>) => ({
    servers: fake.servers.size,
    firewalls: fake.firewalls.size,
    records: fake.records.size,
    volumes: fake.volumes.size,
  });
  const nothing = { servers: 0, firewalls: 0, records: 0, volumes: 0 };

  it("is attached at server create with automount, and the user-data tells the agent where it is mounted", async () => {
    const fake = fakeClouds();
    const inputs: Array<Parameters<typeof fake.clouds.hetzner.createServer>[0]> = [];
    const create = fake.clouds.hetzner.createServer;
    fake.clouds.hetzner.createServer = async (input) => {
      inputs.push(input);
      return await create(input);
    };
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(inputs[0]).toMatchObject({ volumes: [row!.volumeId], automount: true, location: "fsn1" });
    expect(inputs[0]!.userData).toContain(`SAM_VOLUME_DIR=/mnt/HC_Volume_${row!.volumeId}\n`);
  });

  it("a restart attaches the kept volume to a server in the same location and makes no new one", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    const first = (await reload(workspace.id))!;
    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));
    await finishStop(deps, (await claimStop(deps, { id: workspace.id, userId }, "Stopped by you"))!, {
      clouds: fake.factory,
    });
    expect(fake.volumes.get(first.volumeId!)).toMatchObject({ server: null });

    const restarted = await claimRestart(deps, { id: workspace.id, userId });
    await provision(deps, restarted!, { clouds: fake.factory });
    const second = (await reload(workspace.id))!;
    expect(second).toMatchObject({ status: "creating", volumeId: first.volumeId, error: null });
    expect([...fake.volumes.values()]).toEqual([
      expect.objectContaining({ id: first.volumeId, location: "fsn1", server: second.serverId }),
    ]);
    const steps = (await listEvents(db, workspace.id)).map((event) => `${event.step}:${event.status}`);
    expect(steps.filter((step) => step === "volume:ok")).toHaveLength(1);
    expect(steps).toContain("volume:info");
  });

  it.each([
    ["createVolume", hetznerError(403, "resource_limit_exceeded", "volume limit exceeded"), /resource limit/],
    ["createServer", hetznerError(412, "resource_unavailable", "no capacity"), /no capacity for cx23 in fsn1/],
    ["createRecord", new ProviderError({ provider: "cloudflare", status: 500, message: "oops" }), /Cloudflare/],
  ])("a failing %s on a first create removes the volume it made too", async (call, error, message) => {
    const fake = fakeClouds();
    fake.failures.set(call, error);
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    expect(billing(fake)).toEqual(nothing);
    const row = await reload(workspace.id);
    expect(row).toMatchObject({ status: "error", volumeId: null, volumeSizeGb: null, serverId: null });
    expect(row!.error).toMatch(message);
  });

  it("an attach Hetzner fails removes the server and the new volume, and says so", async () => {
    const fake = fakeClouds();
    fake.failedActions.add("attach_volume");
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    expect(billing(fake)).toEqual(nothing);
    expect(await reload(workspace.id)).toMatchObject({
      status: "error",
      error: expect.stringMatching(/attach_volume failed/),
    });
    const steps = (await listEvents(db, workspace.id)).map((event) => `${event.step}:${event.status}`);
    expect(steps).toEqual(expect.arrayContaining(["volume.attach:error", "cleanup:ok"]));
  });

  it("a volume made by a request whose answer was lost is found by its label and deleted", async () => {
    const fake = fakeClouds();
    const original = fake.clouds.hetzner.createVolume;
    fake.clouds.hetzner.createVolume = async (input) => {
      await original(input);
      throw new ProviderError({ provider: "hetzner", status: 0, code: "timeout", message: "no answer within 15 s" });
    };
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    expect(billing(fake)).toEqual(nothing);
    expect((await reload(workspace.id))!.error).toMatch(/did not answer in time/);
  });

  it("a restart in a sold-out location ends in error saying the volume cannot move; only the kept volume stays", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    const { volumeId } = (await reload(workspace.id))!;
    await finishStop(deps, (await claimStop(deps, { id: workspace.id, userId }, "Stopped by you"))!, {
      clouds: fake.factory,
    });
    fake.failures.set("createServer", hetznerError(412, "resource_unavailable", "server location disabled"));
    await provision(deps, (await claimRestart(deps, { id: workspace.id, userId }))!, { clouds: fake.factory });
    expect(billing(fake)).toEqual({ ...nothing, volumes: 1 });
    const row = (await reload(workspace.id))!;
    expect(row).toMatchObject({ status: "error", volumeId, serverId: null });
    expect(row.error).toMatch(/no cx23 servers available in fsn1 .* a volume cannot move to another location/);

    // Once Hetzner has capacity again, the same volume comes back.
    await provision(deps, (await claimRestart(deps, { id: workspace.id, userId }))!, { clouds: fake.factory });
    expect(await reload(workspace.id)).toMatchObject({ status: "creating", volumeId });
  });

  it("a restart right after a stop waits out a volume Hetzner still holds locked, then attaches it", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    const { volumeId } = (await reload(workspace.id))!;
    await finishStop(deps, (await claimStop(deps, { id: workspace.id, userId }, "Stopped by you"))!, {
      clouds: fake.factory,
    });
    fake.failures.set("createServer", hetznerError(423, "locked", "volume is locked by a running action"));
    await provision(deps, (await claimRestart(deps, { id: workspace.id, userId }))!, { clouds: fake.factory });
    const row = (await reload(workspace.id))!;
    expect(row).toMatchObject({ status: "creating", volumeId, error: null });
    expect(fake.volumes.get(volumeId!)!.server).toBe(row.serverId);
  });

  it("a kept volume that Hetzner no longer has is said plainly, never replaced by an empty one", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ status: "stopped", volumeId: 4242, volumeSizeGb: 10, startedAt: null });
    await provision(deps, (await claimRestart(deps, { id: workspace.id, userId }))!, { clouds: fake.factory });
    expect(billing(fake)).toEqual(nothing);
    expect(await reload(workspace.id)).toMatchObject({
      status: "error",
      volumeId: 4242,
      error: expect.stringContaining("no longer has this workspace's volume 4242"),
    });
  });

  it("the user's volume quota reached: nothing is made and the error says what to do", async () => {
    const fake = fakeClouds();
    await db
      .insert(schema.instanceSettings)
      .values({ key: "policy", value: { volumeDefaultGb: 10, volumeMaxGb: 10, volumeTotalGbPerUser: 10 } })
      .onConflictDoUpdate({
        target: schema.instanceSettings.key,
        set: { value: { volumeDefaultGb: 10, volumeMaxGb: 10, volumeTotalGbPerUser: 10 } },
      });
    try {
      await newWorkspace({ status: "stopped", volumeId: 1, volumeSizeGb: 10 });
      const workspace = await newWorkspace();
      // A fresh context: the policy is read once per context.
      await provision({ ...deps }, workspace, { clouds: fake.factory });
      expect(billing(fake)).toEqual(nothing);
      expect(await reload(workspace.id)).toMatchObject({
        status: "error",
        error: expect.stringMatching(/take 10 GB of the 10 GB .* delete a stopped workspace/),
      });
    } finally {
      await db.delete(schema.instanceSettings).where(eq(schema.instanceSettings.key, "policy"));
    }
  });

  it("volumes turned off by the policy: the workspace boots as before, with no volume", async () => {
    const fake = fakeClouds();
    await db
      .insert(schema.instanceSettings)
      .values({ key: "policy", value: { volumesEnabled: false } })
      .onConflictDoUpdate({ target: schema.instanceSettings.key, set: { value: { volumesEnabled: false } } });
    try {
      const userData: string[] = [];
      const create = fake.clouds.hetzner.createServer;
      fake.clouds.hetzner.createServer = async (input) => {
        userData.push(input.userData);
        expect(input.volumes).toBeUndefined();
        return await create(input);
      };
      const workspace = await newWorkspace();
      await provision({ ...deps }, workspace, { clouds: fake.factory });
      expect(await reload(workspace.id)).toMatchObject({ status: "creating", volumeId: null });
      expect(fake.volumes.size).toBe(0);
      expect(userData[0]).not.toContain("SAM_VOLUME_DIR");
    } finally {
      await db.delete(schema.instanceSettings).where(eq(schema.instanceSettings.key, "policy"));
    }
  });
});
