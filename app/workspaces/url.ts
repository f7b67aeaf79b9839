/**
 * The port the agent listens on (agent/internal/config's default), the workspace firewall opens to Cloudflare,
 * and every production workspace URL names: Cloudflare's proxy connects to the origin on the port the
 * browser used, so the three must be one. 8443 is one of the HTTPS ports Cloudflare proxies.
 */
export const AGENT_PORT = "8443";

/** Where a browser reaches a workspace's agent: `https://ws-<id>.<BASE_DOMAIN>:8443` in production, the local cloud's edge locally. */
export function workspaceUrl(
  config: { WORKSPACE_URL_TEMPLATE: string; BASE_DOMAIN: string },
  workspaceId: string,
): string {
  return config.WORKSPACE_URL_TEMPLATE.replaceAll("{id}", workspaceId).replaceAll("{BASE_DOMAIN}", config.BASE_DOMAIN);
}

/** The hostname the agent's certificate and DNS record are for. */
export function workspaceHostname(config: { BASE_DOMAIN: string }, workspaceId: string): string {
  return `ws-${workspaceId}.${config.BASE_DOMAIN}`;
}

/** The workspace id in a hostname `ws-<id>.<BASE_DOMAIN>`, or null for any other name. */
export function workspaceIdOf(config: { BASE_DOMAIN: string }, hostname: string): string | null {
  const match = /^ws-([a-z2-7]{12})\.(.+)$/.exec(hostname.toLowerCase());
  return match && match[2] === config.BASE_DOMAIN.toLowerCase() ? match[1]! : null;
}

const isLoopback = (hostname: string) =>
  hostname === "localhost" || hostname.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/**
 * Why browsers could not reach workspaces at this URL template, or null when they can. In production the
 * URL must reach the agent through Cloudflare: https, the name its DNS record and certificate are for, and
 * the agent's port (without it browsers use 443, which the firewall drops: Cloudflare error 522). Plain http
 * is only for the local cloud's edge on this machine.
 */
export function workspaceUrlTemplateProblem(template: string, baseDomain: string): string | null {
  const sample = "abcdefghijkl";
  let url: URL;
  try {
    url = new URL(workspaceUrl({ WORKSPACE_URL_TEMPLATE: template, BASE_DOMAIN: baseDomain }, sample));
  } catch {
    return "must be a URL such as https://ws-{id}.{BASE_DOMAIN}:8443";
  }
  if (url.protocol === "http:" && isLoopback(url.hostname)) return null;
  if (url.protocol !== "https:")
    return "must be https://ws-{id}.{BASE_DOMAIN}:8443 (plain http is only for the local cloud on localhost)";
  if (url.hostname !== workspaceHostname({ BASE_DOMAIN: baseDomain }, sample))
    return "must name the host ws-{id}.{BASE_DOMAIN}, the name each workspace's DNS record and certificate are for";
  if (url.port !== AGENT_PORT)
    return `must name port ${AGENT_PORT} (https://ws-{id}.{BASE_DOMAIN}:${AGENT_PORT}): Cloudflare connects to the server on the port the browser used, and the agent and its firewall use ${AGENT_PORT}`;
  return null;
}
