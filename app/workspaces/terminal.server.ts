import type { AppLoadContext } from "@remix-run/cloudflare";
import { requireUser } from "../auth/auth.server";
import { getSession } from "../auth/session.server";
import { sessionHash } from "./access.server";
import { signToken } from "../security/jwt.server";
import { workspaceUrl } from "./url";
import { getWorkspace } from "./workspaces.server";
import { notFound } from "../platform/responses.server";

export const TERMINAL_TOKEN_SECONDS = 300;

/**
 * A short-lived token for one user on one workspace's terminal, after checking the workspace is theirs. It
 * names the browser session it was minted for (`sid`, a hash), so signing out ends it on the agent too.
 */
export async function terminalAccess(request: Request, context: AppLoadContext, workspaceId: string) {
  const user = await requireUser(request, context);
  const found = await getWorkspace(context.db, { id: workspaceId, userId: user.id });
  if (!found) throw notFound("There is no workspace with this address, or it is not yours.");
  const { id, name, status, repository, branch } = found;
  const workspace = { id, name, status, repository, branch };
  const token =
    workspace.status === "running"
      ? await signToken(context.config, {
          audience: "workspace-terminal",
          subject: user.id,
          ttlSeconds: TERMINAL_TOKEN_SECONDS,
          claims: { workspace: workspace.id, sid: await sessionHash((await getSession(request, context)).id) },
        })
      : null;
  return {
    workspace,
    agentUrl: workspaceUrl(context.config, workspace.id),
    token,
    expiresAt: token ? Date.now() + TERMINAL_TOKEN_SECONDS * 1000 : null,
  };
}
