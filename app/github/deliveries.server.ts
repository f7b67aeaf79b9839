import type { AppLoadContext } from "@remix-run/cloudflare";
import { eq, lt } from "drizzle-orm";
import { githubWebhookDeliveries } from "../db/schema";

/** How long a delivery id is remembered: GitHub redelivers (by hand or API) within days, not weeks. */
const REMEMBER_MS = 14 * 86_400_000;

/**
 * Claims a delivery id (`X-GitHub-Delivery`) for processing: false when it was handled before, so a
 * redelivered or replayed webhook (its signature stays valid forever) changes nothing twice.
 */
export async function claimDelivery(context: Pick<AppLoadContext, "db">, deliveryId: string): Promise<boolean> {
  const now = Date.now();
  const claimed = await context.db
    .insert(githubWebhookDeliveries)
    .values({ deliveryId, receivedAt: new Date(now) })
    .onConflictDoNothing()
    .returning({ deliveryId: githubWebhookDeliveries.deliveryId });
  if (claimed.length > 0) {
    await context.db
      .delete(githubWebhookDeliveries)
      .where(lt(githubWebhookDeliveries.receivedAt, new Date(now - REMEMBER_MS)));
  }
  return claimed.length > 0;
}

/** Gives a delivery back when processing it failed, so GitHub's redelivery is processed. */
export async function releaseDelivery(context: Pick<AppLoadContext, "db">, deliveryId: string): Promise<void> {
  await context.db.delete(githubWebhookDeliveries).where(eq(githubWebhookDeliveries.deliveryId, deliveryId));
}
