import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/cloudflare";
import { deleteSmokeWorkspace, requireSmokeToken, smokeStatus, startSmokeWorkspace } from "~/admin/smoke.server";

/**
 * The smoke run's workspace (scripts/smoke.ts), authenticated by its one-time smoke token: POST creates it,
 * GET reports it (with a terminal token once running, with what the providers still hold once deleted),
 * DELETE deletes it.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const token = await requireSmokeToken(request, context);
  return smokeStatus(context, token);
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST" && request.method !== "DELETE")
    return Response.json(
      { error: "Use GET, POST or DELETE." },
      { status: 405, headers: { Allow: "GET, POST, DELETE" } },
    );
  const token = await requireSmokeToken(request, context);
  return request.method === "POST" ? startSmokeWorkspace(context, token) : deleteSmokeWorkspace(context, token);
}
