import type { LoaderFunctionArgs } from "@remix-run/cloudflare";

export function loader({ context }: LoaderFunctionArgs) {
  return Response.json({ status: "ok", version: context.config.VERSION }, { headers: { "Cache-Control": "no-store" } });
}
