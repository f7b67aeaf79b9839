import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { terminalAccess } from "~/workspaces/terminal.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { requireUser } from "~/auth/auth.server";
import { rateLimit } from "~/platform/rate-limit.server";

/**
 * A fresh terminal token for the page's reconnects; same checks as the page itself. Only tokens handed out
 * count against the limit: asking while the workspace still starts (a 409) mints nothing.
 */
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const { token, expiresAt } = await terminalAccess(request, context, params.id!);
  if (!token)
    return Response.json(
      { error: "the workspace is not running" },
      { status: 409, headers: { "Cache-Control": "no-store" } },
    );
  await rateLimit(context, "terminal-token", user.id);
  return Response.json({ token, expiresAt }, { headers: { "Cache-Control": "no-store" } });
}

export const action = () => methodNotAllowed("GET");
