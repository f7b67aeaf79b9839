import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { methodNotAllowed } from "~/platform/responses.server";
import { redeemPermissionAnswer } from "~/tasks/permission-answers.server";

/**
 * A notification's Allow / Deny (public/sw.js POSTs here from the push's action). No session: the one-time
 * token is the authority, bound to one request of one chat. The answer goes to the workspace's agent at once.
 */
export async function action({ request, context, params }: ActionFunctionArgs) {
  if (request.method !== "POST") return methodNotAllowed("POST");
  const result = await redeemPermissionAnswer(context, params.token ?? "");
  switch (result.kind) {
    case "delivered":
      return Response.json({ ok: true, decision: result.decision });
    case "queued":
      return Response.json(
        {
          error: `Your answer (${result.decision}) is saved, but ${result.why}; the agent takes it when it is back, or answer in the chat.`,
        },
        { status: 502 },
      );
    case "gone":
      return Response.json({ error: result.why }, { status: 410 });
    case "unknown":
      return Response.json({ error: "This answer link is not valid." }, { status: 404 });
  }
}

export const loader = () => methodNotAllowed("POST");
