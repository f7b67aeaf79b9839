import { describe, expect, it } from "vitest";
import { callAgentRoute, newWorkspace, reload, useFreshUser } from "../../tests/support/workspaces.workers";
import { action as readyAction } from "./api.workspaces.$id.ready";

useFreshUser();

describe("POST /api/workspaces/:id/ready", () => {
  it("ready moves creating → running once", async () => {
    const workspace = await newWorkspace();
    expect((await callAgentRoute(readyAction, workspace, {})).response.status).toBe(200);
    expect((await reload(workspace.id))!.status).toBe("running");
    expect((await callAgentRoute(readyAction, (await reload(workspace.id))!, {})).response.status).toBe(200);
  });
});
