import { expect, test, type APIRequestContext } from "@playwright/test";
import { CLOUD, cloudState, createWorkspace, installApp, saveHetznerToken, signIn } from "./helpers";

/**
 * What the real providers refuse and the local cloud now refuses too (issue 12): a server Hetzner is still
 * creating cannot be deleted yet (423 locked), and a read-only Hetzner token cannot create anything.
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(120_000);

interface CloudState {
  servers: Array<{ id: number; labels: Record<string, string>; status: string }>;
  firewalls: Array<{ id: number; labels?: Record<string, string> }>;
  cloudflare: { dns_records: Array<{ name: string }> };
}

async function setBootDelay(request: APIRequestContext, ms: number) {
  expect((await request.put(`${CLOUD}/_local/boot-delay`, { data: { ms } })).ok()).toBeTruthy();
}

test.afterEach(async ({ request }) => {
  await setBootDelay(request, 0);
});

test("stopping while Hetzner still creates the server waits for it, and leaves nothing billing", async ({
  page,
  request,
}) => {
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  // Hetzner's create action runs for a while after POST /servers answers; until it ends, DELETE is 423 locked.
  await setBootDelay(request, 8000);
  const id = await createWorkspace(page, "e2e stop while creating");
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline.locator('[data-step="server"][data-status="ok"]')).toBeVisible({ timeout: 30_000 });
  const created = (await cloudState<CloudState>(request)).servers.find((server) => server.labels.workspace === id)!;
  expect(created.status).toBe("initializing");

  await page.getByRole("button", { name: "Stop" }).click();
  await page.getByRole("button", { name: "Yes, stop" }).click();
  await expect(page.locator("h1 [data-status]")).toHaveText("stopped", { timeout: 60_000 });
  const state = await cloudState<CloudState>(request);
  expect({
    servers: state.servers.filter((server) => server.labels.workspace === id).length,
    firewalls: state.firewalls.filter((firewall) => firewall.labels?.workspace === id).length,
    records: state.cloudflare.dns_records.filter((record) => record.name.startsWith(`ws-${id}.`)).length,
  }).toEqual({ servers: 0, firewalls: 0, records: 0 });
});

test("a read-only Hetzner token is refused when saved, and called read-only", async ({ page, request }) => {
  const readOnly = "r0".repeat(32);
  const added = await request.post(`${CLOUD}/_local/hetzner/tokens`, { data: { token: readOnly, read_only: true } });
  expect(added.ok()).toBeTruthy();
  await signIn(page, "sam-other");
  await saveHetznerToken(page, readOnly);
  await expect(page.getByText("This Hetzner token is read-only")).toBeVisible();
  await expect(page.getByTestId("saved-hetzner")).toHaveCount(0);
});
