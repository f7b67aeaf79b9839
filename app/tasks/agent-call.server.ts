import type { Config } from "../platform/config.server";
import { signToken } from "../security/jwt.server";
import { workspaceUrl } from "../workspaces/url";

/**
 * The control plane calling a workspace's agent over its public URL, as a browser does (probe.server.ts does
 * the same for `/health`), with the short-lived RS256 token the agent's `authenticated` middleware accepts:
 * audience `workspace-terminal`, subject the workspace's owner.
 */

const AGENT_CALL_TIMEOUT_MS = 5_000;
export const AGENT_CALL_TOKEN_SECONDS = 60;

export interface AgentAnswer {
  status: number;
  body: string;
}

export type AgentPoster = (
  config: Config,
  workspaceId: string,
  path: string,
  body: unknown,
  bearer: string,
) => Promise<AgentAnswer>;

export function agentCallToken(config: Config, workspace: { id: string; userId: string }) {
  return signToken(config, {
    audience: "workspace-terminal",
    subject: workspace.userId,
    ttlSeconds: AGENT_CALL_TOKEN_SECONDS,
    claims: { workspace: workspace.id },
  });
}

/** POSTs JSON to the agent; throws when it cannot be reached at all. */
export const postToAgent: AgentPoster = async (config, workspaceId, path, body, bearer) => {
  const url = new URL(path, workspaceUrl(config, workspaceId));
  const payload = JSON.stringify(body);
  if (url.hostname.endsWith(".localhost")) return viaLoopback(url, payload, bearer);
  const response = await fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: payload,
    signal: AbortSignal.timeout(AGENT_CALL_TIMEOUT_MS),
  });
  return { status: response.status, body: (await response.text()).slice(0, 4096) };
};

/**
 * `*.localhost` names are loopback (RFC 6761), which the Workers runtime does not resolve: on a development
 * machine the call connects to loopback itself and names the host in its own HTTP/1.1 request.
 */
async function viaLoopback(url: URL, payload: string, bearer: string): Promise<AgentAnswer> {
  const { connect } = await import("cloudflare:sockets");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const socket = connect({ hostname: "127.0.0.1", port });
  const timeout = setTimeout(() => void socket.close().catch(() => undefined), AGENT_CALL_TIMEOUT_MS);
  try {
    const writer = socket.writable.getWriter();
    const bytes = new TextEncoder().encode(payload);
    await writer.write(
      new TextEncoder().encode(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${bearer}\r\nContent-Type: application/json\r\nContent-Length: ${bytes.byteLength}\r\nConnection: close\r\n\r\n`,
      ),
    );
    await writer.write(bytes);
    const reader = socket.readable.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (text.length < 16_384) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    if (!status) throw new Error("the agent closed the connection without an answer");
    return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    clearTimeout(timeout);
    await socket.close().catch(() => undefined);
  }
}
