import { describe, expect, it } from "vitest";
import { idleDecision, isWorkspaceId, newWorkspaceId, stopsAt, type IdleInput } from "./workspaces.server";

type IdleInputWithoutNow = Omit<IdleInput, "now">;
const minute = 60_000;
const start = new Date("2026-01-01T10:00:00Z");
const at = (minutes: number) => start.getTime() + minutes * minute;
const base: IdleInputWithoutNow = {
  startedAt: start,
  lastActivityAt: null,
  idleTimeoutSeconds: 30 * 60,
  maxLifetimeSeconds: 12 * 3600,
  agentRunning: false,
};

describe("idle decision", () => {
  const cases: Array<[string, Partial<IdleInputWithoutNow> & { now: number }, string]> = [
    ["fresh workspace, no activity yet", { now: at(10) }, "continue"],
    ["no activity since start for the idle timeout", { now: at(30) }, "stop:idle"],
    ["recent input or output", { now: at(45), lastActivityAt: new Date(at(20)) }, "continue"],
    ["activity longer ago than the timeout", { now: at(51), lastActivityAt: new Date(at(20)) }, "stop:idle"],
    ["idle, but an agent CLI is working", { now: at(120), agentRunning: true }, "continue"],
    [
      "past the maximum lifetime, even while busy",
      { now: at(12 * 60), agentRunning: true, lastActivityAt: new Date(at(12 * 60 - 1)) },
      "stop:lifetime",
    ],
    ["short idle timeout", { now: at(2), idleTimeoutSeconds: 60 }, "stop:idle"],
    ["not started", { now: at(100), startedAt: null }, "continue"],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const decision = idleDecision({ ...base, ...input });
      expect(decision.action === "stop" ? `stop:${decision.reason}` : "continue").toBe(expected);
    });
  }

  it("tells the page when the next automatic stop is due", () => {
    const workspace = {
      status: "running" as const,
      startedAt: start,
      lastActivityAt: new Date(at(5)),
      idleTimeoutSeconds: 1800,
      maxLifetimeSeconds: 43200,
    };
    expect(stopsAt(workspace)).toEqual({ at: at(35), reason: "idle" });
    expect(stopsAt({ ...workspace, maxLifetimeSeconds: 600 })).toEqual({ at: at(10), reason: "lifetime" });
    expect(stopsAt({ ...workspace, status: "stopped" })).toBeNull();
  });
});

describe("workspace ids", () => {
  it("are 12 lowercase base32 characters, safe in a DNS label", () => {
    const ids = new Set(Array.from({ length: 200 }, newWorkspaceId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(isWorkspaceId(id)).toBe(true);
    expect(isWorkspaceId("../etc")).toBe(false);
    expect(isWorkspaceId("ABCDEFGH2345")).toBe(false);
  });
});
