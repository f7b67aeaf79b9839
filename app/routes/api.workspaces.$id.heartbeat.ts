import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { issueCallbackToken, readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { finishStop } from "~/workspaces/teardown.server";
import { recentlyEndedSessions } from "~/workspaces/access.server";
import { recordHeartbeat } from "~/workspaces/workspaces.server";

const timestamp = z.iso.datetime({ offset: true }).nullable();
const bodySchema = z.object({
  last_input_at: timestamp,
  last_output_at: timestamp,
  attached_clients: z.number().int().min(0),
  sessions: z.number().int().min(0),
  agent_running: z.boolean(),
  /** A chat's prompt turn is in flight on the VM: activity even when no terminal has I/O for a long time. */
  agent_turn_in_flight: z.boolean().default(false),
  /**
   * Work in the repository that only this workspace's volume holds: changed or untracked files and commits on
   * no remote branch; null when there is no repository to look at (older agents do not send it).
   */
  unsaved_work: z
    .object({ uncommitted: z.number().int().min(0).max(1_000_000), unpushed: z.number().int().min(0).max(1_000_000) })
    .strict()
    .nullable()
    .optional(),
});

/**
 * Every ~30 s: the agent reports activity, the control plane decides whether the workspace goes on, and
 * hands out a fresh callback token for the same run (none once the run's chain has reached its maximum
 * lifetime; requireAgentWorkspace has already refused another run's token or a stopped workspace). A
 * `stop` is acted on here too: the server is deleted after the answer (its volume kept). The agent's count of
 * unsaved work is kept, also from its last heartbeat while the workspace stops. The answer also lists the browser
 * sessions of the owner that signed out recently, whose terminal tokens the agent then refuses.
 */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  const heartbeat = await readJsonBody(request, bodySchema);
  const { action, claimed } = await recordHeartbeat(context, workspace, heartbeat);
  if (claimed) context.cloudflare.ctx.waitUntil(finishStop(context, claimed));
  const renewed = await issueCallbackToken(context.config, workspace);
  const endedSessions = await recentlyEndedSessions(context.db, workspace.userId);
  return Response.json({ action, ...renewed, ended_sessions: endedSessions });
}

export const loader = () => methodNotAllowed("POST");
