import type { AppLoadContext } from "@remix-run/cloudflare";
import { requireUser } from "../auth/auth.server";
import { listCredentials } from "../settings/credentials.server";
import { terminalAccess } from "../workspaces/terminal.server";
import { getWorkspace } from "../workspaces/workspaces.server";
import { NEW_CHAT } from "./agent-api";
import { type ChatAgent, chatAgents, isChatAgent, missingCredentialMessage } from "./agents";

/**
 * What the chat page needs before the browser attaches: the workspace (checked to be the user's), the
 * agent's URL and a terminal token, which agent a new chat would run and, when the user has no credential
 * for it, the sentence naming which to add. The transcript itself comes from the agent over the socket:
 * this server never reads a conversation (docs/agent-protocol.md, "The chat page").
 */
export async function chatAccess(request: Request, context: AppLoadContext, workspaceId: string, chatId: string) {
  const access = await terminalAccess(request, context, workspaceId);
  const user = await requireUser(request, context);
  const row = await getWorkspace(context.db, { id: workspaceId, userId: user.id });
  const requested = new URL(request.url).searchParams.get("agent");
  const agent: ChatAgent = isChatAgent(requested)
    ? requested
    : isChatAgent(row?.agentCli)
      ? row.agentCli
      : "claude-code";
  let missingCredential: string | null = null;
  if (chatId === NEW_CHAT) {
    const saved = new Set((await listCredentials(context, user.id)).map((credential) => credential.kind));
    if (!chatAgents[agent].credentials.some((kind) => saved.has(kind)))
      missingCredential = missingCredentialMessage(agent);
  }
  return { ...access, chatId, agent, agentLabel: chatAgents[agent].label, missingCredential };
}
