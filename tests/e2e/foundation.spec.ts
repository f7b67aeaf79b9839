import { expect, test } from "@playwright/test";

test("the landing page says what the product is and how to start", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveTitle("Simple Agent Manager");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("AI coding agents in the cloud");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Simple Agent Manager" })).toBeVisible();
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
  expect(keys).toEqual([expect.objectContaining({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.stringMatching(/^sam-/) })]);
});

test("an unknown page shows the shared error page with a way back", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("alert")).toContainText("Not found");
  await page.getByRole("link", { name: "Back to the start page" }).click();
  await expect(page).toHaveURL("/");
});
