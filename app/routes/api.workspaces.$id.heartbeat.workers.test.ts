import { describe, expect, it } from "vitest";
import { issueCallbackToken } from "~/security/agent-auth.server";
import { callAgentRoute, config, newWorkspace, reload, useFreshUser } from "../../tests/support/workspaces.workers";
import { action as heartbeatAction } from "./api.workspaces.$id.heartbeat";

useFreshUser();

describe("POST /api/workspaces/:id/heartbeat", () => {
  it("a heartbeat refreshes the token; an idle workspace is told to stop", async () => {
    const workspace = await newWorkspace({
      status: "running",
      startedAt: new Date(Date.now() - 3600_000),
      idleTimeoutSeconds: 900,
    });
    const idle = {
      last_input_at: null,
      last_output_at: new Date(Date.now() - 20 * 60_000).toISOString(),
      attached_clients: 0,
      sessions: 1,
      agent_running: false,
    };
    const { response } = await callAgentRoute(heartbeatAction, workspace, idle);
    const body = (await response.json()) as { action: string; callback_token: string };
    expect(body.action).toBe("stop");
    expect(body.callback_token).toMatch(/^ey/);
    expect((await reload(workspace.id))!.status).toBe("stopping");
  });

  it("a busy workspace goes on; a malformed body is a 400 naming the field; a wrong token is a 401", async () => {
    const workspace = await newWorkspace({
      status: "running",
      startedAt: new Date(Date.now() - 3600_000),
      idleTimeoutSeconds: 900,
    });
    const busy = {
      last_input_at: new Date().toISOString(),
      last_output_at: null,
      attached_clients: 1,
      sessions: 1,
      agent_running: false,
    };
    expect(await (await callAgentRoute(heartbeatAction, workspace, busy)).response.json()).toMatchObject({
      action: "continue",
    });
    const bad = await callAgentRoute(heartbeatAction, workspace, { ...busy, sessions: "many" }).catch(
      (error: Response) => ({ response: error }),
    );
    expect(bad.response.status).toBe(400);
    expect(await bad.response.text()).toContain("sessions");
    const other = await newWorkspace();
    const wrong = await callAgentRoute(
      heartbeatAction,
      workspace,
      busy,
      (await issueCallbackToken(config, other.id)).callback_token,
    ).catch((error: Response) => ({ response: error }));
    expect(wrong.response.status).toBe(401);
  });
});
