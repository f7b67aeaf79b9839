import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "../db/schema";
import { HEARTBEAT_INTERVAL_MS, type Heartbeat, recordHeartbeat } from "./workspaces.server";
import { db, deps, newWorkspace, reload, useFreshUser } from "../../tests/support/workspaces.workers";

useFreshUser();

const MINUTE = 60_000;

const quiet = (input: number | null = null): Heartbeat => ({
  last_input_at: input === null ? null : new Date(input).toISOString(),
  last_output_at: null,
  attached_clients: 0,
  sessions: 1,
  agent_running: false,
  agent_turn_in_flight: false,
});

describe("the idle stop's warning", () => {
  it("tells the owner once per quiet spell, 5 minutes before the stop, and again after new activity", async () => {
    const start = Date.now();
    const workspace = await newWorkspace({
      status: "running",
      startedAt: new Date(start - 20 * MINUTE),
      lastActivityAt: new Date(start - 9 * MINUTE),
      idleTimeoutSeconds: 15 * 60,
    });
    const warnings = () =>
      db.query.notifications.findMany({
        where: and(eq(schema.notifications.workspaceId, workspace.id), eq(schema.notifications.kind, "idle_stop_soon")),
      });

    // 6 minutes left: not yet.
    expect((await recordHeartbeat(deps, (await reload(workspace.id))!, quiet(), start)).action).toBe("continue");
    expect(await warnings()).toHaveLength(0);
    // 4 minutes left: told, and not again on the next heartbeats.
    for (let now = start + 2 * MINUTE; now <= start + 3 * MINUTE; now += HEARTBEAT_INTERVAL_MS)
      expect((await recordHeartbeat(deps, (await reload(workspace.id))!, quiet(), now)).action).toBe("continue");
    const told = await warnings();
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({
      title: expect.stringMatching(/stops in 4 minutes$/),
      url: `/workspaces/${workspace.id}`,
    });

    // Someone types; the next quiet spell ends in another warning.
    const typed = start + 4 * MINUTE;
    await recordHeartbeat(deps, (await reload(workspace.id))!, quiet(typed), typed);
    expect(await warnings()).toHaveLength(1);
    await recordHeartbeat(deps, (await reload(workspace.id))!, quiet(), typed + 11 * MINUTE);
    expect(await warnings()).toHaveLength(2);
  });
});
