import { describe, expect, it } from "vitest";
import { callAgentRoute, db, newWorkspace, useFreshUser } from "../../tests/support/workspaces.workers";
import { listEvents } from "~/workspaces/workspaces.server";
import { action } from "./api.workspaces.$id.boot-log";

useFreshUser();

describe("POST /api/workspaces/:id/boot-log", () => {
  it("records a step's start, its output as it runs, and its end on the timeline", async () => {
    const workspace = await newWorkspace({ status: "running", startedAt: new Date(Date.now() - 60_000) });
    const output = `setup-demo: greeting is hi\n${"x".repeat(4096)}`;
    for (const body of [
      { step: "setup", status: "started", message: "running .sam/setup.sh as sam" },
      { step: "setup", status: "info", message: output },
      { step: "setup", status: "ok", message: ".sam/setup.sh finished (exit code 0)" },
    ])
      expect((await callAgentRoute(action, workspace, body)).response.status).toBe(204);
    const events = (await listEvents(db, workspace.id)).filter((event) => event.step === "agent.setup");
    expect(events.map((event) => [event.status, event.message])).toEqual([
      ["started", "running .sam/setup.sh as sam"],
      ["info", output],
      ["ok", ".sam/setup.sh finished (exit code 0)"],
    ]);
  });

  it("says what is wrong with a step it cannot record", async () => {
    const workspace = await newWorkspace({ status: "running", startedAt: new Date(Date.now() - 60_000) });
    const refused = await callAgentRoute(action, workspace, { step: "Setup!", status: "done" }).then(
      ({ response }) => response,
      (thrown: Response) => thrown,
    );
    expect(refused.status).toBe(400);
  });
});
