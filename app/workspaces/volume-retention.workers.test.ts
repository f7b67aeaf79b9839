import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { defaultPolicy, savePolicy } from "../admin/policy.server";
import * as schema from "../db/schema";
import { ProviderError } from "../providers/http.server";
import { config, db, newWorkspace, reload, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import type { Clouds, CloudsFactory } from "./clouds.server";
import { runVolumeRetention } from "./volume-retention.server";
import { listEvents } from "./workspaces.server";

useFreshUser();

const DAY = 24 * 60 * 60 * 1000;
const deps = { db, config };

/** A Hetzner project holding volumes; deleteVolume is all the pass may call. */
function fakeVolumes(ids: number[]) {
  const volumes = new Set(ids);
  const calls: number[] = [];
  let failNext: ProviderError | null = null;
  const hetzner = {
    deleteVolume: async (id: number) => {
      calls.push(id);
      if (failNext) {
        const error = failNext;
        failNext = null;
        throw error;
      }
      volumes.delete(id);
    },
  };
  // Only this test's user has a project here: rows other tests left behind cannot reach it.
  const owner = userId;
  const factory: CloudsFactory = async (_deps, user) => (user === owner ? ({ hetzner } as unknown as Clouds) : null);
  return { volumes, calls, factory, failOnce: (error: ProviderError) => void (failNext = error) };
}

async function retention(changes: Partial<typeof defaultPolicy> = {}) {
  await savePolicy(deps, { ...defaultPolicy, volumeRetentionDays: 30, volumeReminderDays: 3, ...changes });
}

const volumeNotifications = (workspaceId: string) =>
  db.query.notifications.findMany({
    where: and(eq(schema.notifications.workspaceId, workspaceId), eq(schema.notifications.kind, "volume_expiring")),
  });

const auditActions = async () =>
  (await db.query.auditLog.findMany({ where: eq(schema.auditLog.userId, userId) })).map((entry) => entry.action);

/** A workspace stopped `days` ago, created the day before, with volume `volumeId`. */
const stoppedFor = (
  days: number,
  volumeId: number,
  now: number,
  values: Partial<typeof schema.workspaces.$inferInsert> = {},
) =>
  newWorkspace({
    status: "stopped",
    createdAt: new Date(now - (days + 1) * DAY),
    startedAt: new Date(now - (days + 1) * DAY),
    stoppedAt: new Date(now - days * DAY),
    volumeId,
    volumeSizeGb: 10,
    volumeMonthlyPrice: "0.5236",
    ...values,
  });

describe("volume retention", () => {
  it("reminds once, days before the deletion, and deletes the volume once the retention is over", async () => {
    await retention();
    const now = Date.now();
    const fake = fakeVolumes([11, 12, 13]);
    const fresh = await stoppedFor(5, 11, now);
    const soon = await stoppedFor(28, 12, now);
    const over = await stoppedFor(31, 13, now);

    const first = await runVolumeRetention(deps, { now, clouds: fake.factory });
    expect(first.reminded).toContain(soon.id);
    expect(first.reminded).not.toContain(fresh.id);
    expect(first.deleted).toEqual([13]);
    expect(first.errors).toEqual([]);
    expect(fake.calls).toEqual([13]);
    expect([...fake.volumes]).toEqual([11, 12]);

    const [notice, ...more] = await volumeNotifications(soon.id);
    expect(more).toEqual([]);
    expect(notice).toMatchObject({ userId, url: `/workspaces/${soon.id}` });
    expect(notice!.title).toContain(soon.name);
    expect((await reload(soon.id))!.volumeReminderAt?.getTime()).toBe(now);
    expect(await volumeNotifications(fresh.id)).toEqual([]);

    const gone = (await reload(over.id))!;
    expect(gone).toMatchObject({ status: "stopped", volumeId: null, volumeSizeGb: null, volumeMonthlyPrice: null });
    const steps = (await listEvents(db, over.id)).map((event) => `${event.step}:${event.status}`);
    expect(steps).toContain("volume:ok");
    expect(await auditActions()).toEqual(
      expect.arrayContaining(["volume.retention_reminded", "volume.retention_deleted"]),
    );

    // The next run a minute later tells nobody twice and deletes nothing again.
    const second = await runVolumeRetention(deps, { now: now + 60_000, clouds: fake.factory });
    expect(second.reminded).not.toContain(soon.id);
    expect(second.deleted).toEqual([]);
    expect(await volumeNotifications(soon.id)).toHaveLength(1);
    expect(fake.calls).toEqual([13]);
  });

  it("counts from the last run: a reminder from an earlier stop does not stand for this one", async () => {
    await retention();
    const now = Date.now();
    const fake = fakeVolumes([21]);
    // Reminded 40 days ago, then restarted and stopped again 28 days ago.
    const again = await stoppedFor(28, 21, now, { volumeReminderAt: new Date(now - 40 * DAY) });
    const report = await runVolumeRetention(deps, { now, clouds: fake.factory });
    expect(report.reminded).toContain(again.id);
    expect(report.deleted).toEqual([]);
    // A failed restart leaves its old stop behind; the retention counts from the start that failed.
    const failed = await stoppedFor(40, 22, now, { status: "error", startedAt: new Date(now - 2 * DAY) });
    expect((await runVolumeRetention(deps, { now, clouds: fake.factory })).deleted).toEqual([]);
    expect((await reload(failed.id))!.volumeId).toBe(22);
  });

  it("leaves running workspaces, those with a server still recorded, and sends no reminder when the policy says 0", async () => {
    await retention({ volumeReminderDays: 0 });
    const now = Date.now();
    const fake = fakeVolumes([31, 32, 33]);
    const running = await stoppedFor(40, 31, now, { status: "running" });
    const withServer = await stoppedFor(40, 32, now, { status: "error", serverId: 99 });
    const soon = await stoppedFor(29, 33, now);
    const report = await runVolumeRetention(deps, { now, clouds: fake.factory });
    expect(report.reminded).not.toContain(soon.id);
    expect(report.deleted).toEqual([]);
    expect(fake.calls).toEqual([]);
    for (const workspace of [running, withServer, soon]) {
      expect((await reload(workspace.id))!.volumeId).toBe(workspace.volumeId);
    }
  });

  it("keeps the volume recorded when Hetzner refuses the delete, so the next run tries again", async () => {
    await retention();
    const now = Date.now();
    const fake = fakeVolumes([41]);
    const over = await stoppedFor(31, 41, now);
    fake.failOnce(new ProviderError({ provider: "hetzner", status: 503, message: "Hetzner is down for maintenance" }));
    const failed = await runVolumeRetention(deps, { now, clouds: fake.factory });
    expect(failed.deleted).toEqual([]);
    expect(failed.errors).toEqual([expect.stringContaining(over.id)]);
    expect((await reload(over.id))!).toMatchObject({ volumeId: 41, volumeSizeGb: 10, volumeMonthlyPrice: "0.5236" });

    const retried = await runVolumeRetention(deps, { now, clouds: fake.factory });
    expect(retried.deleted).toEqual([41]);
    expect((await reload(over.id))!.volumeId).toBeNull();
  });

  it("stops at the sweep's call budget and goes on next run; an owner without a token is listed, not failed", async () => {
    await retention();
    const now = Date.now();
    const fake = fakeVolumes([51, 52]);
    await stoppedFor(35, 51, now);
    await stoppedFor(34, 52, now);
    let budget = 1;
    const deferred: string[] = [];
    const affords = (pass: string, calls: number) => {
      if (calls <= budget) {
        budget -= calls;
        return true;
      }
      deferred.push(pass);
      return false;
    };
    const first = await runVolumeRetention(deps, { now, clouds: fake.factory, affords });
    expect(first.deleted).toHaveLength(1);
    expect(deferred).toEqual(["volume retention"]);
    budget = 1;
    const second = await runVolumeRetention(deps, { now, clouds: fake.factory, affords });
    expect([...first.deleted, ...second.deleted].sort()).toEqual([51, 52]);

    const tokenless = await stoppedFor(35, 53, now);
    const noToken = await runVolumeRetention(deps, { now, clouds: async () => null });
    expect(noToken.noToken).toContain(tokenless.id);
    expect((await reload(tokenless.id))!.volumeId).toBe(53);
  });
});
