import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { APP, CLOUD, createWorkspace, installApp, saveHetznerToken, signIn, sql, status, sweep } from "./helpers";

/**
 * Tokens bound to what they are for, and no work lost to a blip (docs/security.md): an old run's callback
 * token, a silent but living agent, git push permissions, sign-out and removal from the allow-list, on the
 * local cloud where every server is a real agent process.
 */

test.describe.configure({ mode: "serial" });
test.setTimeout(240_000);

interface CloudServer {
  id: number;
  labels: Record<string, string>;
  agent: { pid: number | null; alive: boolean; dir: string } | null;
}

async function serverOf(request: APIRequestContext, id: string): Promise<CloudServer | undefined> {
  const state = (await (await request.get(`${CLOUD}/_local/state`)).json()) as { servers: CloudServer[] };
  return state.servers.find((server) => server.labels.workspace === id);
}

const timeline = (page: Page) => page.getByRole("list", { name: "Timeline" });

async function waitRunning(page: Page, id: string) {
  await page.goto(`/workspaces/${id}`);
  await expect(status(page)).toHaveText("running", { timeout: 120_000 });
}

async function openTerminal(page: Page, id: string) {
  await page.goto(`/workspaces/${id}/terminal`);
  const screen = page.getByTestId("terminal").locator(".xterm-rows");
  await expect(screen).toContainText(/[$#]/, { timeout: 30_000 });
  // The status badge shows only while not connected.
  await expect(page.getByTestId("connection-status")).toHaveCount(0);
  return screen;
}

async function type(page: Page, line: string) {
  await page.getByTestId("terminal").click();
  await page.keyboard.type(`${line}\n`, { delay: 5 });
}

test("an old run's callback token is refused; a silent agent that answers is kept; git push works with write", async ({
  page,
  request,
}) => {
  await signIn(page, "sam-dev");
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  const id = await createWorkspace(page, "e2e tokens");
  await waitRunning(page, id);

  // git push with the App's Contents: Read and write reaches GitHub.
  const screen = await openTerminal(page, id);
  await type(
    page,
    "git -c user.name=e2e -c user.email=e2e@example.test commit -q --allow-empty -m e2e && git push -q origin HEAD:refs/heads/e2e-push && echo PUSHED-$((6*7))",
  );
  await expect(screen).toContainText("PUSHED-42", { timeout: 30_000 });
  const branches = await request.get(`${CLOUD}/github-api/repos/sam-dev/hello-world/branches`);
  expect(((await branches.json()) as Array<{ name: string }>).map((branch) => branch.name)).toContain("e2e-push");

  // A callback token copied from the first run's VM…
  const first = (await serverOf(request, id))!;
  const saved = JSON.parse(readFileSync(join(first.agent!.dir, "var/lib/sam-agent/state.json"), "utf8")) as {
    callback_token: string;
  };
  const oldToken = saved.callback_token;
  expect(oldToken).toMatch(/^ey/);

  await page.goto(`/workspaces/${id}`);
  await page.getByRole("button", { name: "Stop" }).click();
  await page.getByRole("button", { name: "Yes, stop" }).click();
  await expect(status(page)).toHaveText("stopped", { timeout: 60_000 });
  await page.getByRole("button", { name: "Restart" }).click();
  await expect(status(page)).toHaveText("running", { timeout: 120_000 });

  // …is refused by every callback of the new run, which goes on untouched.
  for (const callback of ["heartbeat", "git-token", "request-stop"]) {
    const response = await request.post(`${APP}/api/workspaces/${id}/${callback}`, {
      headers: { Authorization: `Bearer ${oldToken}` },
      data:
        callback === "heartbeat"
          ? { last_input_at: null, last_output_at: null, attached_clients: 0, sessions: 0, agent_running: false }
          : {},
    });
    expect(response.status(), callback).toBe(401);
    expect(await response.json()).toMatchObject({ code: "revoked" });
  }
  await page.reload();
  await expect(status(page)).toHaveText("running");

  // The control plane heard nothing for five minutes (an outage), but the probe reaches the agent: kept.
  await expect
    .poll(
      async () => {
        await sql(page, id, `UPDATE workspaces SET last_heartbeat_at = ${Date.now() - 5 * 60_000} WHERE id = '${id}'`);
        return (await sweep(request)).silentButAlive;
      },
      { timeout: 90_000, intervals: [1000] },
    )
    .toContain(id);
  await page.goto(`/workspaces/${id}`);
  await expect(status(page)).toHaveText("running");
  await expect(timeline(page).locator('[data-step="heartbeat"]')).toContainText("answers its health check");

  // The agent really is gone: the probe fails too, so the workspace is stopped. (The local runner sweeps
  // every 30 s too, so whichever sweep gets there first stops it: the row, not one report, is checked.)
  const second = (await serverOf(request, id))!;
  process.kill(second.agent!.pid!, "SIGKILL");
  await expect
    .poll(
      async () => {
        await sql(page, id, `UPDATE workspaces SET last_heartbeat_at = ${Date.now() - 5 * 60_000} WHERE id = '${id}'`);
        await sweep(request);
        await page.reload();
        return status(page).textContent();
      },
      { timeout: 90_000, intervals: [1000] },
    )
    .toMatch(/stopping|stopped/);
  await expect(status(page)).toHaveText("stopped", { timeout: 60_000 });
  await expect(timeline(page)).toContainText("did not answer a health check");
});

test("with a read-only App, git push is refused and the timeline names the permission; sign-out drops the terminal", async ({
  page,
  request,
}) => {
  // sam-other signs in first, so SAM knows whose installation the webhook announces.
  await signIn(page, "sam-other");
  const installed = await request.post(`${CLOUD}/_local/github/installations`, {
    data: { login: "sam-other", permissions: { contents: "read", metadata: "read" }, webhook: true },
  });
  expect(installed.status()).toBe(201);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await page.goto("/workspaces/new");
  await page.getByLabel("Name").fill("e2e read-only");
  await page.getByLabel("Repository").fill("sam-other/other-repo");
  await page.getByLabel("Small").check();
  await page.getByLabel("None").check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  const id = page.url().split("/").pop()!;
  await waitRunning(page, id);
  await expect(timeline(page).locator('[data-step="git"]')).toContainText("Contents: Read-only");
  await expect(timeline(page).locator('[data-step="git"]')).toContainText("Contents: Read and write");

  const screen = await openTerminal(page, id);
  await type(
    page,
    "git -c user.name=e2e -c user.email=e2e@example.test commit -q --allow-empty -m e2e && git push origin HEAD:refs/heads/e2e-ro || echo REFUSED-$((6*7))",
  );
  await expect(screen).toContainText("REFUSED-42", { timeout: 30_000 });
  await expect(screen).toContainText("denied");

  // Signing out in another tab of this browser ends this browser's terminal tokens: within one heartbeat
  // the agent drops the open terminal, and it cannot come back.
  const other = await page.context().newPage();
  await other.goto("/dashboard");
  await other.getByTestId("user-menu").click();
  await other.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByTestId("connection-status")).toBeVisible({ timeout: 60_000 });
  await page.waitForTimeout(5_000);
  await expect(page.getByTestId("connection-status")).toBeVisible();
});

test("removing a user from the allow-list stops their workspace and drops their open terminal", async ({
  page,
  browser,
  request,
}) => {
  await signIn(page, "sam-other");
  await page.goto("/dashboard");
  const row = page.locator("tr[data-workspace]").filter({ hasText: "e2e read-only" });
  const id = (await row.getAttribute("data-workspace"))!;
  await openTerminal(page, id);

  const admin = await browser.newContext();
  const adminPage = await admin.newPage();
  await signIn(adminPage, "sam-dev");
  await adminPage.goto("/admin");
  await adminPage.getByLabel("GitHub logins allowed to sign in").fill("sam-dev");
  await adminPage.getByRole("button", { name: "Save policy" }).click();
  await expect(adminPage.getByRole("status")).toContainText("Instance policy saved");

  await expect(page.getByTestId("connection-status")).toBeVisible({ timeout: 60_000 });
  await expect.poll(async () => (await serverOf(request, id))?.agent?.alive ?? false, { timeout: 60_000 }).toBe(false);

  // Open the instance again for the specs that follow.
  await adminPage.goto("/admin");
  await adminPage.getByLabel("GitHub logins allowed to sign in").fill("");
  await adminPage.getByRole("button", { name: "Save policy" }).click();
  await expect(adminPage.getByRole("status")).toContainText("Instance policy saved");
  await admin.close();
});
