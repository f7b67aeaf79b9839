import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { readJsonBody, requireAgentWorkspace } from "~/agent-auth.server";
import { methodNotAllowed } from "~/responses.server";
import { audit } from "~/audit.server";
import { finishStop } from "~/workspace-clouds.server";
import { claimStop, stopReasons } from "~/workspaces.server";

/** The agent asks to be stopped; the control plane deletes its server after answering. */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  await readJsonBody(request, z.object({}).loose());
  const claimed = await claimStop(context, { id: workspace.id }, stopReasons.agent);
  if (claimed) {
    await audit(context, null, { userId: claimed.userId, action: "workspace.stopped", details: { workspaceId: claimed.id, reason: "agent" } });
    context.cloudflare.ctx.waitUntil(finishStop(context, claimed));
  }
  return new Response(null, { status: 202 });
}

export const loader = () => methodNotAllowed("POST");
