import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { LOCAL_HETZNER_TOKEN } from "../../scripts/local-env.mjs";

export const CLOUD = `http://127.0.0.1:${process.env.SAM_E2E_CLOUD_PORT ?? 8799}`;
export { LOCAL_HETZNER_TOKEN };

/** Chooses who the local GitHub considers signed in (its own session cookie), then signs in to SAM. */
export async function signIn(page: Page, login = "sam-dev", from = "/dashboard") {
  await page.goto(`${CLOUD}/github/session?login=${encodeURIComponent(login)}`);
  await page.goto(from);
  await expect(page).toHaveURL(/\/login\?redirectTo=/);
  await page.getByRole("button", { name: "Sign in with GitHub" }).click();
  await expect(page.getByTestId("user-menu")).toContainText(login);
}

export async function saveHetznerToken(page: Page, token = LOCAL_HETZNER_TOKEN) {
  await page.goto("/settings");
  await page.getByLabel(/API token|Replace with a new token/).fill(token);
  await page.getByRole("button", { name: "Check and save" }).click();
}

export async function installApp(page: Page) {
  await page.goto("/settings");
  await page.getByRole("link", { name: "Install the GitHub App" }).click();
  await page.getByRole("button", { name: /install/i }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole("status")).toContainText("GitHub App installed");
}

export async function injectFault(request: APIRequestContext, fault: Record<string, unknown>) {
  const response = await request.post(`${CLOUD}/_local/faults`, { data: fault });
  expect(response.ok()).toBeTruthy();
}

export async function clearFaults(request: APIRequestContext) {
  await request.delete(`${CLOUD}/_local/faults`);
}

/** Creates a small workspace from sam-dev/hello-world through the form and returns its id. */
export async function createWorkspace(
  page: Page,
  name: string,
  options: { branch?: string; location?: string } = {},
): Promise<string> {
  await page.goto("/dashboard");
  await page.getByRole("link", { name: "New workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/new$/);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Repository").fill("sam-dev/hello-world");
  if (options.branch) await page.getByLabel("Branch").fill(options.branch);
  if (options.location) await page.getByLabel("Location").selectOption(options.location);
  await page.getByLabel("Small").check();
  await page.getByLabel("None").check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  return page.url().split("/").pop()!;
}
