import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { userOwnsInstallation } from "~/github/installations.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { taskOfWorkspace } from "~/tasks/tasks.server";
import { issueGitToken } from "~/workspaces/git-access.server";

/**
 * The token the VM agent pushes a task's branch with (and nothing else: the agent pushes only
 * `refs/heads/<task.branch>`): an installation token for the task's repository with Contents: write. Only a
 * workspace that runs a task gets one; the coding agent's own git (the credential helper) reads only there.
 */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  await readJsonBody(request, z.object({}).loose());
  const task = await taskOfWorkspace(context.db, workspace.id);
  if (!task) return Response.json({ error: "This workspace runs no task: it has no push token." }, { status: 403 });
  if (!workspace.repository || !workspace.installationId)
    return Response.json({ error: "This workspace has no repository." }, { status: 404 });
  if (!(await userOwnsInstallation(context, workspace.userId, workspace.installationId)))
    return Response.json(
      { error: "The GitHub App is no longer installed for this repository (or is suspended)." },
      { status: 403 },
    );
  const issued = await issueGitToken(context, workspace, { purpose: "task-push" });
  if (!issued.ok) return Response.json({ error: issued.error }, { status: issued.status });
  return Response.json(
    {
      token: issued.token,
      expires_at: issued.expiresAt.toISOString(),
      permissions: issued.permissions,
      repository: workspace.repository,
      branch: task.branch,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export const loader = () => methodNotAllowed("POST");
