import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { userOwnsInstallation } from "~/github/installations.server";
import { issueGitToken } from "~/workspaces/git-access.server";

/**
 * A fresh GitHub App installation token for git's credential helper on the VM, narrowed to the workspace's
 * repository and to no more than its owner may do there (workspaces/git-access.server.ts). Nothing is
 * stored: each fetch or push asks again when the last token is near expiry, and access is checked again.
 */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  await readJsonBody(request, z.object({}).loose());
  if (!workspace.repository || !workspace.installationId)
    return Response.json({ error: "This workspace has no repository." }, { status: 404 });
  if (!(await userOwnsInstallation(context, workspace.userId, workspace.installationId))) {
    return Response.json(
      { error: "The GitHub App is no longer installed for this repository (or is suspended)." },
      { status: 403 },
    );
  }
  const issued = await issueGitToken(context, workspace);
  if (!issued.ok) return Response.json({ error: issued.error }, { status: issued.status });
  return Response.json({
    token: issued.token,
    expires_at: issued.expiresAt.toISOString(),
    permissions: issued.permissions,
  });
}

export const loader = () => methodNotAllowed("POST");
