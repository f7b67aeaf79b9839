/**
 * Refuses state-changing requests a browser sends from another site. Browsers send `Origin` on every
 * POST/PUT/PATCH/DELETE, and `Sec-Fetch-Site` on every request; server-to-server callers (the agents,
 * GitHub's webhooks) send neither and authenticate by token or signature instead.
 */
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

export function isCrossSiteWrite(request: Request, appUrl: string): boolean {
  if (safeMethods.has(request.method)) return false;
  const origin = request.headers.get("Origin");
  if (origin !== null) return origin !== new URL(appUrl).origin;
  const site = request.headers.get("Sec-Fetch-Site");
  return site === "cross-site" || site === "same-site";
}
