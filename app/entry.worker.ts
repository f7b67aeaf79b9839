/**
 * The Pages Function (advanced mode `_worker.js`): static assets from the Pages asset store,
 * everything else through Remix with the validated load context.
 */
import { createRequestHandler, type ServerBuild } from "@remix-run/cloudflare";
// The server build is produced by `remix vite:build`; scripts/build.mjs bundles this file after it.
import * as build from "sam-server-build";
import { getLoadContext } from "./platform/context.server";
import { isCrossSiteWrite } from "./security/csrf.server";
import { withSecurityHeaders } from "./platform/security-headers.server";

const handleRemixRequest = createRequestHandler(build as unknown as ServerBuild);

export default {
  async fetch(request: Request, env: Env & { ASSETS: Fetcher }, ctx: ExecutionContext): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/assets/") || pathname === "/favicon.svg") return env.ASSETS.fetch(request);
    try {
      const loadContext = getLoadContext({ request, context: { cloudflare: { env, ctx } } });
      if (isCrossSiteWrite(request, loadContext.config.APP_URL)) {
        return withSecurityHeaders(
          new Response("Refused: this request came from another site.", {
            status: 403,
            headers: { "Content-Type": "text/plain; charset=utf-8" },
          }),
          loadContext.config,
        );
      }
      if (isBodylessPost(request)) {
        return withSecurityHeaders(
          new Response("This request has no form or body: use the page's own form, or send a Content-Type.", {
            status: 400,
            headers: { "Content-Type": "text/plain; charset=utf-8" },
          }),
          loadContext.config,
        );
      }
      return withSecurityHeaders(await handleRemixRequest(request, loadContext), loadContext.config);
    } catch (error) {
      if (error instanceof Error && error.name === "ConfigError") {
        console.error(error.message);
        return new Response(error.message, { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });
      }
      throw error;
    }
  },
} satisfies ExportedHandler<Env & { ASSETS: Fetcher }>;

/**
 * A page POST with neither Content-Type nor body (a script, not a form): the action's `formData()` would throw
 * and Remix would answer 500. API routes read their own bodies and answer in JSON.
 */
function isBodylessPost(request: Request): boolean {
  return (
    request.method === "POST" &&
    !new URL(request.url).pathname.startsWith("/api/") &&
    !request.headers.get("Content-Type") &&
    request.body === null
  );
}
