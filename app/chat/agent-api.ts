import type { ChatAgent } from "./agents";
import type { ChatInfo } from "./protocol";

/** The path segment that asks for a new chat rather than naming one: /workspaces/:id/chat/new. */
export const NEW_CHAT = "new";

/** The agent refused to start a chat; `code` is missing_credential, not_installed or credential_unavailable. */
export class ChatStartError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = "ChatStartError";
  }
}

/** The agent's chat API, called straight from the browser with the terminal token as a bearer. */
export function chatApi(agentUrl: string, getToken: () => Promise<string>) {
  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(new URL(path, agentUrl), {
      ...init,
      headers: { Authorization: `Bearer ${await getToken()}`, "Content-Type": "application/json", ...init.headers },
    });
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { error?: string; code?: string } | null;
      throw new ChatStartError(body?.error ?? `the workspace answered ${response.status}`, response.status, body?.code);
    }
    return (await response.json()) as T;
  }
  return {
    list: () => call<{ chats: ChatInfo[] }>("/api/chats").then((body) => body.chats),
    create: (agent: ChatAgent) => call<ChatInfo>("/api/chats", { method: "POST", body: JSON.stringify({ agent }) }),
  };
}

/** Caches the page's terminal token and fetches a fresh one shortly before it expires. */
export function tokenSource(workspaceId: string, initial: { token: string | null; expiresAt: number | null }) {
  let current = initial;
  return async () => {
    if (current.token && current.expiresAt && current.expiresAt - Date.now() > 60_000) return current.token;
    const response = await fetch(`/workspaces/${workspaceId}/terminal/token`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`token request failed with ${response.status}`);
    current = (await response.json()) as { token: string; expiresAt: number };
    return current.token!;
  };
}
