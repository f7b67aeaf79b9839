import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "../db/schema";
import { instanceLabel, type CloudsFactory } from "./clouds.server";
import { runSweep, SWEEP_CALL_BUDGET } from "./sweep.server";
import { workspaceHostname } from "./url";
import { provision } from "./provision.server";
import { listEvents, newWorkspaceId } from "./workspaces.server";
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

describe("sweep", () => {
  it("provisioning past 10 minutes is cleaned up and set to error; a silent agent's workspace is stopped; orphans go", async () => {
    const fake = fakeClouds();
    await db
      .insert(schema.credentials)
      .values({ userId, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
    const late = await newWorkspace({ startedAt: new Date(Date.now() - 11 * 60_000) });
    await provision(deps, late, { clouds: fake.factory });
    const silent = await newWorkspace({ status: "running", lastHeartbeatAt: new Date(Date.now() - 5 * 60_000) });
    const orphan = await fake.clouds.hetzner.createServer({
      name: "x",
      serverType: "cx23",
      location: "fsn1",
      image: "ubuntu-24.04",
      userData: "",
      labels: { "managed-by": "sam", instance: "localhost-8788", workspace: "gonegonegone" },
    });
    // Another SAM instance sharing the Hetzner project: its servers are not this instance's orphans.
    const neighbour = await fake.clouds.hetzner.createServer({
      name: "y",
      serverType: "cx23",
      location: "fsn1",
      image: "ubuntu-24.04",
      userData: "",
      labels: { "managed-by": "sam", instance: "staging.example.com", workspace: "notminenotmi" },
    });

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone });
    expect(report.provisioningTimedOut).toContain(late.id);
    expect(await reload(late.id)).toMatchObject({ status: "error", error: expect.stringContaining("10 minutes") });
    // Its timeline says what happened: it never came up and was cleaned up, not that someone stopped it.
    const lateSteps = (await listEvents(db, late.id)).map((event) => `${event.step}:${event.status}`);
    expect(lateSteps).toEqual(expect.arrayContaining(["boot:error", "cleanup:ok"]));
    expect(lateSteps).not.toContain("stop:ok");
    expect(report.stopped).toContainEqual({ id: silent.id, reason: "heartbeat" });
    expect((await reload(silent.id))!.status).toBe("stopped");
    expect(report.orphanServersDeleted).toContain(orphan.server.id);
    expect(report.orphanServersDeleted).not.toContain(neighbour.server.id);
    expect([...fake.servers.keys()]).toEqual([neighbour.server.id]);
    expect(fake.records.size).toBe(0);
    const audit = await db.query.auditLog.findMany({ where: eq(schema.auditLog.userId, userId) });
    expect(audit.map((entry) => entry.action)).toEqual(
      expect.arrayContaining(["workspace.provisioning_timed_out", "workspace.stopped", "orphan.server_deleted"]),
    );
  });

  it("DNS records whose workspace is gone, stopped or re-recorded go; a live workspace's record and foreign names stay", async () => {
    const fake = fakeClouds();
    const running = await newWorkspace({ status: "running", lastHeartbeatAt: new Date() });
    const current = await fake.clouds.zone.createRecord(workspaceHostname(config, running.id), "10.0.0.1");
    const stale = await fake.clouds.zone.createRecord(workspaceHostname(config, running.id), "10.0.0.9");
    await db.update(schema.workspaces).set({ dnsRecordId: current }).where(eq(schema.workspaces.id, running.id));
    const creating = await newWorkspace({ status: "creating" });
    const inFlight = await fake.clouds.zone.createRecord(workspaceHostname(config, creating.id), "10.0.0.2");
    const stopped = await newWorkspace({ status: "stopped" });
    const leftOver = await fake.clouds.zone.createRecord(workspaceHostname(config, stopped.id), "10.0.0.3");
    const rowGone = await fake.clouds.zone.createRecord(workspaceHostname(config, newWorkspaceId()), "10.0.0.4");
    const foreign = await fake.clouds.zone.createRecord(`ws-${newWorkspaceId()}.other.example`, "10.0.0.5");

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone });
    expect(report.orphanDnsRecordsDeleted.sort()).toEqual([stale, leftOver, rowGone].sort());
    expect([...fake.records.keys()].sort()).toEqual([current, inFlight, foreign].sort());
    const audit = await db.query.auditLog.findMany({ where: eq(schema.auditLog.action, "orphan.dns_record_deleted") });
    expect(audit.map((entry) => (entry.details as { recordId: string }).recordId)).toEqual(
      expect.arrayContaining([stale, leftOver, rowGone]),
    );
  });

  it("stops idle and over-age workspaces (not one whose activity may not be reported yet), finishes stuck stops, retries failed cleanups, deletes orphan firewalls", async () => {
    const fake = fakeClouds();
    await db
      .insert(schema.credentials)
      .values({ userId, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
    const now = Date.now();
    // Fully provisioned (a DNS record recorded), or the sweep would judge them as provisioning cut off.
    const running = {
      status: "running" as const,
      startedAt: new Date(now - 3600_000),
      lastHeartbeatAt: new Date(now),
      idleTimeoutSeconds: 900,
      dnsRecordId: "recorded",
    };
    const idle = await newWorkspace({ ...running, lastActivityAt: new Date(now - 20 * 60_000) });
    const busy = await newWorkspace({ ...running, lastActivityAt: new Date(now - 60_000) });
    // Past the timeout by 20 s: a heartbeat due within 1.5 intervals could still report newer activity.
    const barelyIdle = await newWorkspace({ ...running, lastActivityAt: new Date(now - 900_000 - 20_000) });
    const overAge = await newWorkspace({
      ...running,
      startedAt: new Date(now - 13 * 3600_000),
      lastActivityAt: new Date(now),
      maxLifetimeSeconds: 12 * 3600,
    });
    const stuck = await newWorkspace({ status: "stopping", updatedAt: new Date(now - 6 * 60_000) });
    const leftover = await fake.clouds.hetzner.createServer({
      name: "l",
      serverType: "cx23",
      location: "fsn1",
      image: "ubuntu-24.04",
      userData: "",
      labels: {},
    });
    const failed = await newWorkspace({ status: "error", serverId: leftover.server.id, startedAt: null });
    const { firewall } = await fake.clouds.hetzner.createFirewall({
      name: "f",
      labels: { "managed-by": "sam", instance: "localhost-8788", workspace: "gonegonegone" },
      rules: [],
    });

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone, now });
    expect(report.stopped).toEqual(
      expect.arrayContaining([
        { id: idle.id, reason: "idle" },
        { id: overAge.id, reason: "lifetime" },
      ]),
    );
    expect(report.stopped.map((entry) => entry.id)).not.toContain(busy.id);
    expect(report.stopped.map((entry) => entry.id)).not.toContain(barelyIdle.id);
    expect((await reload(idle.id))!.status).toBe("stopped");
    expect((await reload(busy.id))!.status).toBe("running");
    expect((await reload(barelyIdle.id))!.status).toBe("running");
    expect(report.stuckStopsFinished).toContain(stuck.id);
    expect((await reload(stuck.id))!.status).toBe("stopped");
    expect(report.leftoversCleaned).toContain(failed.id);
    expect(await reload(failed.id)).toMatchObject({ status: "error", serverId: null });
    expect(fake.servers.has(leftover.server.id)).toBe(false);
    expect(report.orphanFirewallsDeleted).toContain(firewall.id);
    expect(fake.firewalls.has(firewall.id)).toBe(false);
  });

  it("a silent agent that answers the probe keeps running (noted once); one that does not is stopped, without a delete when Hetzner has no server", async () => {
    const fake = fakeClouds();
    await db
      .insert(schema.credentials)
      .values({ userId, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
    const now = Date.now();
    const silent = {
      status: "running" as const,
      startedAt: new Date(now - 3600_000),
      lastActivityAt: new Date(now - 3600_000),
      lastHeartbeatAt: new Date(now - 5 * 60_000),
      dnsRecordId: "recorded",
    };
    const server = async (id: string) =>
      (
        await fake.clouds.hetzner.createServer({
          name: id,
          serverType: "cx23",
          location: "fsn1",
          image: "ubuntu-24.04",
          userData: "",
          labels: { "managed-by": "sam", instance: "localhost-8788", workspace: id },
        })
      ).server.id;
    const alive = await newWorkspace(silent);
    const aliveServer = await server(alive.id);
    await db.update(schema.workspaces).set({ serverId: aliveServer }).where(eq(schema.workspaces.id, alive.id));
    const dead = await newWorkspace(silent);
    const deadServer = await server(dead.id);
    await db.update(schema.workspaces).set({ serverId: deadServer }).where(eq(schema.workspaces.id, dead.id));
    const gone = await newWorkspace({ ...silent, serverId: 999_999 });
    const deletes: number[] = [];
    const deleteServer = fake.clouds.hetzner.deleteServer;
    fake.clouds.hetzner.deleteServer = async (id) => {
      deletes.push(id);
      return deleteServer(id);
    };
    const probed: string[] = [];
    const probe = async (_config: unknown, id: string) => {
      probed.push(id);
      return id === alive.id;
    };

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone, now, probe });
    expect(probed.sort()).toEqual([alive.id, dead.id, gone.id].sort());
    expect(report.silentButAlive).toEqual([alive.id]);
    expect((await reload(alive.id))!.status).toBe("running");
    expect(fake.servers.has(aliveServer)).toBe(true);
    expect(report.stopped).toEqual(
      expect.arrayContaining([
        { id: dead.id, reason: "heartbeat" },
        { id: gone.id, reason: "serverGone" },
      ]),
    );
    expect((await reload(dead.id))!.status).toBe("stopped");
    expect(fake.servers.has(deadServer)).toBe(false);
    expect((await reload(gone.id))!.status).toBe("stopped");
    expect(deletes).not.toContain(999_999);
    const steps = async (id: string) =>
      (await listEvents(db, id)).map((event) => `${event.step}:${event.status}:${event.message}`);
    expect((await steps(gone.id)).join("\n")).toContain("Hetzner no longer has this workspace's server");
    expect((await steps(dead.id)).join("\n")).toContain("did not answer a health check");

    // A second sweep in the same silence adds no second note.
    await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone, now: now + 30_000, probe });
    const notes = (await steps(alive.id)).filter((step) => step.startsWith("heartbeat:info"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("answers its health check");
  });
});

describe("the sweep's call budget", () => {
  it("one run stays within a cron invocation's subrequests; the next runs go on from where it stopped", async () => {
    // A few dozen users, each with a Hetzner project holding one server whose workspace is gone.
    const projects = new Map<string, ReturnType<typeof fakeClouds>>();
    for (let i = 0; i < 30; i++) {
      const [user] = await db
        .insert(schema.users)
        .values({ githubId: Math.floor(Math.random() * 1e9), login: `budget-${i}-${crypto.randomUUID().slice(0, 6)}` })
        .returning();
      await db
        .insert(schema.credentials)
        .values({ userId: user!.id, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
      const project = fakeClouds();
      await project.clouds.hetzner.createServer({
        name: `orphan-${i}`,
        serverType: "cx23",
        location: "fsn1",
        image: "ubuntu-24.04",
        userData: "",
        labels: { "managed-by": "sam", instance: instanceLabel(config), workspace: newWorkspaceId() },
      });
      projects.set(user!.id, project);
    }
    // Every call to Hetzner or Cloudflare is a subrequest of the invocation: count them all.
    let calls = 0;
    const counted = <T extends object>(client: T): T =>
      new Proxy(client, {
        get: (target, key) => {
          const value = Reflect.get(target, key);
          return typeof value === "function"
            ? (...args: unknown[]) => {
                calls++;
                return value.apply(target, args);
              }
            : value;
        },
      });
    const factory: CloudsFactory = async (_deps, owner) => {
      const project = projects.get(owner);
      return project ? { hetzner: counted(project.clouds.hetzner), zone: counted(project.clouds.zone) } : null;
    };
    const zone = counted(fakeClouds().clouds.zone);
    const left = () => [...projects.values()].reduce((sum, project) => sum + project.servers.size, 0);

    const runs: Array<{ calls: number; deferred: string[] }> = [];
    while (left() > 0 && runs.length < 10) {
      calls = 0;
      // Earlier tests' silent workspaces are probed too: a probe is a subrequest as well.
      const probe = async () => {
        calls++;
        return true;
      };
      const report = await runSweep({ db, config }, { clouds: factory, zone, probe });
      expect(report.calls).toBe(calls);
      runs.push({ calls, deferred: report.deferred });
    }
    expect(left()).toBe(0);
    // 30 projects need 90 calls (list servers, delete, list firewalls): more than one invocation may make.
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) expect(run.calls).toBeLessThanOrEqual(SWEEP_CALL_BUDGET);
    expect(runs[0]!.deferred).toContain("orphans");
  });
});

describe("orphan volumes", () => {
  it("labelled volumes no workspace records are deleted and audited; a workspace's own, a creating one's, an attached one and another instance's stay", async () => {
    const fake = fakeClouds();
    await db
      .insert(schema.credentials)
      .values({ userId, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
    const volume = async (workspace: string, instance = "localhost-8788") =>
      (
        await fake.clouds.hetzner.createVolume({
          name: `v-${workspace}-${instance}`,
          sizeGb: 10,
          location: "fsn1",
          labels: { "managed-by": "sam", instance, workspace },
        })
      ).volume.id;
    const goneRow = await volume(newWorkspaceId());
    const stopped = await newWorkspace({ status: "stopped", startedAt: null });
    const kept = await volume(stopped.id);
    await db
      .update(schema.workspaces)
      .set({ volumeId: kept, volumeSizeGb: 10 })
      .where(eq(schema.workspaces.id, stopped.id));
    const failed = await newWorkspace({ status: "error", startedAt: null });
    const leftOver = await volume(failed.id);
    const creating = await newWorkspace({ status: "creating" });
    const inFlight = await volume(creating.id);
    const attached = await volume(newWorkspaceId());
    fake.volumes.get(attached)!.server = 12345;
    const neighbours = await volume(newWorkspaceId(), "staging.example.com");

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone });
    expect(report.orphanVolumesDeleted.sort()).toEqual([goneRow, leftOver].sort());
    expect([...fake.volumes.keys()].sort()).toEqual([kept, inFlight, attached, neighbours].sort());
    const audit = await db.query.auditLog.findMany({ where: eq(schema.auditLog.action, "orphan.volume_deleted") });
    expect(audit.map((entry) => (entry.details as { volumeId: number }).volumeId).sort()).toEqual(
      [goneRow, leftOver].sort(),
    );
  });

  it("a create past its timeout loses the volume it made, so nothing of it bills", async () => {
    const fake = fakeClouds();
    const late = await newWorkspace({ startedAt: new Date(Date.now() - 11 * 60_000) });
    await provision(deps, late, { clouds: fake.factory });
    expect(fake.volumes.size).toBe(1);
    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone });
    expect(report.provisioningTimedOut).toEqual([late.id]);
    expect(fake.servers.size + fake.firewalls.size + fake.records.size + fake.volumes.size).toBe(0);
    expect(await reload(late.id)).toMatchObject({ status: "error", volumeId: null });
  });
});
