import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "~/db/schema";
import {
  db,
  deps,
  fakeClouds,
  newWorkspace,
  reload,
  useFreshUser,
  userId,
} from "../../tests/support/workspaces.workers";
import { runTaskCostCaps, taskSpendCents } from "./cost-cap.server";
import { newTask } from "./fakes.workers";

useFreshUser();

const HOUR = 3600_000;
const noWait = { timeoutMs: 0, firstPollMs: 0 };

/** A running task workspace with a server and a volume in the fake cloud, started `hoursAgo` before `now`. */
async function runningTask(cloud: ReturnType<typeof fakeClouds>, capCents: number | null, now: number) {
  const volume = await cloud.clouds.hetzner.createVolume({
    name: `sam-${crypto.randomUUID()}`,
    sizeGb: 10,
    location: "fsn1",
    labels: {},
  } as never);
  const created = await cloud.clouds.hetzner.createServer({
    name: "ws",
    serverType: "cx23",
    location: "fsn1",
    labels: {},
    volumes: [volume.volume.id],
  } as never);
  const workspace = await newWorkspace({
    status: "running",
    startedAt: new Date(now - 10 * HOUR),
    hourlyPrice: "0.0060",
    serverId: created.server.id,
    volumeId: volume.volume.id,
    volumeMonthlyPrice: "3.6000",
  });
  const task = await newTask({ workspaceId: workspace.id, status: "working", costCapCents: capCents });
  await db
    .update(schema.tasks)
    .set({ createdAt: new Date(now - 10 * HOUR) })
    .where(eq(schema.tasks.id, task.id));
  return { workspace, task };
}

describe("task cost caps", () => {
  it("counts server hours and the volume's prorated month", () => {
    const now = Date.now();
    const spent = taskSpendCents(
      { createdAt: new Date(now - 10 * HOUR) },
      {
        hourlyPrice: "0.0060",
        billedSeconds: 3600,
        startedAt: new Date(now - 10 * HOUR),
        status: "running",
        volumeId: 1,
        volumeMonthlyPrice: "3.6000",
      },
      now,
    );
    // 11 h × €0.006 = 6.6 ¢; €3.60 × 10 h / 720 h = 5 ¢.
    expect(spent).toBeCloseTo(11.6, 1);
  });

  it("the next sweep pass stops a task past its cap: failed with the reason, branch kept, nothing left billing", async () => {
    const cloud = fakeClouds();
    const now = Date.now();
    const over = await runningTask(cloud, 10, now);
    const under = await runningTask(cloud, 50, now);
    const uncapped = await runningTask(cloud, null, now);

    // A sweep whose call budget is spent leaves it for the next one.
    const deferred = await runTaskCostCaps(deps, {
      now,
      clouds: cloud.factory,
      shutdown: noWait,
      affords: () => false,
    });
    expect(deferred.stopped).toEqual([]);
    expect((await reload(over.workspace.id))?.status).toBe("running");

    const report = await runTaskCostCaps(deps, { now, clouds: cloud.factory, shutdown: noWait });
    expect(report.stopped.map((entry) => entry.taskId)).toEqual([over.task.id]);
    expect(report.errors).toEqual([]);

    const task = await db.query.tasks.findFirst({ where: eq(schema.tasks.id, over.task.id) });
    expect(task?.status).toBe("failed");
    expect(task?.error).toMatch(/^Stopped at its cost cap of €0\.10: /);
    expect(task?.error).toContain(`The branch ${over.task.branch} is kept.`);
    expect((await reload(over.workspace.id))?.status).toBe("stopped");
    expect(cloud.servers.has(over.workspace.serverId!)).toBe(false);
    // The volume (the work) stays, detached: it is the branch's local copy, and stopped workspaces keep theirs.
    expect(cloud.volumes.get(over.workspace.volumeId!)?.server).toBeNull();
    expect((await reload(under.workspace.id))?.status).toBe("running");
    expect((await reload(uncapped.workspace.id))?.status).toBe("running");

    const notified = await db.query.notifications.findMany({
      where: and(eq(schema.notifications.userId, userId), eq(schema.notifications.kind, "task_failed")),
    });
    expect(notified).toHaveLength(1);
    const audited = await db.query.auditLog.findMany({
      where: and(eq(schema.auditLog.userId, userId), eq(schema.auditLog.action, "task.cost_cap_stopped")),
    });
    expect(audited).toHaveLength(1);

    // A second pass finds nothing more to do.
    expect((await runTaskCostCaps(deps, { now, clouds: cloud.factory, shutdown: noWait })).stopped).toEqual([]);
  });
});
