import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { terminalAccess } from "~/workspaces/terminal.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { requireUser } from "~/auth/auth.server";
import { rateLimit } from "~/platform/rate-limit.server";

/** A fresh terminal token for the page's reconnects; same checks as the page itself. */
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await rateLimit(context, "terminal-token", (await requireUser(request, context)).id);
  const { token, expiresAt } = await terminalAccess(request, context, params.id!);
  if (!token)
    return Response.json(
      { error: "the workspace is not running" },
      { status: 409, headers: { "Cache-Control": "no-store" } },
    );
  return Response.json({ token, expiresAt }, { headers: { "Cache-Control": "no-store" } });
}

export const action = () => methodNotAllowed("GET");
