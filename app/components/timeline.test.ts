import { describe, expect, it } from "vitest";
import { formatDuration, timelineRows, type TimelineEvent } from "./timeline";

let nextId = 1;
const event = (step: string, status: TimelineEvent["status"], at: number, message: string | null = null) => ({
  id: nextId++,
  step,
  status,
  message,
  at,
});

describe("timelineRows", () => {
  it("shows a step that started and finished as one row with its duration and both messages", () => {
    const rows = timelineRows([
      event("firewall", "started", 1000, "Creating a firewall"),
      event("firewall", "ok", 3500, "Firewall 20001 created"),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ step: "firewall", status: "ok", startedAt: 1000, durationMs: 2500 });
    expect(rows[0]!.events.map((e) => e.message)).toEqual(["Creating a firewall", "Firewall 20001 created"]);
  });

  it("keeps a running step open, folds notes into it, and ends it with an error", () => {
    const running = timelineRows([event("dns", "started", 0), event("dns", "info", 100, "retrying")]);
    expect(running).toHaveLength(1);
    expect(running[0]).toMatchObject({ status: "started", durationMs: null });
    const failed = timelineRows([event("dns", "started", 0), event("dns", "error", 400, "Cloudflare said no")]);
    expect(failed[0]).toMatchObject({ status: "error", durationMs: 400 });
  });

  it("gives a step that runs again (a restart) a row of its own, and leaves lone events alone", () => {
    const rows = timelineRows([
      event("create", "info", 0),
      event("server", "started", 10),
      event("server", "ok", 20),
      event("stop", "ok", 30),
      event("server", "started", 40),
      event("server", "ok", 70),
    ]);
    expect(rows.map((row) => [row.step, row.status, row.durationMs])).toEqual([
      ["create", "info", null],
      ["server", "ok", 10],
      ["stop", "ok", null],
      ["server", "ok", 30],
    ]);
  });
});

describe("formatDuration", () => {
  it("reads as a person would say it", () => {
    expect(formatDuration(420)).toBe("0.4 s");
    expect(formatDuration(12_300)).toBe("12 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(120_000)).toBe("2 min");
  });
});
