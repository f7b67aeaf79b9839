import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "../db/schema";
import { provision } from "./provision.server";
import { finishStop } from "./teardown.server";
import { claimDelete, claimRestart, claimStop, keepAlive } from "./workspaces.server";
import {
  db,
  deps,
  fakeClouds,
  newWorkspace,
  reload,
  useFreshUser,
  userId,
} from "../../tests/support/workspaces.workers";

useFreshUser();

describe("state transitions", () => {
  it("a double stop acts once; stop deletes the cloud side, keeps the row and adds the billed time", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 3600_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));

    const [first, second] = await Promise.all([
      claimStop(deps, { id: workspace.id, userId }, "Stopped by you"),
      claimStop(deps, { id: workspace.id, userId }, "Stopped by you"),
    ]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    await finishStop(deps, (first ?? second)!, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(row).toMatchObject({ status: "stopped", serverId: null, startedAt: null });
    expect(row!.billedSeconds).toBeGreaterThanOrEqual(3599);
    expect(fake.servers.size + fake.firewalls.size + fake.records.size).toBe(0);
    expect(await claimStop(deps, { id: workspace.id, userId }, "again")).toBeNull();
  });

  it("keep-alive counts as activity now, only for the owner and only while running", async () => {
    const workspace = await newWorkspace({ status: "running", lastActivityAt: new Date(Date.now() - 20 * 60_000) });
    expect(await keepAlive(db, { id: workspace.id, userId: "someone-else" })).toBe(false);
    expect(await keepAlive(db, { id: workspace.id, userId })).toBe(true);
    expect(Date.now() - (await reload(workspace.id))!.lastActivityAt!.getTime()).toBeLessThan(5_000);
    const stopped = await newWorkspace({ status: "stopped" });
    expect(await keepAlive(db, { id: stopped.id, userId })).toBe(false);
  });

  it("another user's id matches nothing", async () => {
    const workspace = await newWorkspace({ status: "running" });
    expect(await claimStop(deps, { id: workspace.id, userId: "someone-else" }, "x")).toBeNull();
    expect(await claimDelete(deps, { id: workspace.id, userId: "someone-else" })).toBeNull();
    expect((await reload(workspace.id))!.status).toBe("running");
  });

  it("restart only from stopped or error, once; delete removes the row", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ status: "stopped", startedAt: null });
    const [a, b] = await Promise.all([
      claimRestart(deps, { id: workspace.id, userId }),
      claimRestart(deps, { id: workspace.id, userId }),
    ]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await claimRestart(deps, { id: workspace.id, userId })).toBeNull();
    await provision(deps, (a ?? b)!, { clouds: fake.factory });
    const claimed = await claimDelete(deps, { id: workspace.id, userId });
    await finishStop(deps, claimed!, { remove: true, clouds: fake.factory });
    expect(await reload(workspace.id)).toBeNull();
    expect(fake.servers.size + fake.records.size).toBe(0);
  });
});
