import { expect, test } from "@playwright/test";
import { CLOUD, createWorkspace, installApp, saveHetznerToken, screen, shellPrompt, signIn, type } from "./helpers";

/**
 * The browser terminal against a real agent on the local cloud: keystrokes go over the WebSocket to a real
 * PTY, and a reload reattaches the same session with its screen restored.
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(150_000);

let workspaceId: string;
let pageErrors: string[] = [];

// A script error inside xterm.js freezes the terminal without any visible message; fail on it.
test.beforeEach(({ page }) => {
  pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
});
test.afterEach(() => expect(pageErrors).toEqual([]));

test.beforeAll(async ({ browser, request }) => {
  const page = await browser.newPage();
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  workspaceId = await createWorkspace(page, "e2e terminal");
  await expect(page.locator("h1 [data-status]")).toHaveText("running", { timeout: 90_000 });
  await page.close();
  // As in production, the agent serves TLS on 8443 at its server's public address with an Origin CA
  // certificate for its name, and the edge reaches it only through that (see docs/local-cloud.md).
  const state = await (await request.get(`${CLOUD}/_local/state`)).json();
  const server = state.servers.find((s: { labels: Record<string, string> }) => s.labels.workspace === workspaceId);
  expect(server.agent).toMatchObject({ address: server.ipv4, port: 8443, alive: true });
  const certificates = state.cloudflare.origin_certificates.filter(
    (c: { hostnames: string[]; revoked_at: string | null }) =>
      c.hostnames.includes(`ws-${workspaceId}.localhost`) && !c.revoked_at,
  );
  expect(certificates).toHaveLength(1);
});

test("type in the terminal, reload, and keep typing in the same shell", async ({ page }) => {
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}`);
  await page.getByRole("link", { name: "Open terminal" }).click();
  await expect(page).toHaveURL(new RegExp(`/workspaces/${workspaceId}/terminal\\?session=`));
  await expect(page.getByRole("tab", { selected: true })).toBeVisible();
  await shellPrompt(page);

  await type(page, "MARK=$((6*7))-$RANDOM; echo hello-$MARK\n");
  await expect(screen(page)).toContainText(/hello-42-\d+/);
  const marker = (await screen(page).innerText()).match(/hello-42-\d+/)![0];
  const sessionUrl = page.url();

  await page.reload();
  await expect(page).toHaveURL(sessionUrl);
  await expect(screen(page)).toContainText(marker);
  // Same shell: the variable set before the reload is still there.
  await type(page, "echo again-$MARK\n");
  await expect(screen(page)).toContainText(`again-${marker.slice("hello-".length)}`);
});

test("vim survives a reload with its screen intact", async ({ page }) => {
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}/terminal`);
  await expect(page).toHaveURL(/\?session=/);
  await shellPrompt(page);
  await type(page, "vim -u NONE -N -n notes.txt\n");
  // vim is ready for keys once it has drawn its status line.
  await expect(screen(page)).toContainText('"notes.txt" [New]');
  // vim may still be reading its terminal's answers to start-up queries; retry "i" until insert mode shows.
  await expect(async () => {
    await type(page, "i");
    await expect(screen(page)).toContainText("-- INSERT --", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await type(page, "vim-survives-reload");
  await page.keyboard.press("Escape");
  await expect(screen(page)).toContainText("vim-survives-reload");

  await page.reload();
  await expect(screen(page)).toContainText("vim-survives-reload");
  await expect(screen(page)).toContainText("~");
  await type(page, ":q!\n");
  await type(page, "echo vim-closed\n");
  await expect(screen(page)).toContainText("vim-closed");
});

test("several sessions in tabs; another user's terminal answers 404", async ({ page, browser }) => {
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}/terminal`);
  await expect(page).toHaveURL(/\?session=/);
  const first = page.url();
  await page.getByRole("button", { name: "New session" }).click();
  await expect(page).not.toHaveURL(first);
  await shellPrompt(page);
  await expect(page.getByRole("tab")).toHaveCount(2);
  await type(page, "echo in-second-tab\n");
  await expect(screen(page)).toContainText("in-second-tab");
  await page.getByRole("tab").first().click();
  await expect(screen(page)).not.toContainText("in-second-tab");

  const stranger = await (await browser.newContext()).newPage();
  await signIn(stranger, "sam-other");
  expect((await stranger.goto(`/workspaces/${workspaceId}/terminal`))?.status()).toBe(404);
  const token = await stranger.request.get(`/workspaces/${workspaceId}/terminal/token`);
  expect(token.status()).toBe(404);
});
