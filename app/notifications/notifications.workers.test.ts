import { afterEach, describe, expect, it, vi } from "vitest";
import { testContext } from "../../tests/support/context.workers";
import { db, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import * as schema from "~/db/schema";
import {
  countPushSubscriptions,
  listNotifications,
  markRead,
  notify,
  pushSubscriptionSchema,
  savePushSubscription,
  unreadCount,
} from "./notifications.server";

useFreshUser();
afterEach(() => vi.restoreAllMocks());

/** A browser's subscription: a fresh P-256 key and auth secret, as PushManager.subscribe() would make. */
async function browserSubscription(endpoint: string) {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const b64 = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  return { endpoint, keys: { p256dh: b64(raw), auth: b64(crypto.getRandomValues(new Uint8Array(16))) } };
}

describe("notifications", () => {
  it("are listed newest first, counted while unread, and marked read only for their owner", async () => {
    const { context } = testContext();
    const first = await notify(context, { userId, kind: "task_ready", title: "Ready", body: "b", url: "/tasks/1" });
    const second = await notify(context, { userId, kind: "task_failed", title: "Failed", body: "b", url: "/tasks/2" });
    const [other] = await db
      .insert(schema.users)
      .values({ githubId: 1e9 + Math.floor(Math.random() * 1e6), login: "x" })
      .returning();
    if (!other) throw new Error("no second user");
    await notify(context, { userId: other.id, kind: "task_ready", title: "Not yours", body: "b", url: "/" });

    expect((await listNotifications(context, userId)).map((row) => row.id)).toEqual([second.id, first.id]);
    expect(await unreadCount(context, userId)).toBe(2);
    await markRead(context, userId, [first.id]);
    expect(await unreadCount(context, userId)).toBe(1);
    await markRead(context, other.id, [second.id]);
    expect(await unreadCount(context, userId)).toBe(1);
    await markRead(context, userId, "all");
    expect(await unreadCount(context, userId)).toBe(0);
    expect(await unreadCount(context, other.id)).toBe(1);
  });

  it("are pushed encrypted with VAPID to each subscription, and a subscription that ended is forgotten", async () => {
    const { context } = testContext();
    await savePushSubscription(context, userId, await browserSubscription("https://push.example.net/live"));
    await savePushSubscription(context, userId, await browserSubscription("https://push.example.net/gone"));
    const sent: Request[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      sent.push(request);
      return new Response(null, { status: request.url.endsWith("/gone") ? 410 : 201 });
    });

    const result = await notify(context, {
      userId,
      kind: "permission_waiting",
      title: "Claude Code is waiting",
      body: "Allow editing README.md?",
      url: "/workspaces/w/chat/s",
      actions: [{ action: "allow", title: "Allow", url: "/api/permission-answers/t" }],
    });

    expect(result.pushed).toBe(1);
    expect(sent).toHaveLength(2);
    for (const request of sent) {
      expect(request.method).toBe("POST");
      expect(request.headers.get("Content-Encoding")).toBe("aes128gcm");
      expect(request.headers.get("Urgency")).toBe("high");
      expect(request.headers.get("TTL")).toMatch(/^\d+$/);
      expect(request.headers.get("Authorization")).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=B[\w-]{86}$/);
      const body = new Uint8Array(await request.arrayBuffer());
      // The header (86 octets) and one record whose ciphertext is not the plaintext.
      expect(body.length).toBeGreaterThan(86 + 16);
      expect(new TextDecoder().decode(body)).not.toContain("Claude Code is waiting");
    }
    expect(await countPushSubscriptions(context, userId)).toBe(1);
  });

  it("take a browser's subscription only with an https endpoint and well-formed keys", async () => {
    const schemaFor = pushSubscriptionSchema("https://sam.example.com");
    const good = await browserSubscription("https://push.example.net/abc");
    expect(schemaFor.safeParse(good).success).toBe(true);
    expect(schemaFor.safeParse({ ...good, endpoint: "http://push.example.net/abc" }).success).toBe(false);
    expect(schemaFor.safeParse({ ...good, keys: { ...good.keys, auth: "AAAA" } }).success).toBe(false);
    expect(
      pushSubscriptionSchema("http://localhost:8788").safeParse({ ...good, endpoint: "http://127.0.0.1:8790/push/x" })
        .success,
    ).toBe(true);
  });
});
