import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import type { SweepReport } from "../../app/workspaces/sweep.server";
import { parseDotenv } from "../../scripts/keys.mjs";
import { LOCAL_HETZNER_TOKEN } from "../../scripts/local-env.mjs";

export const CLOUD = `http://127.0.0.1:${process.env.SAM_E2E_CLOUD_PORT ?? 8799}`;
export { LOCAL_HETZNER_TOKEN };

const root = fileURLToPath(new URL("../..", import.meta.url));
const appPort = process.env.SAM_E2E_APP_PORT ?? "8798";
/** The app under test, on its local end-to-end port. */
export const APP = `http://localhost:${appPort}`;
const persist = [`.wrangler/e2e-state-${appPort}`, ".wrangler/e2e-state"].find((dir) => existsSync(join(root, dir)))!;

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
  // End-to-end workspaces have no coding agent unless a test is about one: installing it takes a while.
  options: { branch?: string; location?: string; agent?: "None" | "Claude Code" } = {},
): Promise<string> {
  await page.goto("/dashboard");
  await page.getByRole("link", { name: "New workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/new$/);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Repository").fill("sam-dev/hello-world");
  if (options.branch) await page.getByLabel("Branch").fill(options.branch);
  if (options.location) await page.getByLabel("Location").selectOption(options.location);
  await page.getByLabel("Small").check();
  await page.getByRole("radio", { name: options.agent ?? "None", exact: true }).check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  return page.url().split("/").pop()!;
}

/** A GitHub account on the local GitHub for a spec of its own (so its rows do not mix with other specs'). */
export async function ensureGitHubUser(request: APIRequestContext, login: string) {
  const state = await (await request.get(`${CLOUD}/_local/state`)).json();
  if (state.github.users.some((user: { login: string }) => user.login === login)) return;
  const response = await request.post(`${CLOUD}/_local/users`, { data: { login, name: login } });
  expect(response.ok()).toBeTruthy();
}

/**
 * Adds workspace rows for a signed-in user through the app's local-only seeding endpoint
 * (app/routes/api.internal.seed-workspaces.ts), with the bearer the local runner derives from SESSION_SECRET.
 */
export async function seedWorkspaces(
  request: APIRequestContext,
  login: string,
  workspaces: Array<{ name: string; status: "stopped" | "error"; repository: string }>,
): Promise<string[]> {
  const { readFileSync } = await import("node:fs");
  const { createHmac } = await import("node:crypto");
  const { parseDotenv } = await import("../../scripts/keys.mjs");
  const vars = parseDotenv(readFileSync(new URL("../../.dev.vars", import.meta.url), "utf8")) as Record<string, string>;
  const bearer = createHmac("sha256", vars.SESSION_SECRET!).update("sam-internal-seed").digest("hex");
  const response = await request.post("/api/internal/seed-workspaces", {
    headers: { Authorization: `Bearer ${bearer}` },
    data: { login, workspaces },
  });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()).ids;
}

/**
 * Runs axe-core in the page (injected: @axe-core/playwright needs Node 22.12) and fails on any serious or
 * critical violation, naming each rule and the elements it found.
 */
export async function expectAccessible(page: Page, what: string) {
  const { createRequire } = await import("node:module");
  const { readFileSync } = await import("node:fs");
  const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
  // Evaluated rather than added as a <script>: the app's Content-Security-Policy rightly refuses the latter.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(readFileSync(axePath, "utf8"));
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<AxeResult> } }).axe;
    type AxeResult = {
      violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }>;
    };
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => ({
        rule: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
      }));
  });
  expect(violations, `accessibility of ${what}`).toEqual([]);
}

/** Deletes a workspace through its page, so a spec leaves no live workspace to count against the user's limit. */
export async function deleteWorkspace(page: Page, id: string) {
  await page.goto(`/workspaces/${id}`);
  await page.getByRole("button", { name: "Delete" }).click();
  // A workspace whose agent reported unsaved work asks for this first (the tests mean to lose it).
  const anyway = page.getByLabel("Delete anyway, losing this work");
  if (await anyway.isVisible()) await anyway.check();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** Waits for the local cloud to answer (Playwright waits for the app; the local cloud may still be starting). */
export async function waitForLocalCloud(request: APIRequestContext) {
  await expect
    .poll(async () => (await request.get(`${CLOUD}/_local/state`).catch(() => null))?.status(), { timeout: 60_000 })
    .toBe(200);
}

/** The local cloud's /_local/state, asserting it answered. */
export async function cloudState<T>(request: APIRequestContext): Promise<T> {
  const response = await request.get(`${CLOUD}/_local/state`);
  expect(response.ok()).toBeTruthy();
  return response.json();
}

/**
 * Runs SQL on the end-to-end database (to shorten a timeout the UI rightly does not offer), then shows the
 * workspace again. wrangler writes from another process, and while it holds SQLite's lock the app's own
 * queries fail (SQLITE_BUSY), so the page, which polls while anything is in transition, waits on a blank page.
 */
export async function sql(page: Page, id: string, command: string) {
  await page.goto("about:blank");
  execFileSync(
    join(root, "node_modules/.bin/wrangler"),
    ["d1", "execute", "DB", "--local", "--persist-to", persist, "--command", command],
    {
      cwd: root,
      stdio: "ignore",
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    },
  );
  await page.goto(`/workspaces/${id}`);
}

/** Runs the sweep now, as the local runner does every 30 s. */
export async function sweep(request: APIRequestContext): Promise<SweepReport> {
  const { SESSION_SECRET } = parseDotenv(readFileSync(join(root, ".dev.vars"), "utf8")) as Record<string, string>;
  const bearer = createHmac("sha256", SESSION_SECRET!).update("sam-internal-sweep").digest("hex");
  const response = await request.post(`${APP}/api/internal/sweep`, { headers: { Authorization: `Bearer ${bearer}` } });
  expect(response.status()).toBe(200);
  return response.json();
}

/** The workspace page's status badge. */
export const status = (page: Page) => page.locator("h1 [data-status]");

/** The browser terminal's rendered rows. */
export const screen = (page: Page) => page.getByTestId("terminal").locator(".xterm-rows");

/** Keys typed before the shell has printed its prompt may be lost to its start-up; wait for it. */
export async function shellPrompt(page: Page) {
  await expect(screen(page)).toContainText(/[$#]/, { timeout: 20_000 });
}

/** Types text into the browser terminal. */
export async function type(page: Page, text: string) {
  await page.getByTestId("terminal").click();
  await page.keyboard.type(text, { delay: 5 });
}

/** A process on this machine, as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Its process group: an adapter the agent starts leads its own. */
  pgid: number;
  /** Its arguments joined with spaces. */
  cmdline: string;
}

/** Every process /proc shows now (one that ends while it is read is left out). */
export function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const [, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      found.push({ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), cmdline });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found;
}

/** The process `root` and every descendant of it. */
export function processTree(root: number): ProcessInfo[] {
  const all = processes();
  const tree = all.filter((process) => process.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((process) => process.ppid === tree[i]!.pid));
  return tree;
}

/** Files under `dir` (symbolic links not followed) whose bytes contain `needle`, except paths `skip` names. */
export function filesContaining(dir: string, needle: Buffer, skip: (path: string) => boolean = () => false): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    if (skip(path)) return;
    const stat = lstatSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else if (stat.isFile() && readFileSync(path).includes(needle)) found.push(path);
  };
  walk(dir);
  return found;
}

/** /proc/<pid>/<name> as bytes, or null when the process is gone or the file is not readable. */
export function readProcFile(pid: number, name: "cmdline" | "environ"): Buffer | null {
  try {
    return readFileSync(`/proc/${pid}/${name}`);
  } catch {
    return null;
  }
}
