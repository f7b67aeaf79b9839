/**
 * The Pages Function (advanced mode `_worker.js`): static assets from the Pages asset store,
 * everything else through Remix with the validated load context.
 */
import { createRequestHandler, type ServerBuild } from "@remix-run/cloudflare";
// The server build is produced by `remix vite:build`; scripts/build.mjs bundles this file after it.
import * as build from "sam-server-build";
import { getLoadContext } from "./platform/context.server";
import { isCrossSiteWrite } from "./security/csrf.server";

const handleRemixRequest = createRequestHandler(build as unknown as ServerBuild);

export default {
  async fetch(request: Request, env: Env & { ASSETS: Fetcher }, ctx: ExecutionContext): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/assets/") || pathname === "/favicon.svg") return env.ASSETS.fetch(request);
    try {
      const loadContext = getLoadContext({ request, context: { cloudflare: { env, ctx } } });
      if (isCrossSiteWrite(request, loadContext.config.APP_URL)) {
        return new Response("Refused: this request came from another site.", {
          status: 403,
          headers: { "Content-Type": "text/plain; charset=utf-8" },
        });
      }
      return await handleRemixRequest(request, loadContext);
    } catch (error) {
      if (error instanceof Error && error.name === "ConfigError") {
        console.error(error.message);
        return new Response(error.message, { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });
      }
      throw error;
    }
  },
} satisfies ExportedHandler<Env & { ASSETS: Fetcher }>;
