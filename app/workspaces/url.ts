/** Where a browser reaches a workspace's agent: `https://ws-<id>.<BASE_DOMAIN>` in production, the local cloud's edge locally. */
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
