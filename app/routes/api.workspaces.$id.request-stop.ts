import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { audit } from "~/platform/audit.server";
import { finishStop } from "~/workspaces/teardown.server";
import { claimStop, stopReasons } from "~/workspaces/workspaces.server";

/** The agent asks to be stopped; the control plane deletes its server after answering. */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  await readJsonBody(request, z.object({}).loose());
  const claimed = await claimStop(context, { id: workspace.id }, stopReasons.agent);
  if (claimed) {
    await audit(context, null, {
      userId: claimed.userId,
      action: "workspace.stopped",
      details: { workspaceId: claimed.id, reason: "agent" },
    });
    context.cloudflare.ctx.waitUntil(finishStop(context, claimed));
  }
  return new Response(null, { status: 202 });
}

export const loader = () => methodNotAllowed("POST");
