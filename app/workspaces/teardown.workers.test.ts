import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "../db/schema";
import { ProviderError } from "../providers/http.server";
import { provision } from "./provision.server";
import { finishStop } from "./teardown.server";
import { claimDelete, claimRestart, claimStop, listEvents } from "./workspaces.server";
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

describe("teardown", () => {
  it("a DNS failure on stop does not keep the server: it goes, and the workspace says what is left", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));
    fake.failures.set(
      "deleteRecord",
      new ProviderError({ provider: "cloudflare", status: 500, message: "Internal server error" }),
    );

    const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
    await finishStop(deps, stopping!, { clouds: fake.factory });
    expect(fake.servers.size + fake.firewalls.size).toBe(0);
    expect(fake.records.size).toBe(1);
    expect(await reload(workspace.id)).toMatchObject({ status: "error", error: expect.stringMatching(/Cloudflare/) });
  });

  it("stop revokes the run's certificate; a revocation Cloudflare refuses is noted and the stop still completes", async () => {
    const fake = fakeClouds();
    for (const refuse of [false, true]) {
      const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
      await provision(deps, workspace, { clouds: fake.factory });
      const { id: certificateId } = await fake.clouds.zone.issueCertificate(
        `ws-${workspace.id}.${config.BASE_DOMAIN}`,
        "csr",
      );
      await db
        .update(schema.workspaces)
        .set({ status: "running", certificateId })
        .where(eq(schema.workspaces.id, workspace.id));
      if (refuse)
        fake.failures.set(
          "revokeCertificate",
          new ProviderError({ provider: "cloudflare", status: 403, code: "10000", message: "Authentication error" }),
        );

      const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
      await finishStop(deps, stopping!, { clouds: fake.factory });
      expect((await reload(workspace.id))!.status).toBe("stopped");
      expect(fake.certificates.get(certificateId)!.revoked).toBe(!refuse);
      expect((await reload(workspace.id))!.certificateId).toBe(refuse ? certificateId : null);
      const noted = (await listEvents(db, workspace.id)).filter(
        (event) => event.step === "certificate" && event.status === "error",
      );
      expect(noted.map((event) => event.message)).toEqual(
        refuse ? [expect.stringContaining("Authentication error")] : [],
      );
    }
  });
});

describe("stop and delete with a volume", () => {
  /** A provisioned, running workspace with its volume, in the fake clouds. */
  async function runningWithVolume(fake: ReturnType<typeof fakeClouds>) {
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));
    return (await reload(workspace.id))!;
  }
  const stop = async (fake: ReturnType<typeof fakeClouds>, id: string, options = {}) =>
    finishStop(deps, (await claimStop(deps, { id, userId }, "Stopped by you"))!, { clouds: fake.factory, ...options });
  const quick = { shutdown: { timeoutMs: 50, firstPollMs: 5 } };

  it("stop shuts the server down before deleting it, and keeps the volume, detached, on the row", async () => {
    const fake = fakeClouds();
    const workspace = await runningWithVolume(fake);
    const statusAtDelete: string[] = [];
    const remove = fake.clouds.hetzner.deleteServer;
    fake.clouds.hetzner.deleteServer = async (id) => {
      statusAtDelete.push(fake.servers.get(id)?.status ?? "gone");
      return await remove(id);
    };
    await stop(fake, workspace.id, quick);
    expect(statusAtDelete).toEqual(["off"]);
    expect({ servers: fake.servers.size, firewalls: fake.firewalls.size, records: fake.records.size }).toEqual({
      servers: 0,
      firewalls: 0,
      records: 0,
    });
    expect([...fake.volumes.values()]).toEqual([
      expect.objectContaining({
        id: workspace.volumeId,
        server: null,
        labels: expect.objectContaining({ workspace: workspace.id }),
      }),
    ]);
    expect(await reload(workspace.id)).toMatchObject({
      status: "stopped",
      volumeId: workspace.volumeId,
      serverId: null,
    });
    const events = await listEvents(db, workspace.id);
    expect(events.map((event) => `${event.step}:${event.status}`)).toEqual(
      expect.arrayContaining(["shutdown:started", "shutdown:ok", "stop:ok"]),
    );
    expect(events.find((event) => event.step === "stop" && event.status === "ok")!.message).toMatch(
      /the volume .* keeps the files/,
    );
  });

  it("a server that does not power off in time, or cannot be shut down, is deleted anyway and the timeline says so", async () => {
    for (const problem of ["slow", "refused"] as const) {
      const fake = fakeClouds();
      const workspace = await runningWithVolume(fake);
      if (problem === "slow") fake.clouds.hetzner.shutdownServer = async () => ({}) as never;
      else
        fake.failures.set("shutdownServer", new ProviderError({ provider: "hetzner", status: 500, message: "oops" }));
      await stop(fake, workspace.id, quick);
      expect(fake.servers.size).toBe(0);
      expect(fake.volumes.size).toBe(1);
      expect((await reload(workspace.id))!.status).toBe("stopped");
      const shutdown = (await listEvents(db, workspace.id)).find(
        (event) => event.step === "shutdown" && event.status === "error",
      );
      expect(shutdown!.message).toMatch(
        problem === "slow" ? /did not power off within 0 s/ : /Could not shut the server down/,
      );
    }
  });

  it("a volume still attached after its server is gone is detached; a detach Hetzner refuses does not fail the stop", async () => {
    const fake = fakeClouds();
    const workspace = await runningWithVolume(fake);
    // Hetzner still shows the deleted server holding the volume, and refuses the detach this once.
    const read = fake.clouds.hetzner.getVolume;
    fake.clouds.hetzner.getVolume = async (id) => {
      const volume = await read(id);
      return volume && { ...volume, server: 999 };
    };
    fake.failures.set(
      "detachVolume",
      new ProviderError({ provider: "hetzner", status: 423, code: "locked", message: "locked" }),
    );
    await stop(fake, workspace.id, quick);
    expect(await reload(workspace.id)).toMatchObject({ status: "stopped", volumeId: workspace.volumeId });
    const noted = (await listEvents(db, workspace.id)).find(
      (event) => event.step === "volume" && event.status === "error",
    );
    expect(noted!.message).toMatch(/Could not check that the volume is detached .* the next start detaches it/);

    // The next time it is detached.
    const detached: number[] = [];
    const detach = fake.clouds.hetzner.detachVolume;
    fake.clouds.hetzner.detachVolume = async (id) => {
      detached.push(id);
      return await detach(id);
    };
    fake.clouds.hetzner.getVolume = read;
    fake.volumes.get(workspace.volumeId!)!.server = 999;
    await provision(deps, (await claimRestart(deps, { id: workspace.id, userId }))!, { clouds: fake.factory });
    expect(detached).toEqual([workspace.volumeId]);
    expect((await reload(workspace.id))!.status).toBe("creating");
  });

  it("delete removes the volume with the rest, and the row", async () => {
    const fake = fakeClouds();
    const workspace = await runningWithVolume(fake);
    await finishStop(deps, (await claimDelete(deps, { id: workspace.id, userId }))!, {
      clouds: fake.factory,
      remove: true,
    });
    expect(fake.servers.size + fake.firewalls.size + fake.records.size + fake.volumes.size).toBe(0);
    expect(await reload(workspace.id)).toBeNull();
  });

  it("delete of a stopped workspace removes its volume; a volume Hetzner will not delete is left labelled for the sweep, and the owner is told", async () => {
    const fake = fakeClouds();
    const workspace = await runningWithVolume(fake);
    await stop(fake, workspace.id, quick);
    fake.failures.set("deleteVolume", new ProviderError({ provider: "hetzner", status: 500, message: "oops" }));
    await finishStop(deps, (await claimDelete(deps, { id: workspace.id, userId }))!, {
      clouds: fake.factory,
      remove: true,
    });
    expect(await reload(workspace.id)).toBeNull();
    expect([...fake.volumes.values()]).toEqual([
      expect.objectContaining({ id: workspace.volumeId, labels: expect.objectContaining({ workspace: workspace.id }) }),
    ]);
    const told = await db.query.auditLog.findMany({ where: eq(schema.auditLog.userId, userId) });
    expect(told).toContainEqual(
      expect.objectContaining({
        action: "workspace.volume_left_for_sweep",
        details: expect.objectContaining({
          volumeId: workspace.volumeId,
          reason: expect.stringMatching(/Hetzner had an internal error/),
        }),
      }),
    );
  });

  it("a create that timed out loses the volume it made; a restart that timed out keeps the volume from before", async () => {
    const fake = fakeClouds();
    const failure = "The server did not finish starting.";
    const first = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, first, { clouds: fake.factory });
    await finishStop(deps, (await claimStop(deps, { id: first.id, userId }, "timed out"))!, {
      clouds: fake.factory,
      failure,
      ...quick,
    });
    expect(await reload(first.id)).toMatchObject({ status: "error", error: failure, volumeId: null });
    expect(fake.volumes.size).toBe(0);

    const kept = await runningWithVolume(fake);
    await stop(fake, kept.id, quick);
    const restarted = (await claimRestart(deps, { id: kept.id, userId }))!;
    await provision(deps, restarted, { clouds: fake.factory });
    await finishStop(deps, (await claimStop(deps, { id: kept.id, userId }, "timed out"))!, {
      clouds: fake.factory,
      failure,
      ...quick,
    });
    expect(await reload(kept.id)).toMatchObject({ status: "error", volumeId: kept.volumeId });
    expect([...fake.volumes.keys()]).toEqual([kept.volumeId]);
    expect(fake.servers.size).toBe(0);
  });
});

describe("a recorded volume id is not trusted alone", () => {
  it("stop and delete never detach or delete a volume whose label names another workspace", async () => {
    const fake = fakeClouds();
    const other = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, other, { clouds: fake.factory });
    const { volumeId, serverId } = (await reload(other.id))!;
    // A row that records the same id (a database restored beside another project, ids reused).
    const stale = await newWorkspace({ status: "running", volumeId, volumeSizeGb: 10, startedAt: new Date() });
    await finishStop(deps, (await claimStop(deps, { id: stale.id, userId }, "Stopped by you"))!, {
      clouds: fake.factory,
    });
    await finishStop(deps, (await claimDelete(deps, { id: stale.id, userId }))!, {
      clouds: fake.factory,
      remove: true,
    });
    expect(fake.volumes.get(volumeId!)).toMatchObject({ server: serverId, labels: { workspace: other.id } });
  });
});
