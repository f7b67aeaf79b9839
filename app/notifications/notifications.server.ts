import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, count, desc, eq, inArray, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Config } from "~/platform/config.server";
import { notifications, pushSubscriptions } from "~/db/schema";
import { sendPush, type VapidKeys } from "./web-push.server";

export type NotificationKind = (typeof notifications.$inferInsert)["kind"];

/** A button on a pushed notification: the service worker POSTs to `url` (a one-time answer) when it is pressed. */
export interface PushAction {
  action: "allow" | "deny";
  title: string;
  url: string;
}

export interface NewNotification {
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
  /** Where the notification leads: a path in the app. */
  url: string;
  workspaceId?: string;
  taskId?: string;
  actions?: PushAction[];
  /** When it happened (ms), if not now: a caller told the time (the heartbeat, the sweep) records its own. */
  at?: number;
}

/** What the service worker receives (public/sw.js reads exactly these fields). */
export interface PushPayload {
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  url: string;
  actions: PushAction[];
}

/** The instance's VAPID keys, or null when push is not set up (notifications then stay in the app). */
export function vapidKeys(config: Config): VapidKeys | null {
  if (!config.VAPID_PUBLIC_KEY || !config.VAPID_PRIVATE_KEY) return null;
  // RFC 8292 §2.1: an https: or mailto: contact; an instance on plain http (this machine) sends none.
  const subject = config.VAPID_SUBJECT ?? (config.APP_URL.startsWith("https://") ? config.APP_URL : undefined);
  return { publicKey: config.VAPID_PUBLIC_KEY, privateKey: config.VAPID_PRIVATE_KEY, subject };
}

/**
 * Records a notification for the user and pushes it to each of their subscribed browsers. A push service that
 * says the subscription ended (404/410) loses it; any other push failure is logged and the in-app one stays.
 */
export async function notify(
  context: Pick<AppLoadContext, "db" | "config">,
  input: NewNotification,
): Promise<{ id: string; pushed: number }> {
  const [row] = await context.db
    .insert(notifications)
    .values({
      userId: input.userId,
      kind: input.kind,
      title: input.title,
      body: input.body,
      url: input.url,
      workspaceId: input.workspaceId,
      taskId: input.taskId,
      ...(input.at === undefined ? {} : { createdAt: new Date(input.at) }),
    })
    .returning({ id: notifications.id });
  if (!row) throw new Error("the notification was not recorded");
  const vapid = vapidKeys(context.config);
  if (!vapid) return { id: row.id, pushed: 0 };

  const targets = await context.db.query.pushSubscriptions.findMany({
    where: eq(pushSubscriptions.userId, input.userId),
  });
  const payload: PushPayload = {
    id: row.id,
    kind: input.kind,
    title: input.title,
    body: input.body,
    url: input.url,
    actions: input.actions ?? [],
  };
  // A permission question is time-critical; the rest can wait for a phone's next wake-up.
  const urgency = input.kind === "permission_waiting" ? "high" : "normal";
  const outcomes = await Promise.all(targets.map((target) => sendPush(target, payload, vapid, { urgency })));
  const gone = targets.filter((_, index) => outcomes[index]?.kind === "gone").map((target) => target.id);
  if (gone.length) await context.db.delete(pushSubscriptions).where(inArray(pushSubscriptions.id, gone));
  targets.forEach((target, index) => {
    const outcome = outcomes[index];
    if (outcome?.kind === "failed")
      console.warn(`push to ${new URL(target.endpoint).host} failed: ${outcome.status} ${outcome.message}`.trim());
  });
  return { id: row.id, pushed: outcomes.filter((outcome) => outcome.kind === "sent").length };
}

export async function unreadCount(context: Pick<AppLoadContext, "db">, userId: string): Promise<number> {
  const [row] = await context.db
    .select({ value: count() })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return row?.value ?? 0;
}

export function listNotifications(context: AppLoadContext, userId: string, limit = 50) {
  return context.db.query.notifications.findMany({
    where: eq(notifications.userId, userId),
    orderBy: [desc(notifications.createdAt), desc(notifications.id)],
    limit,
  });
}

/** Marks the user's notifications read: the listed ones, or all of them. */
export async function markRead(context: AppLoadContext, userId: string, ids: string[] | "all"): Promise<void> {
  const mine = and(eq(notifications.userId, userId), isNull(notifications.readAt));
  await context.db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(ids === "all" ? mine : and(mine, inArray(notifications.id, ids)));
}

const base64url = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "must be base64url")
    .refine((value) => Math.floor((value.length * 3) / 4) === bytes, `must be ${bytes} bytes in base64url`);

/**
 * A browser's PushSubscription.toJSON(). The endpoint must be https (push services are); plain http is taken
 * only on an instance that itself runs on this machine, for the local cloud's push service.
 */
export function pushSubscriptionSchema(appUrl: string) {
  const local = new URL(appUrl).protocol === "http:";
  return z.object({
    endpoint: z
      .string()
      .max(2048)
      .url("must be the push service's URL")
      .refine(
        (value) => value.startsWith("https://") || (local && value.startsWith("http://")),
        "must be an https:// URL",
      ),
    keys: z.object({ p256dh: base64url(65), auth: base64url(16) }),
  });
}

export type PushSubscriptionInput = z.infer<ReturnType<typeof pushSubscriptionSchema>>;

/** Saves a browser's subscription for the user; the same endpoint again (a renewed one) takes the new keys. */
export async function savePushSubscription(
  context: AppLoadContext,
  userId: string,
  input: PushSubscriptionInput,
): Promise<void> {
  const values = { userId, endpoint: input.endpoint, p256dh: input.keys.p256dh, auth: input.keys.auth };
  await context.db
    .insert(pushSubscriptions)
    .values(values)
    .onConflictDoUpdate({ target: pushSubscriptions.endpoint, set: values });
}

export async function deletePushSubscription(context: AppLoadContext, userId: string, endpoint: string) {
  await context.db
    .delete(pushSubscriptions)
    .where(and(eq(pushSubscriptions.userId, userId), eq(pushSubscriptions.endpoint, endpoint)));
}

export async function countPushSubscriptions(context: AppLoadContext, userId: string): Promise<number> {
  const [row] = await context.db
    .select({ value: count() })
    .from(pushSubscriptions)
    .where(eq(pushSubscriptions.userId, userId));
  return row?.value ?? 0;
}
