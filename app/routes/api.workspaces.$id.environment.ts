import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { audit } from "~/platform/audit.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { rateLimit } from "~/platform/rate-limit.server";
import { requireAgentWorkspace } from "~/security/agent-auth.server";
import { resolveWorkspaceEnvironment } from "~/settings/environment.server";

const noStore = { "Cache-Control": "no-store" };

/**
 * The owner's workspace environment variables (Settings → Environment), for the VM agent to export into
 * terminals, coding-agent sessions and the setup script. Values are the user's own, given to the workspace on
 * purpose; SAM's credentials are never among them. A GET with the callback token, verified as for every agent
 * endpoint (this workspace, its current run and server, not revoked); answered only while the workspace is
 * creating or running, never cached, and audited with the names only.
 */
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id, "GET");
  await rateLimit(context, "agent-secrets", workspace.id);
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
