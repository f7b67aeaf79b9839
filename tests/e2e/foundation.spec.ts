import { expect, test } from "@playwright/test";

test("the landing page says what the product is and how to start", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveTitle("Simple Agent Manager");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("AI coding agents in the cloud");
  await expect(
    page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Simple Agent Manager" }),
  ).toBeVisible();
  await expect(page.getByRole("link", { name: "Get started" })).toHaveAttribute("href", "/login");
});

test("/api/health answers with the status and version", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toContain("application/json");
  expect(await response.json()).toEqual({ status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
});

test("/.well-known/jwks.json publishes the RS256 signing key with a cache header", async ({ request }) => {
  const response = await request.get("/.well-known/jwks.json");
  expect(response.status()).toBe(200);
  expect(response.headers()["cache-control"]).toMatch(/public, max-age=\d+/);
  const { keys } = await response.json();
  expect(keys).toEqual([
    expect.objectContaining({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.stringMatching(/^sam-/) }),
  ]);
});

test("an unknown page shows the shared error page with a way back", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("alert")).toContainText("Not found");
  await expect(page.getByRole("alert")).toContainText("There is nothing here");
  await expect(page.getByRole("alert")).not.toContainText("No route matches");
  await page.getByRole("link", { name: "Back to the start page" }).click();
  await expect(page).toHaveURL("/");
});

test("/api/agent/download streams the uploaded agent and explains what it cannot serve", async ({ request }) => {
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  const binary = await request.get(`/api/agent/download?os=linux&arch=${arch}`);
  expect(binary.status()).toBe(200);
  expect(binary.headers()["content-type"]).toBe("application/octet-stream");
  const body = await binary.body();
  expect(body.subarray(0, 4).toString("latin1")).toBe("\x7fELF");

  const unknown = await request.get("/api/agent/download?os=windows&arch=amd64");
  expect(unknown.status()).toBe(400);
  expect((await unknown.json()).error).toContain("os must be linux or darwin");

  const missing = await request.get("/api/agent/download?os=darwin&arch=arm64");
  expect(missing.status()).toBe(404);
});

test("a state-changing request from another site is refused", async ({ request, baseURL }) => {
  const response = await request.post("/logout", { headers: { Origin: "https://evil.example" }, maxRedirects: 0 });
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain("another site");
  const sameSite = await request.post("/logout", { headers: { Origin: new URL(baseURL!).origin }, maxRedirects: 0 });
  expect(sameSite.status()).toBe(302);
});

test("a method an endpoint does not answer gets 405 with Allow and says which to use", async ({ request }) => {
  for (const path of [
    "/api/health",
    "/.well-known/jwks.json",
    "/api/agent/download",
    "/api/github/callback",
    "/workspaces/abcdefghijkl/terminal/token",
  ]) {
    const response = await request.post(path, { maxRedirects: 0 });
    expect(response.status(), path).toBe(405);
    expect(response.headers()["allow"], path).toBe("GET, HEAD");
    expect(await response.json(), path).toEqual({ error: "Use GET." });
  }
  for (const path of ["/api/github/webhook", "/api/workspaces/abcdefghijkl/heartbeat", "/api/bootstrap/x"]) {
    const response = await request.get(path, { maxRedirects: 0 });
    expect(response.status(), path).toBe(405);
    expect(response.headers()["allow"], path).toBe("POST");
    expect(await response.json(), path).toEqual({ error: "Use POST." });
  }
});

test("a page posted to without a form of its own shows the shared error page, not Remix's message for developers", async ({
  page,
}) => {
  const response = await page.request.post("/auth/github/callback", {
    headers: { Accept: "text/html" },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(405);
  // What the page shows (Remix's hydration data still carries its own message, out of sight).
  const html = await response.text();
  const start = html.indexOf('role="alert"');
  const shown = html.slice(start, html.indexOf("</div>", start));
  expect(shown).toContain("Not available this way");
  expect(shown).toContain("use the page");
  expect(shown).not.toContain("did not provide an `action`");
});
