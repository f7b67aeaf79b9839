import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { chatAgentNames, chatAgents, missingCredentialMessage } from "~/chat/agents";
import { audit } from "~/platform/audit.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { rateLimit } from "~/platform/rate-limit.server";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { readCredential } from "~/settings/credentials.server";

const bodySchema = z.object({ agent: z.enum(chatAgentNames) });
const noStore = { "Cache-Control": "no-store" };

/**
 * The owner's model credential for a coding agent, for the VM agent's loopback model proxy, which asks for
 * it just in time (when a chat's turn calls the model) and keeps it only in memory. Only the running
 * workspace's current run may ask; every answer is audited with the kind and never the secret.
 */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  await rateLimit(context, "agent-secrets", workspace.id);
  const { agent } = await readJsonBody(request, bodySchema);
  if (workspace.status !== "running") {
    return Response.json(
      { error: `The workspace is ${workspace.status}: model credentials are given only while it runs.` },
      { status: 409, headers: noStore },
    );
  }
  for (const kind of chatAgents[agent].credentials) {
    const secret = await readCredential(context, workspace.userId, kind);
    if (!secret) continue;
    await audit(context, request, {
      userId: workspace.userId,
      action: "credential.delivered",
      details: { workspaceId: workspace.id, agent, kind },
    });
    return Response.json({ agent, kind, secret }, { headers: noStore });
  }
  return Response.json(
    { error: missingCredentialMessage(agent), code: "missing_credential" },
    { status: 404, headers: noStore },
  );
}

export const loader = () => methodNotAllowed("POST");
