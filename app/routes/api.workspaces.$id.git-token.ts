import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { createAppJwt, github } from "~/providers/github.server";
import { isProviderError } from "~/providers/http.server";
import { userOwnsInstallation } from "~/github/installations.server";

/**
 * A fresh GitHub App installation token, narrowed to the workspace's repository, for git's credential
 * helper on the VM. Nothing is stored: each fetch or push asks again when the last token is near expiry.
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
  const { config } = context;
  const repositoryName = workspace.repository.split("/")[1]!;
  try {
    const appJwt = await createAppJwt({ appId: config.GITHUB_APP_ID, privateKey: config.GITHUB_APP_PRIVATE_KEY });
    const { token, expiresAt } = await github({ apiUrl: config.GITHUB_API_URL }).createInstallationToken(
      appJwt,
      workspace.installationId,
      {
        repositories: [repositoryName],
      },
    );
    return Response.json({ token, expires_at: expiresAt.toISOString() });
  } catch (error) {
    const status = isProviderError(error) && error.status >= 400 && error.status < 500 ? 403 : 502;
    const detail = isProviderError(error) ? error.message : "unexpected error";
    return Response.json(
      { error: `GitHub would not issue a token for ${workspace.repository}: ${detail}` },
      { status },
    );
  }
}

export const loader = () => methodNotAllowed("POST");
