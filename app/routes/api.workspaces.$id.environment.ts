import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { audit } from "~/platform/audit.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { callbackRefusal, requireCallbackToken, unauthorized } from "~/security/agent-auth.server";
import { resolveWorkspaceEnvironment } from "~/settings/environment.server";
import { getWorkspaceForAgent, isWorkspaceId } from "~/workspaces/workspaces.server";

const noStore = { "Cache-Control": "no-store" };

/**
 * The owner's workspace environment variables (Settings → Environment), for the VM agent to export into
 * terminals, coding-agent sessions and the setup script. Values are the user's own, given to the workspace on
 * purpose; SAM's credentials are never among them. A GET with the callback token, verified as for every agent
 * endpoint (this workspace, its current run and server, not revoked); answered only while the workspace is
 * creating or running, never cached, and audited with the names only.
 */
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  if (!isWorkspaceId(params.id)) throw unauthorized();
  const payload = await requireCallbackToken(request, context.config, params.id);
  const workspace = await getWorkspaceForAgent(context.db, params.id);
  if (!workspace)
    return Response.json({ error: "This workspace no longer exists." }, { status: 404, headers: noStore });
  const refusal = callbackRefusal(payload, workspace);
  if (refusal) throw unauthorized(refusal, "revoked");
  if (workspace.status !== "creating" && workspace.status !== "running") {
    return Response.json(
      { error: `The workspace is ${workspace.status}: its environment is given only while it starts or runs.` },
      { status: 409, headers: noStore },
    );
  }
  const variables = await resolveWorkspaceEnvironment(context, {
    userId: workspace.userId,
    repository: workspace.repository,
  });
  await audit(context, request, {
    userId: workspace.userId,
    action: "environment.delivered",
    details: { workspaceId: workspace.id, names: variables.map((variable) => variable.name) },
  });
  return Response.json({ variables }, { headers: noStore });
}

export const action = () => methodNotAllowed("GET");
