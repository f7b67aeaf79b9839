// Screenshots of the dashboard, a workspace and its terminal, light and dark, for the README.
//
//   npm run screenshots                         prepare, serve the app on its own ports, write docs/screenshots/
//   npm run screenshots -- --out DIR            the same into DIR
//   npm run screenshots -- --app URL --cloud URL --out DIR
//                                               against an app already running (the end-to-end suite does this)
//
// It signs in as the local GitHub's sam-dev, creates one workspace, waits for it to run, takes the six pictures
// and deletes the workspace again.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium, type Page } from "@playwright/test";
import { LOCAL_HETZNER_TOKEN } from "./local-env.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Serves the app on ports of its own, after the usual (idempotent) set-up; returns how to stop it. */
async function serveApp(appPort: number, cloudPort: number) {
  const env = { ...process.env, SAM_E2E_APP_PORT: String(appPort), SAM_E2E_CLOUD_PORT: String(cloudPort) };
  const prepared = spawnSync("node", ["scripts/dev.mjs", "prepare", "--e2e"], { cwd: root, env, stdio: "inherit" });
  if (prepared.status !== 0) throw new Error("the set-up (node scripts/dev.mjs prepare --e2e) failed");
  const child = spawn("node", ["scripts/dev.mjs", "serve", "--e2e"], {
    cwd: root,
    env,
    detached: true,
    stdio: "ignore",
  });
  const app = `http://localhost:${appPort}`;
  const cloud = `http://127.0.0.1:${cloudPort}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      if ((await fetch(`${app}/api/health`)).ok && (await fetch(`${cloud}/_local/state`)).ok) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("the app did not start within 3 minutes");
    await sleep(500);
  }
  const stop = async () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {}
    await Promise.race([new Promise((done) => child.once("exit", done)), sleep(8000)]);
  };
  return { app, cloud, stop };
}

async function setUp(page: Page, cloud: string) {
  await page.goto(`${cloud}/github/session?login=sam-dev`);
  await page.goto("/dashboard");
  if (await page.getByRole("button", { name: "Sign in with GitHub" }).isVisible())
    await page.getByRole("button", { name: "Sign in with GitHub" }).click();
  await page.getByTestId("user-menu").waitFor();
  await page.goto("/settings");
  if (!(await page.getByTestId("saved-hetzner").isVisible())) {
    await page.getByLabel("API token").fill(LOCAL_HETZNER_TOKEN);
    await page.getByRole("button", { name: "Check and save" }).click();
    await page.getByTestId("saved-hetzner").waitFor();
  }
  // Installed every time: the local GitHub forgets its installations when it restarts, the app's database not.
  await page.getByRole("link", { name: "Install the GitHub App" }).click();
  await page.getByRole("button", { name: /install/i }).click();
  await page.waitForURL(/\/settings$/);
}

async function createWorkspace(page: Page): Promise<string> {
  await page.goto("/workspaces/new");
  await page.getByLabel("Name").fill("hello-world");
  await page.getByLabel("Repository").fill("sam-dev/hello-world");
  await page.getByLabel("Small").check();
  await page.getByLabel("None").check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.waitForURL(/\/workspaces\/[a-z2-7]{12}$/).catch(async () => {
    const problems = await page.locator('[role="alert"], [id$="-error"]').allInnerTexts();
    throw new Error(`the workspace was not created: ${problems.join("; ") || "no error shown"}`);
  });
  const id = page.url().split("/").pop()!;
  await page.locator('h1 [data-status="running"]').waitFor({ timeout: 120_000 });
  return id;
}

export async function takeScreenshots({ app, cloud, out }: { app: string; cloud: string; out: string }) {
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const written: string[] = [];
  try {
    const context = await browser.newContext({ baseURL: app, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await setUp(page, cloud);
    const id = await createWorkspace(page);
    try {
      await page.goto(`/workspaces/${id}/terminal`);
      const screen = page.getByTestId("terminal").locator(".xterm-rows");
      await screen.getByText(/[$#]/).first().waitFor({ timeout: 30_000 });
      await page.keyboard.type("git log --oneline | head -5; ls\n", { delay: 5 });
      await sleep(1000);
      for (const scheme of ["light", "dark"] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        const shots: Array<[string, string]> = [
          ["dashboard", "/dashboard"],
          ["workspace", `/workspaces/${id}`],
          ["terminal", `/workspaces/${id}/terminal`],
        ];
        for (const [name, path] of shots) {
          await page.goto(path);
          if (name === "terminal") {
            await page.getByTestId("terminal").locator(".xterm-rows").getByText(/[$#]/).first().waitFor();
            await page.getByTestId("connection-status").waitFor({ state: "detached" });
          }
          await page.waitForLoadState("networkidle");
          const file = join(out, `${name}-${scheme}.png`);
          await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
          written.push(file);
        }
      }
    } finally {
      await page.goto(`/workspaces/${id}`);
      await page.getByRole("button", { name: "Delete" }).click();
      await page.getByRole("button", { name: "Yes, delete" }).click();
      await page.waitForURL(/\/dashboard$/);
    }
  } finally {
    await browser.close();
  }
  return written;
}

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: join(root, "docs", "screenshots") },
      app: { type: "string" },
      cloud: { type: "string" },
    },
  });
  const out = resolve(values.out!);
  if (values.app && values.cloud) {
    const files = await takeScreenshots({ app: values.app, cloud: values.cloud, out });
    console.log(files.join("\n"));
    return;
  }
  const server = await serveApp(8870, 8871);
  try {
    const files = await takeScreenshots({ app: server.app, cloud: server.cloud, out });
    console.log(files.join("\n"));
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
