import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { publicJwks } from "~/security/jwt.server";
import { methodNotAllowed } from "~/platform/responses.server";

export async function loader({ context }: LoaderFunctionArgs) {
  return Response.json(await publicJwks(context.config), {
    headers: { "Cache-Control": "public, max-age=300, stale-while-revalidate=60" },
  });
}

export const action = () => methodNotAllowed("GET");
