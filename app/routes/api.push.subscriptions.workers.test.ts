import { describe, expect, it } from "vitest";
import { testContext } from "../../tests/support/context.workers";
import { useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { commitSession, getSession } from "~/auth/session.server";
import { countPushSubscriptions } from "~/notifications/notifications.server";
import { action } from "./api.push.subscriptions";

useFreshUser();

async function call(method: string, body: string, signedIn = true) {
  const { context } = testContext();
  const headers = new Headers({ "Content-Type": "application/json" });
  if (signedIn) {
    const session = await getSession(new Request("http://localhost/"), context);
    session.set("userId", userId);
    headers.set("Cookie", (await commitSession(session, context)).split(";")[0] ?? "");
  }
  const request = new Request("http://localhost/api/push/subscriptions", { method, headers, body });
  try {
    return { response: await action({ request, context, params: {} }), context };
  } catch (thrown) {
    if (thrown instanceof Response) return { response: thrown, context };
    throw thrown;
  }
}

const p256dh = `B${"A".repeat(86)}`;
const subscription = { endpoint: "https://push.example.net/sub/1", keys: { p256dh, auth: "A".repeat(22) } };

describe("POST/DELETE /api/push/subscriptions", () => {
  it("saves this browser's subscription for the signed-in user and forgets it on DELETE", async () => {
    const saved = await call("POST", JSON.stringify(subscription));
    expect(saved.response.status).toBe(201);
    expect(await countPushSubscriptions(saved.context, userId)).toBe(1);
    const again = await call("POST", JSON.stringify(subscription));
    expect(again.response.status).toBe(201);
    expect(await countPushSubscriptions(again.context, userId)).toBe(1);
    const removed = await call("DELETE", JSON.stringify({ endpoint: subscription.endpoint }));
    expect(removed.response.status).toBe(200);
    expect(await countPushSubscriptions(removed.context, userId)).toBe(0);
  });

  it("says what is wrong with a subscription it cannot use, and takes nothing", async () => {
    const { response, context } = await call("POST", JSON.stringify({ ...subscription, endpoint: "ftp://x" }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ issues: [expect.stringMatching(/^endpoint /)] });
    expect((await call("POST", "not json")).response.status).toBe(400);
    expect(await countPushSubscriptions(context, userId)).toBe(0);
  });

  it("sends a visitor who is not signed in to sign in", async () => {
    const { response } = await call("POST", JSON.stringify(subscription), false);
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toMatch(/^\/login/);
  });
});
