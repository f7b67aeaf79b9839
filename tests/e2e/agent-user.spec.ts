import { expect, test, type Page } from "@playwright/test";
import {
  cloudState,
  createWorkspace,
  deleteWorkspace,
  installApp,
  saveHetznerToken,
  screen,
  signIn,
  type,
  waitForLocalCloud,
} from "./helpers";

/**
 * Nothing in a workspace runs as root: the terminal is the unprivileged session user, who cannot read the
 * agent's state (its callback token). The coding agent's CLI installs on a server that started without
 * Node.js (ubuntu-24.04), from the Node cloud-init puts under /opt/sam, and runs in the terminal.
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(300_000);

async function openTerminal(page: Page, workspaceId: string) {
  await page.goto(`/workspaces/${workspaceId}/terminal`);
  // Creating the session waits for the agent, which a loaded machine makes slow.
  await expect(page).toHaveURL(/\?session=/, { timeout: 20_000 });
  await expect(screen(page)).toContainText(/[$#]/, { timeout: 20_000 });
}

test.beforeAll(async ({ browser, request }) => {
  await waitForLocalCloud(request);
  const page = await browser.newPage();
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  await page.close();
});

/** Workspaces each test made, deleted after it so later specs meet the user with none running. */
const made: string[] = [];

test.afterEach(async ({ page }) => {
  // The test's own page, still signed in.
  for (const id of made.splice(0)) await deleteWorkspace(page, id);
});

test("the terminal is not root and cannot read the agent's state file", async ({ page, request }) => {
  await signIn(page);
  const id = await createWorkspace(page, "e2e not root");
  made.push(id);
  await expect(page.locator("h1 [data-status]")).toHaveText("running", { timeout: 90_000 });
  await openTerminal(page, id);
  // The agent's data dir is /var/lib/sam-agent on a VM, inside the server's directory here. The shell starts in
  // the repository, and its HOME is the user's home, both on the workspace's volume.
  const state = await cloudState<{ servers: Array<{ labels: Record<string, string>; agent: { dir: string } }> }>(
    request,
  );
  const serverDir = state.servers.find((server) => server.labels.workspace === id)!.agent.dir;
  await type(page, `echo "uid=$(id -u) home=$HOME"; cat ${serverDir}/var/lib/sam-agent/state.json; echo "exit=$?"\n`);
  await expect(screen(page)).toContainText(/uid=\d+ home=\S+\/home/);
  const uid = Number(/uid=(\d+)/.exec(await screen(page).innerText())![1]);
  expect(uid).not.toBe(0);
  await expect(screen(page)).toContainText("Permission denied");
  await expect(screen(page)).toContainText("exit=1");
  await expect(screen(page)).not.toContainText("callback");
  // The repository was cloned as this user: they can change it.
  await type(page, "touch README.md && git status --short && echo writable\n");
  await expect(screen(page)).toContainText("writable");
});

test("Claude Code installs on a server that started without Node, and runs in the terminal", async ({ page }) => {
  await signIn(page);
  const id = await createWorkspace(page, "e2e claude", { agent: "Claude Code" });
  made.push(id);
  // The workspace is ready once the boot has installed the CLI (or said why it could not).
  await expect(page.locator("h1 [data-status]")).toHaveText("running", { timeout: 240_000 });
  await expect(page.getByText(/installed @anthropic-ai\/claude-code@\d+\.\d+\.\d+ \(claude\)/).first()).toBeVisible();
  await openTerminal(page, id);
  await type(page, "claude --version; command -v claude\n");
  await expect(screen(page)).toContainText(/\d+\.\d+\.\d+ \(Claude Code\)/, { timeout: 30_000 });
  await expect(screen(page)).toContainText(/\/opt\/sam\/bin\/claude/);
});
