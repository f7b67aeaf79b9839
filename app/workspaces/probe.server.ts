import type { Config } from "../platform/config.server";
import { workspaceUrl } from "./url";

/**
 * Probes a workspace's agent the way a browser reaches it (its public URL, `GET /health`): before the
 * sweep stops a workspace whose heartbeats stopped arriving, it asks the agent itself, so a control-plane
 * outage that only silenced the heartbeats deletes nobody's work (docs/architecture.md, "Sweep").
 */

const PROBE_TIMEOUT_MS = 5_000;

export type AgentProbe = (config: Config, workspaceId: string) => Promise<boolean>;

/** True when the agent answered its health check in time. */
export const probeAgent: AgentProbe = async (config, workspaceId) => {
  const url = new URL("/health", workspaceUrl(config, workspaceId));
  try {
    const answer = url.hostname.endsWith(".localhost") ? await viaLoopback(url) : await viaFetch(url);
    return answer.status === 200 && /"status"\s*:\s*"ok"/.test(answer.body);
  } catch {
    return false;
  }
};

async function viaFetch(url: URL) {
  const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  return { status: response.status, body: (await response.text()).slice(0, 4096) };
}

/**
 * `*.localhost` names are loopback (RFC 6761) and browsers resolve them so, but the Workers runtime does not
 * resolve them at all, and fetch() would not keep a Host header naming them. So on a development machine
 * the probe connects to loopback itself and names the host in its own HTTP/1.1 request, as a browser would.
 */
async function viaLoopback(url: URL) {
  const { connect } = await import("cloudflare:sockets");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const socket = connect({ hostname: "127.0.0.1", port });
  const timeout = setTimeout(() => void socket.close().catch(() => undefined), PROBE_TIMEOUT_MS);
  try {
    const writer = socket.writable.getWriter();
    await writer.write(
      new TextEncoder().encode(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`),
    );
    const reader = socket.readable.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (text.length < 16_384) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    clearTimeout(timeout);
    await socket.close().catch(() => undefined);
  }
}
