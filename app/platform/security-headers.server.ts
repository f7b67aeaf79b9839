import type { Config } from "./config.server";

/** 16 random bytes, base64: a fresh one for every page, so an injected script cannot know it. */
export function createNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Origins a page's scripts may connect to: this app, and every workspace host (the terminal's WebSocket).
 * The label of WORKSPACE_URL_TEMPLATE that holds `{id}` becomes `*` (CSP allows a wildcard only leftmost, so
 * any labels before it go too); the port stays.
 */
export function workspaceSources(config: Pick<Config, "WORKSPACE_URL_TEMPLATE" | "BASE_DOMAIN">): string[] {
  const template = config.WORKSPACE_URL_TEMPLATE.replaceAll("{BASE_DOMAIN}", config.BASE_DOMAIN);
  const match = /^(https?):\/\/([^/]*)/.exec(template);
  if (!match) return [];
  const [, scheme, authority] = match as unknown as [string, string, string];
  const labels = authority.split(".");
  const at = labels.findIndex((label) => label.includes("{id}"));
  const host = ["*", ...labels.slice(at + 1)].join(".");
  const socket = scheme === "https" ? "wss" : "ws";
  return [`${scheme}://${host}`, `${socket}://${host}`];
}

/** The policy for HTML pages. */
export function pageContentSecurityPolicy(config: Config, nonce: string): string {
  const github = new URL(config.GITHUB_URL).origin;
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    // Tailwind's stylesheet is 'self'; the terminal (xterm) writes style elements of its own.
    "style-src 'self' 'unsafe-inline'",
    // Avatars: GitHub serves them from its avatars host (the local GitHub from its own origin).
    `img-src 'self' data: https://avatars.githubusercontent.com ${github}`,
    `connect-src 'self' ${workspaceSources(config).join(" ")}`,
    // Signing in posts to /auth/github, which redirects to GitHub; Chrome applies form-action to that redirect.
    `form-action 'self' ${github}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join("; ");
}

/** Everything else (JSON, text, redirects) runs no script and may not be framed. */
const OTHER_RESPONSES_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Headers every dynamic answer carries. Pages set their own policy (with the nonce) in entry.server.tsx.
 * Nothing dynamic may be cached: pages show a user's data, and several answers carry tokens.
 */
export function withSecurityHeaders(response: Response, config: Pick<Config, "APP_URL">): Response {
  let headers: Headers;
  try {
    headers = response.headers;
    headers.set("X-Content-Type-Options", "nosniff");
  } catch {
    // Headers of a fetched response (a proxied asset) are immutable: copy them.
    response = new Response(response.body, response);
    headers = response.headers;
    headers.set("X-Content-Type-Options", "nosniff");
  }
  headers.set("Referrer-Policy", "same-origin");
  headers.set("X-Frame-Options", "DENY");
  if (!headers.has("Content-Security-Policy")) headers.set("Content-Security-Policy", OTHER_RESPONSES_POLICY);
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  if (config.APP_URL.startsWith("https://")) {
    headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  }
  return response;
}
