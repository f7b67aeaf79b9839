import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { issueCallbackToken } from "../security/agent-auth.server";
import { action as heartbeatAction } from "../routes/api.workspaces.$id.heartbeat";
import {
  callAgentRoute,
  config,
  db,
  newWorkspace,
  reload,
  useFreshUser,
  userId,
} from "../../tests/support/workspaces.workers";
import { endAccess, endSession, sessionHash } from "./access.server";
import { listEvents } from "./workspaces.server";

useFreshUser();

const beat = {
  last_input_at: new Date().toISOString(),
  last_output_at: null,
  attached_clients: 1,
  sessions: 1,
  agent_running: false,
};

describe("ending access", () => {
  it("endAccess stops the user's live workspaces and their callback tokens stop working at once", async () => {
    const running = await newWorkspace({ status: "running", serverId: 5 });
    const stopping = await newWorkspace({ status: "stopping", serverId: 6 });
    const stopped = await newWorkspace({ status: "stopped", startedAt: null });
    const tokens = await Promise.all([running, stopping].map(async (w) => (await issueCallbackToken(config, w))!));
    const waits: Promise<unknown>[] = [];
    const context = { db, config, cloudflare: { env, ctx: { waitUntil: (p: Promise<unknown>) => waits.push(p) } } };

    const ended = await endAccess(context as never, userId, Date.now() + 1000);
    expect(ended.map((workspace) => workspace.id)).toEqual([running.id]);
    // Stopping, and on to its teardown (which, with no Hetzner token in this test, ends in error).
    expect(["stopping", "error"]).toContain((await reload(running.id))!.status);
    expect((await reload(stopped.id))!.status).toBe("stopped");
    expect((await listEvents(db, running.id)).map((event) => event.message)).toContainEqual(
      expect.stringContaining("access to this instance ended"),
    );
    for (const [index, workspace] of [running, stopping].entries()) {
      const refused = await callAgentRoute(
        heartbeatAction,
        (await reload(workspace.id))!,
        beat,
        tokens[index]!.callback_token,
      )
        .then(({ response }) => response)
        .catch((error: Response) => error);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: "revoked", error: expect.stringMatching(/ended/) });
    }
    await Promise.allSettled(waits);
  });

  it("a signed-out browser session is listed, as a hash, in the owner's heartbeat answers", async () => {
    const mine = await newWorkspace({ status: "running", serverId: 7 });
    await endSession(db, userId, "session-id-1");
    const { response } = await callAgentRoute(heartbeatAction, mine, beat);
    const body = (await response.json()) as { ended_sessions: string[] };
    expect(body.ended_sessions).toEqual([await sessionHash("session-id-1")]);
    expect(body.ended_sessions[0]).not.toContain("session-id-1");
  });
});
