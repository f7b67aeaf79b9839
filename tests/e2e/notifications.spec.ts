import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { LOCAL_ANTHROPIC_API_KEY } from "../../scripts/local-cloud/server";
import { APP, CLOUD, installApp, saveHetznerToken, signIn } from "./helpers";

/**
 * A coding agent waiting for a permission nobody is watching reaches its owner by Web Push, and the pushed
 * notification's Allow answers it. No real push service is reachable offline and Chromium cannot subscribe to
 * one here, so the subscription comes from the local cloud's push service (it keeps the browser's keys), is
 * given to SAM as the page would, and the message SAM sends there — checked for VAPID and decrypted — is handed
 * to the page's service worker through the DevTools protocol.
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(420_000);

const ADDED_LINE = "A line a notification allowed.";

/** What the test uses of the service worker's global scope (the WebWorker lib is not in this project's types). */
interface WorkerScope {
  registration: { getNotifications(): Promise<Array<{ title: string; actions: unknown[] }>> };
  dispatchEvent(event: Event): boolean;
  NotificationEvent: new (type: string, init: { notification: unknown; action: string }) => Event;
}

interface PushMessage {
  payload: string;
  urgency: string;
  vapid: { aud: string };
  received_at: string;
}

async function createClaudeWorkspace(page: Page, name: string): Promise<string> {
  await page.goto("/workspaces/new");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Repository").fill("sam-dev/hello-world");
  await page.getByLabel("Small").check();
  await page.getByLabel("Claude Code").check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  return page.url().split("/").pop()!;
}

test("a permission request nobody watches is pushed, and the notification's Allow answers it", async ({
  browser,
  request,
}) => {
  const context = await browser.newContext();
  await context.grantPermissions(["notifications"], { origin: APP });
  const page = await context.newPage();
  await signIn(page);
  await saveHetznerToken(page);
  await installApp(page);
  await page.goto("/settings");
  await page.getByRole("combobox", { name: "Credential" }).selectOption("anthropic_api_key");
  await page.getByRole("textbox", { name: "Key" }).fill(LOCAL_ANTHROPIC_API_KEY);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("saved-anthropic_api_key")).toBeVisible();
  const workspaceId = await createClaudeWorkspace(page, "e2e push");
  await expect(page.locator("h1 [data-status]")).toHaveText("running", { timeout: 300_000 });
  const state = await (await request.get(`${CLOUD}/_local/state`)).json();
  const server = state.servers.find((s: { labels: Record<string, string> }) => s.labels.workspace === workspaceId);
  // The repository is on the workspace's volume, which the local cloud links into the server's directory.
  const volume = state.volumes.find((v: { labels: Record<string, string> }) => v.labels.workspace === workspaceId);
  const readme = join(realpathSync(join(server.agent.dir, "mnt", `HC_Volume_${volume.id}`)), "workspace", "README.md");
  const original = readFileSync(readme, "utf8");
  const firstLine = original.split("\n")[0]!;

  // The Notifications page registers the service worker; this browser's "subscription" is the push service's.
  await page.goto("/notifications");
  await expect(page.getByRole("button", { name: "Turn on for this device" })).toBeEnabled();
  const registered = await page.evaluate(() =>
    navigator.serviceWorker.ready.then((registration) => registration.scope),
  );
  expect(registered).toBe(`${APP}/`);
  const pushKey = await page.locator("[data-vapid-key]").getAttribute("data-vapid-key");
  expect(pushKey).toMatch(/^B[\w-]{86}$/);
  const subscription = await (
    await request.post(`${CLOUD}/_local/push/subscriptions`, { data: { application_server_key: pushKey } })
  ).json();
  const saved = await page.evaluate(async (body) => {
    const answer = await fetch("/api/push/subscriptions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return answer.status;
  }, subscription);
  expect(saved).toBe(201);

  // One turn: an edit Claude Code asks permission for, then a closing reply.
  expect((await request.post(`${CLOUD}/_local/anthropic/reset`)).ok()).toBeTruthy();
  const replies = [
    {
      text: ["Adding ", "the line."],
      toolUse: {
        name: "Edit",
        input: { file_path: readme, old_string: firstLine, new_string: `${firstLine}\n${ADDED_LINE}` },
      },
    },
    { text: ["Added ", "it."] },
  ].map((reply) => ({ ...reply, withTools: true }));
  expect((await request.post(`${CLOUD}/_local/anthropic/replies`, { data: replies })).status()).toBe(201);

  await page.goto(`/workspaces/${workspaceId}`);
  await page.getByRole("link", { name: "Open chat" }).click();
  await expect(page).toHaveURL(new RegExp(`/workspaces/${workspaceId}/chat/(?!new)[\\w-]+$`));
  await expect(page.locator("#chat-state")).toHaveText("Connected");
  await page.getByLabel("Message").fill("Add a line to the README");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("group", { name: /The agent asks/ })).toBeVisible({ timeout: 60_000 });
  // Nobody watches any more: the chat's page is left with the question open.
  const askedAt = new Date().toISOString();
  await page.goto("/notifications");

  const messages = async () =>
    ((await (await request.get(`${CLOUD}/_local/push/messages`)).json()) as { messages: PushMessage[] }).messages;
  await expect.poll(async () => (await messages()).length, { timeout: 60_000 }).toBe(1);
  const [message] = await messages();
  const payload = JSON.parse(message!.payload) as { kind: string; title: string; url: string; actions: unknown[] };
  expect(payload.kind).toBe("permission_waiting");
  expect(payload.actions).toEqual([
    expect.objectContaining({ action: "allow", title: "Allow" }),
    expect.objectContaining({ action: "deny", title: "Deny" }),
  ]);
  expect(message!.urgency).toBe("high");
  expect(message!.received_at > askedAt).toBe(true);
  // The file is untouched while the question waits.
  expect(readFileSync(readme, "utf8")).toBe(original);
  // In the app too: the header counts it.
  await page.reload();
  await expect(page.getByTestId("notifications-link")).toHaveAccessibleName(/Notifications, [1-9]\d* unread/);

  // The push message reaches the service worker as a push service would deliver it.
  const cdp = await context.newCDPSession(page);
  const registration = new Promise<string>((resolve) => {
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const live = registrations.find(
        (r: { scopeURL: string; isDeleted: boolean }) => r.scopeURL === `${APP}/` && !r.isDeleted,
      );
      if (live) resolve(live.registrationId);
    });
  });
  await cdp.send("ServiceWorker.enable");
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin: APP,
    registrationId: await registration,
    data: message!.payload,
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker"));
  await expect
    .poll(() =>
      worker.evaluate(async () => {
        const shown = await (self as unknown as WorkerScope).registration.getNotifications();
        return shown.map((notification) => ({ title: notification.title, actions: notification.actions.length }));
      }),
    )
    .toEqual([{ title: payload.title, actions: 2 }]);

  // Pressing Allow on the notification: the worker posts the one-time answer, the turn goes on.
  await worker.evaluate(async () => {
    const scope = self as unknown as WorkerScope;
    const [shown] = await scope.registration.getNotifications();
    scope.dispatchEvent(new scope.NotificationEvent("notificationclick", { notification: shown, action: "allow" }));
  });
  await expect.poll(() => readFileSync(readme, "utf8"), { timeout: 60_000 }).toContain(ADDED_LINE);

  // Order: asked, pushed once, answered by the notification (allow), and nothing pushed twice.
  await page.goto(page.url());
  expect(await messages()).toHaveLength(1);
  await context.close();
});
