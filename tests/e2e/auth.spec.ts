import { expect, test } from "@playwright/test";
import { clearFaults, CLOUD, injectFault, installApp, LOCAL_HETZNER_TOKEN, saveHetznerToken, signIn } from "./helpers";

test.afterEach(async ({ request }) => clearFaults(request));

test("sign in through GitHub returns to the page asked for, and sign-out ends the session", async ({ page }) => {
  await signIn(page, "sam-dev", "/settings/audit");
  await expect(page).toHaveURL("/settings/audit");
  await expect(page.getByRole("table", { name: "Audit log" })).toContainText("sign_in");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL("/");
  await page.goto("/settings");
  await expect(page).toHaveURL("/login?redirectTo=%2Fsettings");
});

test("the Hetzner token is checked with Hetzner, stored, shown by its last 4, and removable", async ({
  page,
  request,
}) => {
  await signIn(page);
  // Specs before this one may have saved the local token for this user: start from none.
  await page.goto("/settings");
  const remove = page.getByRole("button", { name: "Remove Hetzner Cloud token" });
  if (await remove.isVisible()) {
    await remove.click();
    await expect(page.getByTestId("saved-hetzner")).toHaveCount(0);
  }

  await saveHetznerToken(page, "Q".repeat(64));
  await expect(page.getByText("Hetzner rejected this token")).toBeVisible();
  await expect(page.getByTestId("saved-hetzner")).toHaveCount(0);

  await saveHetznerToken(page, "short");
  await expect(page.getByText("A Hetzner Cloud API token is 64 letters and digits")).toBeVisible();
  await expect(page.getByLabel("API token")).toHaveAttribute("aria-invalid", "true");

  await injectFault(request, { service: "hetzner", path: ".*", times: 5, fault: { reset: true } });
  await saveHetznerToken(page);
  await expect(page.getByText("Hetzner could not be reached; nothing was saved")).toBeVisible();
  await expect(page.getByTestId("saved-hetzner")).toHaveCount(0);
  await clearFaults(request);

  await saveHetznerToken(page);
  await expect(page.getByRole("status")).toContainText("Hetzner token saved");
  await expect(page.getByTestId("saved-hetzner")).toContainText(`ending in ${LOCAL_HETZNER_TOKEN.slice(-4)}`);
  const html = await page.content();
  expect(html).not.toContain(LOCAL_HETZNER_TOKEN);

  await page.getByRole("button", { name: "Remove Hetzner Cloud token" }).click();
  await expect(page.getByTestId("saved-hetzner")).toHaveCount(0);
});

test("agent credentials are format-checked and shown by their last 4", async ({ page }) => {
  await signIn(page);
  await page.goto("/settings");
  await page.getByRole("combobox", { name: "Credential" }).selectOption("openai_api_key");
  await page.getByLabel("Key").fill("not-a-key");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("An OpenAI API key starts with sk-")).toBeVisible();

  await page.getByLabel("Key").fill("sk-proj-abcdefghijklmnopqrstuvwxyz0123");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("saved-openai_api_key")).toContainText("ending in 0123");
  await page.getByRole("button", { name: "Remove OpenAI API key" }).click();
  await expect(page.getByTestId("saved-openai_api_key")).toHaveCount(0);
});

test("installing the GitHub App records the installation only after GitHub confirms it", async ({ page }) => {
  await signIn(page);
  await installApp(page);
  await expect(page.getByRole("list", { name: "Installations" })).toContainText("sam-dev");
  await expect(page.getByRole("list", { name: "Installations" })).toContainText(/\d+ repositor/);

  // A forged setup redirect for an installation this user cannot see records nothing.
  await page.goto("/api/github/callback?installation_id=999999");
  await expect(page.getByRole("status")).toContainText("Installation not recorded");
});

test("webhooks are refused without a valid signature", async ({ request }) => {
  const body = JSON.stringify({ action: "deleted", installation: { id: 1 } });
  const unsigned = await request.post("/api/github/webhook", {
    data: body,
    headers: { "X-GitHub-Event": "installation", "Content-Type": "application/json" },
  });
  expect(unsigned.status()).toBe(401);
  const forged = await request.post("/api/github/webhook", {
    data: body,
    headers: {
      "X-GitHub-Event": "installation",
      "Content-Type": "application/json",
      "X-Hub-Signature-256": `sha256=${"0".repeat(64)}`,
    },
  });
  expect(forged.status()).toBe(401);
});

test("another GitHub user sees none of the first user's data", async ({ browser }) => {
  const first = await browser.newPage();
  await signIn(first, "sam-dev");
  await saveHetznerToken(first);
  await expect(first.getByTestId("saved-hetzner")).toBeVisible();

  const second = await (await browser.newContext()).newPage();
  await signIn(second, "sam-other");
  await second.goto("/settings");
  await expect(second.getByTestId("saved-hetzner")).toHaveCount(0);
  await second.goto("/settings/audit");
  await expect(second.getByRole("table", { name: "Audit log" })).not.toContainText("credential.saved");
  const admin = await second.goto("/admin");
  expect(admin?.status()).toBe(404);
});

test("an admin's allow-list keeps everyone else out with a clear page, and ends their sessions", async ({
  browser,
}) => {
  const stranger = await (await browser.newContext()).newPage();
  await signIn(stranger, "sam-other");

  const admin = await browser.newPage();
  await signIn(admin, "sam-dev");
  await admin.goto("/admin");
  await admin.getByLabel("GitHub logins allowed to sign in").fill("sam-dev");
  await admin.getByRole("button", { name: "Save policy" }).click();
  await expect(admin.getByRole("status")).toContainText("Instance policy saved");

  // Already signed in: the next request ends the session.
  await stranger.goto("/settings");
  await expect(stranger.getByRole("heading", { name: "This instance is private" })).toBeVisible();
  await stranger.goto("/settings");
  await expect(stranger).toHaveURL(/\/login/);
  // Signing in again gets no account.
  await stranger.getByRole("button", { name: "Sign in with GitHub" }).click();
  await expect(stranger.getByRole("heading", { name: "This instance is private" })).toBeVisible();

  await admin.getByLabel("GitHub logins allowed to sign in").fill("");
  await admin.getByRole("button", { name: "Save policy" }).click();
  await expect(admin.getByRole("table", { name: "Audit log" })).toContainText("policy.updated");
});

test("a state or return-to cookie tossed for the parent domain neither signs the victim in nor breaks sign-in", async ({
  browser,
}) => {
  // The attacker (owner of a workspace host, same site as the app) starts a sign-in of their own and gets a
  // code for their own account...
  const attacker = (await browser.newContext()).request;
  await attacker.get(`${CLOUD}/github/session?login=sam-other`);
  const start = await attacker.post("/auth/github", { form: { redirectTo: "/dashboard" }, maxRedirects: 0 });
  const authorize = await attacker.get(start.headers().location!, { maxRedirects: 0 });
  const attackerCallback = authorize.headers().location!;
  expect(attackerCallback).toContain("code=");
  const state = new URL(attackerCallback).searchParams.get("state")!;

  // ...plants a matching state cookie and a malformed return-to for the whole domain in the victim's browser,
  // and sends the victim to the callback with the attacker's code.
  const victimContext = await browser.newContext();
  const domain = new URL(attackerCallback).hostname;
  await victimContext.addCookies([
    { name: "__github_state", value: `state=${state}`, domain, path: "/auth" },
    { name: "sam_oauth", value: encodeURIComponent(btoa(JSON.stringify({ state }))), domain, path: "/auth" },
    { name: "__sam_return_to", value: "%E0%A4%A", domain, path: "/" },
  ]);
  const victim = await victimContext.newPage();
  const answer = await victim.goto(attackerCallback);
  expect(answer?.status()).toBe(400);
  await expect(victim.getByText("not started in this browser")).toBeVisible();
  await victim.goto("/settings");
  await expect(victim).toHaveURL(/\/login\?redirectTo=/);

  // The victim's own sign-in still works and returns where asked (the planted cookies are ignored).
  await victimContext.clearCookies({ name: "sam_oauth" });
  await signIn(victim, "sam-dev", "/settings/audit");
  await expect(victim).toHaveURL("/settings/audit");
});

test("pages carry a CSP whose nonce only this response's scripts have, and nothing violates it", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
  });
  const first = await page.goto("/login");
  const policy = first!.headers()["content-security-policy"]!;
  const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
  expect(nonce).toBeTruthy();
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).toMatch(/connect-src 'self' http:\/\/\*\.localhost:\d+ ws:\/\/\*\.localhost:\d+/);
  expect(await first!.text()).toContain(`nonce="${nonce}"`);
  expect(first!.headers()["cache-control"]).toBe("no-store");
  expect(first!.headers()["referrer-policy"]).toBe("same-origin");
  const second = await page.goto("/login");
  expect(second!.headers()["content-security-policy"]).not.toContain(nonce!);

  await signIn(page, "sam-dev", "/settings");
  await page.goto("/dashboard");
  await expect(page.getByTestId("user-menu")).toBeVisible();
  expect(violations).toEqual([]);
});

test("a POST without a form answers 400 with a sentence, not a server error", async ({ request }) => {
  const bare = await request.fetch("/auth/github", { method: "POST" });
  expect(bare.status()).toBe(400);
  expect(await bare.text()).toMatch(/form/);
  const json = await request.post("/auth/github", { data: { redirectTo: "/" } });
  expect(json.status()).toBe(400);
  expect(await json.text()).toMatch(/form submission/);
});
