import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { requireUser } from "~/auth/auth.server";
import {
  deletePushSubscription,
  pushSubscriptionSchema,
  savePushSubscription,
  vapidKeys,
} from "~/notifications/notifications.server";
import { methodNotAllowed } from "~/platform/responses.server";

/**
 * POST: this browser's PushSubscription (its toJSON()) for the signed-in user; DELETE: `{ endpoint }` to stop
 * pushing to it. Called by the Notifications page (app/components/push-toggle.tsx).
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  if (request.method !== "POST" && request.method !== "DELETE") return methodNotAllowed("POST");
  if (!vapidKeys(context.config))
    return Response.json(
      { error: "Push notifications are not set up on this instance (VAPID keys, see docs/self-hosting.md)." },
      { status: 409 },
    );
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return Response.json({ error: "Send the subscription as JSON." }, { status: 400 });
  }
  if (request.method === "DELETE") {
    const parsed = z.object({ endpoint: z.string().min(1).max(2048) }).safeParse(body);
    if (!parsed.success) return Response.json({ error: "Send { endpoint }." }, { status: 400 });
    await deletePushSubscription(context, user.id, parsed.data.endpoint);
    return Response.json({ ok: true });
  }
  const parsed = pushSubscriptionSchema(context.config.APP_URL).safeParse(body);
  if (!parsed.success)
    return Response.json(
      {
        error: "That is not a push subscription this server can use.",
        issues: parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`),
      },
      { status: 400 },
    );
  await savePushSubscription(context, user.id, parsed.data);
  return Response.json({ ok: true }, { status: 201 });
}

export function loader() {
  return methodNotAllowed("POST");
}
