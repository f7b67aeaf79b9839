import { describe, expect, it } from "vitest";
import * as schema from "../db/schema";
import { runSweep } from "./sweep.server";
import { HEARTBEAT_INTERVAL_MS, type Heartbeat, listEvents, recordHeartbeat, stopReasons } from "./workspaces.server";
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

const MINUTE = 60_000;
const SWEEP_INTERVAL_MS = 5 * MINUTE;

/**
 * A coding agent's turn that runs 40 minutes without a keystroke or a byte of terminal output, on a workspace
 * whose idle timeout is 15 minutes, followed through simulated time as production runs it: the agent's
 * heartbeat every 30 s and the sweep every 5 minutes, each told the time.
 */
describe("a long chat turn and the idle timeout", () => {
  it("is not stopped as idle while the turn runs; once it ends, the idle timeout counts from the turn's end", async () => {
    const fake = fakeClouds();
    await db
      .insert(schema.credentials)
      .values({ userId, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
    const start = Date.now();
    const idleTimeoutSeconds = 15 * 60;
    const workspace = await newWorkspace({
      status: "running",
      startedAt: new Date(start - MINUTE),
      lastActivityAt: new Date(start - MINUTE),
      lastHeartbeatAt: new Date(start - MINUTE),
      idleTimeoutSeconds,
      // Fully provisioned, or the sweep would judge it as provisioning cut off.
      dnsRecordId: "recorded",
    });
    const turnEnds = start + 40 * MINUTE;
    // What the agent reports: no terminal I/O at all, only whether a chat turn is in flight. (The agent also
    // sends agent_running with the same value; it is left false here so the turn's own field is what counts.)
    const heartbeat = (turnInFlight: boolean): Heartbeat => ({
      last_input_at: null,
      last_output_at: null,
      attached_clients: 0,
      sessions: 0,
      agent_running: false,
      agent_turn_in_flight: turnInFlight,
    });

    let lastTurnHeartbeat = 0;
    let stopped: { at: number; by: "heartbeat" | "sweep"; reason: string } | null = null;
    for (let now = start; now <= turnEnds + 30 * MINUTE && !stopped; now += HEARTBEAT_INTERVAL_MS) {
      const turnInFlight = now < turnEnds;
      if (turnInFlight) lastTurnHeartbeat = now;
      if ((now - start) % SWEEP_INTERVAL_MS === 0) {
        const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone, now });
        const mine = report.stopped.find((entry) => entry.id === workspace.id);
        if (mine) stopped = { at: now, by: "sweep", reason: mine.reason };
        if (stopped) break;
      }
      const current = (await reload(workspace.id))!;
      const decision = await recordHeartbeat(deps, current, heartbeat(turnInFlight), now);
      if (decision.action === "stop") stopped = { at: now, by: "heartbeat", reason: "idle" };
      // While the turn runs, nothing stops it, however long since the last terminal I/O.
      if (turnInFlight) expect(stopped, `stopped ${(now - start) / MINUTE} min into the turn`).toBeNull();
    }

    expect(stopped).not.toBeNull();
    // Idle for the timeout counted from the turn's last heartbeat, not from the last terminal I/O (40 min
    // earlier) nor from a moment the turn still ran.
    const idleFor = stopped!.at - lastTurnHeartbeat;
    expect(idleFor).toBeGreaterThanOrEqual(idleTimeoutSeconds * 1000);
    expect(idleFor).toBeLessThanOrEqual(idleTimeoutSeconds * 1000 + 2 * HEARTBEAT_INTERVAL_MS);
    expect(stopped!.reason).toBe("idle");
    expect((await reload(workspace.id))!.status).not.toBe("running");
    const events = await listEvents(db, workspace.id);
    expect(events).toContainEqual(expect.objectContaining({ step: "stop", message: stopReasons.idle }));
  });
});
