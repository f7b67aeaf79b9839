import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import {
  APP,
  clearFaults,
  cloudState,
  createWorkspace,
  injectFault,
  installApp,
  saveHetznerToken,
  signIn,
  sql,
  status,
  sweep,
} from "./helpers";

/**
 * Workspaces end to end on the local cloud: every "server" is a real agent process, so a workspace that
 * reaches `running` has booted, redeemed its bootstrap token and called back.
 */

test.describe.configure({ mode: "serial" });
test.setTimeout(120_000);

interface CloudState {
  servers: Array<{
    id: number;
    labels: Record<string, string>;
    agent: { pid: number | null; alive: boolean; dir: string } | null;
  }>;
  firewalls: Array<{ id: number; labels?: Record<string, string> }>;
  cloudflare: { dns_records: Array<{ id: string; name: string; content: string; proxied?: boolean }> };
}

async function leftovers(request: APIRequestContext, id: string) {
  const state = await cloudState<CloudState>(request);
  return {
    servers: state.servers.filter((server) => server.labels.workspace === id).length,
    firewalls: state.firewalls.filter((firewall) => firewall.labels?.workspace === id).length,
    records: state.cloudflare.dns_records.filter((record) => record.name.startsWith(`ws-${id}.`)).length,
  };
}

async function expectNothingLeft(request: APIRequestContext, id: string) {
  await expect
    .poll(() => leftovers(request, id), { timeout: 30_000 })
    .toEqual({ servers: 0, firewalls: 0, records: 0 });
}

let prepared = false;

/** Signs in as sam-dev; the first time also saves the Hetzner token and installs the GitHub App. */
async function ready(page: Page) {
  await signIn(page, "sam-dev");
  if (prepared) return;
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  prepared = true;
}

test.afterEach(async ({ request }) => {
  await clearFaults(request);
});

test("create → running → stop → restart → running → delete, with nothing left behind", async ({ page, request }) => {
  await ready(page);
  await page.goto("/workspaces/new");
  await expect(page.getByTestId("price-small")).toContainText(/€0\.\d+\/h/);

  const id = await createWorkspace(page, "e2e main", { branch: "develop" });
  await expect(status(page)).toHaveText("creating");
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline.locator('[data-step="server"][data-status="ok"]')).toBeVisible();
  await expect(status(page)).toHaveText("running", { timeout: 60_000 });
  await expect(timeline.locator('[data-step="agent.clone"][data-status="ok"]')).toBeVisible();
  await expect(page.getByRole("link", { name: "Open terminal" })).toHaveAttribute("href", `/workspaces/${id}/terminal`);

  // The terminal reaches a shell in the cloned repository on this very server.
  await page.getByRole("link", { name: "Open terminal" }).click();
  const screen = page.getByTestId("terminal").locator(".xterm-rows");
  await expect(screen).toContainText(/[$#]/, { timeout: 20_000 });
  await page.getByTestId("terminal").click();
  await page.keyboard.type("echo lifecycle-$((6*7)) $(git rev-parse --abbrev-ref HEAD)\n", { delay: 5 });
  await expect(screen).toContainText("lifecycle-42 develop");
  await page.goto(`/workspaces/${id}`);

  let state = await cloudState<CloudState>(request);
  const server = state.servers.find((candidate) => candidate.labels.workspace === id)!;
  expect(server.labels["managed-by"]).toBe("sam");
  expect(server.agent?.alive).toBe(true);
  expect(state.cloudflare.dns_records.find((record) => record.name === `ws-${id}.localhost`)).toMatchObject({
    proxied: true,
  });
  expect(state.firewalls.filter((firewall) => firewall.labels?.workspace === id)).toHaveLength(1);

  await page.goto("/dashboard");
  const row = page.locator(`tr[data-workspace="${id}"]`);
  await expect(row).toContainText("sam-dev/hello-world@develop");
  await expect(row).toContainText("running");
  await expect(row).toContainText(/€[\d.]+ · €[\d.]+\/h/);

  // Stop: asks first, then deletes the server (the agent process ends) but keeps the workspace.
  await row.getByRole("link").click();
  await page.getByRole("button", { name: "Stop" }).click();
  await page.getByRole("button", { name: "Yes, stop" }).click();
  await expect(status(page)).toHaveText("stopped", { timeout: 30_000 });
  await expectNothingLeft(request, id);
  const pid = server.agent!.pid!;
  expect(() => process.kill(-pid, 0)).toThrow();

  // A second stop does nothing, and neither does keep-alive.
  const again = await page.request.post(`/workspaces/${id}`, { form: { intent: "stop" }, maxRedirects: 0 });
  expect(again.status()).toBe(302);
  const notKept = await page.request.post(`/workspaces/${id}`, { form: { intent: "keep-alive" } });
  expect(await notKept.text()).toContain("Nothing to keep alive");
  await expect(status(page)).toHaveText("stopped");

  // Restart first asks GitHub, with the user's own token, whether they can still see the repository: a
  // 404 (access lost) keeps the workspace stopped and says why.
  await injectFault(request, {
    service: "github",
    method: "GET",
    path: "^/repos/sam-dev/hello-world$",
    fault: {
      status: 404,
      body: {
        message: "Not Found",
        documentation_url: "https://docs.github.com/rest/repos/repos#get-a-repository",
        status: "404",
      },
    },
  });
  await page.getByRole("button", { name: "Restart" }).click();
  await expect(page.getByRole("status")).toContainText("No access to the repository");
  await expect(status(page)).toHaveText("stopped");
  await clearFaults(request);

  await page.getByRole("button", { name: "Restart" }).click();
  await expect(status(page)).toHaveText("running", { timeout: 60_000 });
  state = await cloudState<CloudState>(request);
  const fresh = state.servers.find((candidate) => candidate.labels.workspace === id)!;
  expect(fresh.id).not.toBe(server.id);

  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.locator(`tr[data-workspace="${id}"]`)).toHaveCount(0, { timeout: 30_000 });
  await expectNothingLeft(request, id);
  expect((await page.goto(`/workspaces/${id}`))?.status()).toBe(404);
});

const hetznerFaults = [
  {
    name: "Hetzner answers 500",
    fault: { status: 500, body: { error: { code: "server_error", message: "internal server error" } } },
    message: /Hetzner had an internal error \(500\)/,
  },
  {
    name: "Hetzner answers 429",
    fault: {
      status: 429,
      body: { error: { code: "rate_limit_exceeded", message: "limit of 3600 requests per hour reached" } },
    },
    message: /Hetzner is rate-limiting/,
  },
  { name: "Hetzner hangs", fault: { hang: true }, message: /Hetzner did not answer in time/ },
];

for (const { name, fault, message } of hetznerFaults) {
  test(`${name} on create: an error to act on, and nothing left`, async ({ page, request }) => {
    await ready(page);
    await injectFault(request, { service: "hetzner", method: "POST", path: "^/servers$", fault });
    const id = await createWorkspace(page, `e2e ${name}`);
    await expect(status(page)).toHaveText("error", { timeout: 45_000 });
    await expect(page.getByTestId("workspace-error")).toContainText(message);
    await expect(
      page.getByRole("list", { name: "Timeline" }).locator('[data-step="server"][data-status="error"]'),
    ).toBeVisible();
    await expectNothingLeft(request, id);
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await expect(page.locator(`tr[data-workspace="${id}"]`)).toHaveCount(0, { timeout: 30_000 });
  });
}

test("an expired GitHub sign-in is named on the form and on create, with the way to renew it", async ({
  page,
  request,
}) => {
  await ready(page);
  const expired = {
    status: 401,
    body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" },
  };
  await injectFault(request, {
    service: "github",
    method: "GET",
    path: "^/user/installations/\\d+/repositories",
    fault: expired,
    times: 2,
  });
  await page.goto("/workspaces/new");
  await expect(page.getByText("Your GitHub sign-in has expired")).toBeVisible();
  await expect(page.getByRole("link", { name: "sign in again" })).toHaveAttribute(
    "href",
    "/login?redirectTo=/workspaces/new",
  );

  // A form submitted before it expired gets the same advice, not a generic GitHub error.
  const form = {
    name: "e2e expired",
    repository: "sam-dev/hello-world",
    size: "small",
    location: "fsn1",
    idleTimeoutMinutes: "30",
    maxLifetimeHours: "12",
    agentCli: "none",
  };
  const response = await page.request.post("/workspaces/new", { form });
  expect(await response.text()).toContain("sign out and sign in again");
});

test("a DNS failure after the server exists removes the server too", async ({ page, request }) => {
  await ready(page);
  await injectFault(request, {
    service: "cloudflare",
    method: "POST",
    path: "/dns_records$",
    fault: {
      status: 500,
      body: { success: false, errors: [{ code: 10001, message: "Internal server error" }], messages: [], result: null },
    },
  });
  const id = await createWorkspace(page, "e2e dns failure");
  await expect(status(page)).toHaveText("error", { timeout: 30_000 });
  await expect(page.getByTestId("workspace-error")).toContainText(/Cloudflare had an internal error \(500\)/);
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline.locator('[data-step="server"][data-status="ok"]')).toBeVisible();
  await expect(timeline.locator('[data-step="dns"][data-status="error"]')).toBeVisible();
  await expectNothingLeft(request, id);

  // Retry works once the fault is gone.
  await page.getByRole("button", { name: "Retry" }).click();
  await expect(status(page)).toHaveText("running", { timeout: 60_000 });
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expectNothingLeft(request, id);
});

test("an agent that never calls ready is cleaned up by the sweep", async ({ page, request }) => {
  await ready(page);
  // The clone hangs, so the agent never gets as far as calling /ready.
  await injectFault(request, {
    service: "github",
    path: "^/sam-dev/hello-world\\.git/",
    fault: { hang: true },
    times: 5,
  });
  const id = await createWorkspace(page, "e2e never ready");
  await expect(
    page.getByRole("list", { name: "Timeline" }).locator('[data-step="agent.clone"][data-status="started"]'),
  ).toBeVisible({ timeout: 30_000 });
  await expect(status(page)).toHaveText("creating");

  await sql(page, id, `UPDATE workspaces SET started_at = started_at - 11 * 60 * 1000 WHERE id = '${id}'`);
  const report = await sweep(request);
  expect(report.provisioningTimedOut).toContain(id);
  await page.reload();
  await expect(status(page)).toHaveText("error");
  await expect(page.getByTestId("workspace-error")).toContainText("did not finish starting within 10 minutes");
  await expectNothingLeft(request, id);
});

test("a bootstrap token is redeemed once: concurrent redemptions, at most one wins", async ({ page, request }) => {
  await ready(page);
  const id = await createWorkspace(page, "e2e bootstrap race");
  // cloud-init writes the agent's env file before it downloads the agent: race the agent for the token.
  let env = "";
  await expect
    .poll(
      async () => {
        const server = (await cloudState<CloudState>(request)).servers.find(
          (candidate) => candidate.labels.workspace === id,
        );
        const file = server?.agent ? join(server.agent.dir, "etc/sam/agent.env") : null;
        env = file && existsSync(file) ? readFileSync(file, "utf8") : "";
        return env.includes("SAM_BOOTSTRAP_TOKEN=");
      },
      { intervals: [20], timeout: 30_000 },
    )
    .toBe(true);
  const token = /SAM_BOOTSTRAP_TOKEN=(\S+)/.exec(env)![1]!;
  const [first, second] = await Promise.all([
    request.post(`${APP}/api/bootstrap/${token}`, { data: {} }),
    request.post(`${APP}/api/bootstrap/${token}`, { data: {} }),
  ]);
  const statuses = [first.status(), second.status()].sort();
  expect(statuses.every((code) => code === 200 || code === 410)).toBe(true);
  expect(statuses.filter((code) => code === 200).length).toBeLessThanOrEqual(1);
  expect((await request.post(`${APP}/api/bootstrap/${token}`, { data: {} })).status()).toBe(410);

  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expectNothingLeft(request, id);
});

test("a workspace without activity is stopped by the control plane", async ({ page, request }) => {
  await ready(page);
  const id = await createWorkspace(page, "e2e idle");
  await expect(status(page)).toHaveText("running", { timeout: 60_000 });
  // The shortest idle timeout the form offers is 15 minutes; shorten it for the test.
  await sql(page, id, `UPDATE workspaces SET idle_timeout_seconds = 1 WHERE id = '${id}'`);
  // The next heartbeat (every 30 s) or sweep finds it idle and deletes the server.
  await expect(status(page)).toHaveText("stopped", { timeout: 75_000 });
  await expect(page.getByRole("list", { name: "Timeline" })).toContainText("No input or output for the idle timeout");
  await expectNothingLeft(request, id);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("provisioning cut off half-way (as when the app restarts) is cleaned up by the sweep", async ({
  page,
  request,
}) => {
  await ready(page);
  // The DNS call never answers: provisioning stops after the server exists, as if the app had died there.
  // (The agent still boots and checks in, so the row may read "running" without a DNS record.)
  await injectFault(request, {
    service: "cloudflare",
    method: "POST",
    path: "/dns_records$",
    fault: { hang: true },
    times: 1,
  });
  const id = await createWorkspace(page, "e2e cut off");
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline.locator('[data-step="server"][data-status="ok"]')).toBeVisible({ timeout: 30_000 });
  await expect(timeline.locator('[data-step="dns"][data-status="started"]')).toBeVisible();
  expect((await leftovers(request, id)).servers).toBe(1);

  await sql(page, id, `UPDATE workspaces SET started_at = started_at - 11 * 60 * 1000 WHERE id = '${id}'`);
  const report = await sweep(request);
  expect(report.provisioningTimedOut).toContain(id);
  await page.reload();
  await expect(status(page)).toHaveText("error");
  await expectNothingLeft(request, id);
  // When the cut-off request finally fails, its own undo must not bring anything back.
  await page.waitForTimeout(20_000);
  await expectNothingLeft(request, id);
  await expect(status(page)).toHaveText("error");
});

test("a workspace running a command that produces output is not stopped as idle", async ({ page, request }) => {
  await ready(page);
  const id = await createWorkspace(page, "e2e busy");
  await expect(status(page)).toHaveText("running", { timeout: 60_000 });
  await page.getByRole("link", { name: "Open terminal" }).click();
  const screen = page.getByTestId("terminal").locator(".xterm-rows");
  await expect(screen).toContainText(/[$#]/, { timeout: 20_000 });
  await page.getByTestId("terminal").click();
  await page.keyboard.type("while :; do echo tick-$((n+=1)); sleep 0.5; done\n");
  await expect(screen).toContainText("tick-3");

  // An idle timeout of seconds (the form offers 15 minutes at least): output every half second keeps it busy.
  await sql(page, id, `UPDATE workspaces SET idle_timeout_seconds = 5 WHERE id = '${id}'`);
  // Two heartbeats (30 s apart) and two sweeps see the output and leave it running.
  await page.waitForTimeout(65_000);
  await page.reload();
  await expect(status(page)).toHaveText("running");
  expect((await leftovers(request, id)).servers).toBe(1);

  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expectNothingLeft(request, id);
});

test("another user gets 404 for every page and action of the first user's workspace", async ({
  page,
  browser,
  request,
}) => {
  await ready(page);
  const id = await createWorkspace(page, "e2e private");
  await expect(status(page)).toHaveText("running", { timeout: 60_000 });

  const other = await (await browser.newContext()).newPage();
  await signIn(other, "sam-other");
  for (const path of [`/workspaces/${id}`, `/workspaces/${id}/terminal`]) {
    expect((await other.goto(path))?.status(), path).toBe(404);
  }
  for (const intent of ["stop", "restart", "delete", "keep-alive"]) {
    const response = await other.request.post(`/workspaces/${id}`, { form: { intent }, maxRedirects: 0 });
    expect(response.status(), intent).toBe(404);
  }
  await other.goto("/dashboard");
  await expect(other.locator(`tr[data-workspace="${id}"]`)).toHaveCount(0);
  // Agent endpoints take a callback token for this workspace, never a browser session.
  for (const endpoint of ["boot-log", "ready", "heartbeat", "git-token", "request-stop"]) {
    const response = await other.request.post(`/api/workspaces/${id}/${endpoint}`, { data: {} });
    expect(response.status(), endpoint).toBe(401);
  }
  await expect(status(page)).toHaveText("running");

  // The owner's keep-alive is taken (and only while the workspace runs; see the lifecycle test).
  const kept = await page.request.post(`/workspaces/${id}`, { form: { intent: "keep-alive" } });
  expect(await kept.text()).toContain("Kept alive");

  // The admin (sam-dev, the first user) sees every workspace with its owner; anyone else gets 404 there.
  expect((await other.goto("/admin"))?.status()).toBe(404);
  await page.goto("/admin");
  const listed = page
    .getByRole("table", { name: "All workspaces" })
    .getByRole("row")
    .filter({ hasText: "e2e private" });
  await expect(listed).toHaveCount(1);
  await expect(listed).toContainText("sam-dev");
  await expect(listed).toContainText("running");
  await expect(listed).toContainText(/small · [a-z]+\d/);

  await page.goto(`/workspaces/${id}`);
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expectNothingLeft(request, id);
});
