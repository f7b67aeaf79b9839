import type { SessionInfo } from "./protocol";

/** The agent's small session API, called straight from the browser with the terminal token as a bearer. */
export function agentApi(agentUrl: string, getToken: () => Promise<string>) {
  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(new URL(path, agentUrl), {
      ...init,
      headers: { Authorization: `Bearer ${await getToken()}`, "Content-Type": "application/json", ...init.headers },
    });
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { error?: string } | null;
      throw new Error(body?.error ?? `the workspace answered ${response.status}`);
    }
    return (response.status === 204 ? null : await response.json()) as T;
  }
  return {
    list: () => call<{ sessions: SessionInfo[] }>("/api/sessions").then((body) => body.sessions),
    create: (input: { name?: string; cols?: number; rows?: number }) =>
      call<SessionInfo>("/api/sessions", { method: "POST", body: JSON.stringify(input) }),
    rename: (id: string, name: string) =>
      call<SessionInfo>(`/api/sessions/${encodeURIComponent(id)}`, { method: "PATCH", body: JSON.stringify({ name }) }),
    close: (id: string) => call<null>(`/api/sessions/${encodeURIComponent(id)}`, { method: "DELETE" }),
  };
}
