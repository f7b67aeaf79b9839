import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { parseWebhook, verifyWebhookSignature, WebhookPayloadError } from "~/github/webhook.server";
import { applyWebhook } from "~/github/installations.server";
import { claimDelivery, releaseDelivery } from "~/github/deliveries.server";
import { methodNotAllowed } from "~/platform/responses.server";

export const loader = () => methodNotAllowed("POST");

/**
 * GitHub App webhooks: signature checked before anything is read; unknown events are acknowledged and ignored;
 * each delivery is processed once.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const body = await request.text();
  if (
    !(await verifyWebhookSignature(
      context.config.GITHUB_WEBHOOK_SECRET,
      body,
      request.headers.get("X-Hub-Signature-256"),
    ))
  ) {
    return Response.json({ error: "invalid signature" }, { status: 401 });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return Response.json({ error: "body is not JSON" }, { status: 400 });
  }
  let webhook;
  try {
    webhook = parseWebhook(request.headers.get("X-GitHub-Event") ?? "", payload);
  } catch (error) {
    if (error instanceof WebhookPayloadError) return Response.json({ error: error.message }, { status: 400 });
    throw error;
  }
  if (!webhook) return Response.json({ status: "ignored" }, { status: 202 });
  const deliveryId = request.headers.get("X-GitHub-Delivery") ?? "";
  if (!/^[A-Za-z0-9-]{1,100}$/.test(deliveryId)) {
    return Response.json({ error: "X-GitHub-Delivery is missing or malformed" }, { status: 400 });
  }
  if (!(await claimDelivery(context, deliveryId))) return Response.json({ status: "duplicate" }, { status: 200 });
  try {
    await applyWebhook(request, context, webhook);
  } catch (error) {
    await releaseDelivery(context, deliveryId);
    throw error;
  }
  return Response.json({ status: "processed" }, { status: 200 });
}
