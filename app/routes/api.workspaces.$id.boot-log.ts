import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { recordEvent } from "~/workspaces/workspaces.server";

const bodySchema = z.object({
  step: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be a short lowercase step name"),
  // "info": a step's output as it runs (the setup script's, in batches).
  status: z.enum(["started", "ok", "error", "info"]),
  message: z.string().max(8192).optional(),
});

/** A boot step the agent reports; it shows on the workspace's timeline. */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  const body = await readJsonBody(request, bodySchema);
  if (workspace.status === "creating" || workspace.status === "running") {
    await recordEvent(context.db, workspace.id, `agent.${body.step}`, body.status, body.message);
  }
  return new Response(null, { status: 204 });
}

export const loader = () => methodNotAllowed("POST");
