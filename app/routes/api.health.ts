import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { methodNotAllowed } from "~/platform/responses.server";

export function loader({ context }: LoaderFunctionArgs) {
  return Response.json({ status: "ok", version: context.config.VERSION }, { headers: { "Cache-Control": "no-store" } });
}

export const action = () => methodNotAllowed("GET");
