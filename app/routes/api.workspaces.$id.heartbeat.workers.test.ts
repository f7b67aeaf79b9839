import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "~/db/schema";
import { issueCallbackToken } from "~/security/agent-auth.server";
import { callAgentRoute, config, db, newWorkspace, reload, useFreshUser } from "../../tests/support/workspaces.workers";
import { action as gitTokenAction } from "./api.workspaces.$id.git-token";
import { action as heartbeatAction } from "./api.workspaces.$id.heartbeat";
import { action as requestStopAction } from "./api.workspaces.$id.request-stop";

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
      (await issueCallbackToken(config, other))!.callback_token,
    ).catch((error: Response) => ({ response: error }));
    expect(wrong.response.status).toBe(401);
  });
});

describe("a chat turn in flight is activity", () => {
  it("a 40-minute turn with no terminal I/O keeps the workspace running; once it ends, idleness counts again", async () => {
    const workspace = await newWorkspace({
      status: "running",
      startedAt: new Date(Date.now() - 3600_000),
      lastActivityAt: new Date(Date.now() - 40 * 60_000),
      idleTimeoutSeconds: 900,
    });
    const quiet = {
      last_input_at: new Date(Date.now() - 40 * 60_000).toISOString(),
      last_output_at: null,
      attached_clients: 0,
      sessions: 0,
      agent_running: false,
    };
    const during = await callAgentRoute(heartbeatAction, workspace, { ...quiet, agent_turn_in_flight: true });
    expect(await during.response.json()).toMatchObject({ action: "continue" });
    const after = (await reload(workspace.id))!;
    expect(after.status).toBe("running");
    expect(after.lastActivityAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);

    const later = await newWorkspace({
      status: "running",
      startedAt: new Date(Date.now() - 3600_000),
      lastActivityAt: new Date(Date.now() - 40 * 60_000),
      idleTimeoutSeconds: 900,
    });
    const ended = await callAgentRoute(heartbeatAction, later, { ...quiet, agent_turn_in_flight: false });
    expect(await ended.response.json()).toMatchObject({ action: "stop" });
  });
});

describe("callback tokens are bound to their run", () => {
  const busy = {
    last_input_at: new Date().toISOString(),
    last_output_at: null,
    attached_clients: 1,
    sessions: 1,
    agent_running: false,
  };
  const refused = (call: Promise<{ response: Response }>) =>
    call.then(
      ({ response }) => response,
      (error: Response) => error,
    );

  it("after stop and restart, the old run's token gets 401 on heartbeat, git-token and request-stop", async () => {
    const firstRun = await newWorkspace({ status: "running", serverId: 7, startedAt: new Date(Date.now() - 60_000) });
    const oldToken = (await issueCallbackToken(config, firstRun))!.callback_token;
    // The owner stopped it and started it again: a new run on a new server.
    await db
      .update(schema.workspaces)
      .set({ status: "running", startedAt: new Date(), serverId: 8 })
      .where(eq(schema.workspaces.id, firstRun.id));
    const secondRun = (await reload(firstRun.id))!;
    for (const handler of [heartbeatAction, gitTokenAction, requestStopAction]) {
      const response = await refused(callAgentRoute(handler, secondRun, busy, oldToken));
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: "revoked", error: expect.stringContaining("earlier run") });
    }
    expect((await reload(firstRun.id))!.status).toBe("running");
    // The new run's own token works.
    const { response } = await callAgentRoute(heartbeatAction, secondRun, busy);
    expect(await response.json()).toMatchObject({ action: "continue", callback_token: expect.stringMatching(/^ey/) });
  });

  it("a stopped workspace gets no fresh token; a stopping one still may flush (told to stop, with a token)", async () => {
    const workspace = await newWorkspace({ status: "running", serverId: 9 });
    const token = (await issueCallbackToken(config, workspace))!.callback_token;
    await db.update(schema.workspaces).set({ status: "stopping" }).where(eq(schema.workspaces.id, workspace.id));
    const stopping = await callAgentRoute(heartbeatAction, (await reload(workspace.id))!, busy, token);
    expect(await stopping.response.json()).toMatchObject({
      action: "stop",
      callback_token: expect.stringMatching(/^ey/),
    });
    await db.update(schema.workspaces).set({ status: "stopped" }).where(eq(schema.workspaces.id, workspace.id));
    const stopped = await refused(callAgentRoute(heartbeatAction, (await reload(workspace.id))!, busy, token));
    expect(stopped.status).toBe(401);
    expect(await stopped.text()).not.toContain("callback_token");
  });
});

describe("unsaved work", () => {
  const beat = {
    last_input_at: new Date().toISOString(),
    last_output_at: null,
    attached_clients: 1,
    sessions: 1,
    agent_running: false,
  };

  it("is kept from each heartbeat, the last one while stopping too; null clears it; an older agent's silence changes nothing", async () => {
    const workspace = await newWorkspace({ status: "running", serverId: 11, startedAt: new Date(Date.now() - 60_000) });
    const token = (await issueCallbackToken(config, workspace))!.callback_token;
    await callAgentRoute(heartbeatAction, workspace, { ...beat, unsaved_work: { uncommitted: 3, unpushed: 1 } }, token);
    expect((await reload(workspace.id))!.unsavedWork).toEqual({ uncommitted: 3, unpushed: 1 });
    await callAgentRoute(heartbeatAction, workspace, beat, token);
    expect((await reload(workspace.id))!.unsavedWork).toEqual({ uncommitted: 3, unpushed: 1 });

    // Its server is shutting down: the agent's last word is what the stopped workspace's page shows.
    await db.update(schema.workspaces).set({ status: "stopping" }).where(eq(schema.workspaces.id, workspace.id));
    const last = await callAgentRoute(
      heartbeatAction,
      (await reload(workspace.id))!,
      { ...beat, unsaved_work: { uncommitted: 4, unpushed: 0 } },
      token,
    );
    expect(await last.response.json()).toMatchObject({ action: "stop" });
    expect((await reload(workspace.id))!.unsavedWork).toEqual({ uncommitted: 4, unpushed: 0 });

    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));
    await callAgentRoute(heartbeatAction, (await reload(workspace.id))!, { ...beat, unsaved_work: null }, token);
    expect((await reload(workspace.id))!.unsavedWork).toBeNull();
  });

  it("a malformed count is a 400 naming the field", async () => {
    const workspace = await newWorkspace({ status: "running", startedAt: new Date(Date.now() - 60_000) });
    for (const unsaved_work of [
      { uncommitted: -1, unpushed: 0 },
      { uncommitted: 1 },
      { uncommitted: 1, unpushed: 0, x: 1 },
    ]) {
      const bad = await callAgentRoute(heartbeatAction, workspace, { ...beat, unsaved_work }).catch(
        (error: Response) => ({ response: error }),
      );
      expect(bad.response.status).toBe(400);
      expect(await bad.response.text()).toContain("unsaved_work");
    }
    expect((await reload(workspace.id))!.unsavedWork).toBeNull();
  });
});
