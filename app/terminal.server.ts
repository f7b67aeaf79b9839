import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq } from "drizzle-orm";
import { requireUser } from "./auth.server";
import { workspaces } from "./db/schema";
import { signToken } from "./jwt.server";
import { workspaceUrl } from "./workspace-url";

export const TERMINAL_TOKEN_SECONDS = 300;

/** A short-lived token for one user on one workspace's terminal, after checking the workspace is theirs. */
export async function terminalAccess(request: Request, context: AppLoadContext, workspaceId: string) {
  const user = await requireUser(request, context);
  const workspace = await context.db.query.workspaces.findFirst({
    where: and(eq(workspaces.id, workspaceId), eq(workspaces.userId, user.id)),
    columns: { id: true, name: true, status: true, repository: true, branch: true },
  });
  if (!workspace) throw new Response("Not found", { status: 404 });
  const token =
    workspace.status === "running"
      ? await signToken(context.config, {
          audience: "workspace-terminal",
          subject: user.id,
          ttlSeconds: TERMINAL_TOKEN_SECONDS,
          claims: { workspace: workspace.id },
        })
      : null;
  return {
    workspace,
    agentUrl: workspaceUrl(context.config, workspace.id),
    token,
    expiresAt: token ? Date.now() + TERMINAL_TOKEN_SECONDS * 1000 : null,
  };
}
