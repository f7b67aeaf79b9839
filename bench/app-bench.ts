// Figures 1 and 6: time to terminal on the local cloud, the dashboard loader with 1,000 workspaces, and the
// JavaScript the browser downloads. Runs the real app (`node scripts/dev.mjs serve --e2e`) on its own ports.
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium, type Page } from "@playwright/test";
import WebSocket from "ws";
import { LOCAL_HETZNER_TOKEN } from "../scripts/local-env.mjs";
import type { Results } from "./results";
import { percentile } from "./stats";
import { root } from "./terminals";

const APP_PORT = Number(process.env.SAM_E2E_APP_PORT ?? 8938);
const CLOUD_PORT = Number(process.env.SAM_E2E_CLOUD_PORT ?? 8939);
const APP = `http://localhost:${APP_PORT}`;
const CLOUD = `http://127.0.0.1:${CLOUD_PORT}`;
const PERSIST = `.wrangler/e2e-state-${APP_PORT}`;
const WORKSPACES = 12;
const env = {
  ...process.env,
  SAM_E2E_APP_PORT: String(APP_PORT),
  SAM_E2E_CLOUD_PORT: String(CLOUD_PORT),
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function d1(args: string[]): unknown[] {
  const out = execFileSync(
    join(root, "node_modules/.bin/wrangler"),
    ["d1", "execute", "DB", "--local", "--persist-to", PERSIST, "--json", ...args],
    { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  return (JSON.parse(out.toString()) as Array<{ results: unknown[] }>).flatMap((part) => part.results);
}

export async function startApp() {
  // bench/run.ts has run the prepare (agent, app, migrated database) before the first figure.
  const child = spawn("node", ["scripts/dev.mjs", "serve", "--e2e"], {
    cwd: root,
    env,
    detached: true,
    stdio: "ignore",
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`${APP}/api/health`)).ok && (await fetch(`${CLOUD}/_local/state`)).ok) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("the app did not start within 2 minutes");
    await sleep(500);
  }
  return async () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {}
    await Promise.race([new Promise((resolve) => child.once("exit", resolve)), sleep(8000)]);
  };
}

/**
 * Signs in through the local GitHub, saves the Hetzner token and installs the App, in Chromium, then runs
 * `more` on the same page (another figure's own settings); returns the session cookie.
 */
export async function signInAndSetUp(more?: (page: Page) => Promise<void>): Promise<string> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  try {
    const page = await browser.newPage({ baseURL: APP });
    await page.goto(`${CLOUD}/github/session?login=sam-dev`);
    await page.goto("/dashboard");
    await page.getByRole("button", { name: "Sign in with GitHub" }).click();
    await page.getByTestId("user-menu").waitFor();
    await page.goto("/settings");
    await page.getByLabel(/API token|Replace with a new token/).fill(LOCAL_HETZNER_TOKEN);
    await page.getByRole("button", { name: "Check and save" }).click();
    await page.getByTestId("saved-hetzner").waitFor();
    await page.goto("/settings");
    await page.getByRole("link", { name: "Install the GitHub App" }).click();
    await page.getByRole("button", { name: /install/i }).click();
    await page.waitForURL(/\/settings$/);
    await more?.(page);
    const cookies = await page.context().cookies(APP);
    return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
  } finally {
    await browser.close();
  }
}

/** An HTTP request to a workspace's agent through the local cloud's edge (Node cannot resolve *.localhost). */
export function edgeRequest(
  id: string,
  method: string,
  path: string,
  token: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: "127.0.0.1",
        port: CLOUD_PORT,
        method,
        path,
        headers: {
          Host: `ws-${id}.localhost:${CLOUD_PORT}`,
          Authorization: `Bearer ${token}`,
          Origin: APP,
          "Content-Type": "application/json",
        },
      },
      (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

interface Milestones {
  id: string;
  t0: number;
  created: number;
  token: number;
  session: number;
  prompt: number;
}

const stripAnsi = (text: string) =>
  text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>c]/g, "");

/** One workspace from "create" to the first shell prompt, as the browser would drive it over HTTP. */
async function timeToTerminal(cookie: string, n: number, form: Record<string, string>): Promise<Milestones> {
  const headers = { Cookie: cookie, Origin: APP };
  const t0 = Date.now();
  const created = await fetch(`${APP}/workspaces/new`, {
    method: "POST",
    headers,
    body: new URLSearchParams({ ...form, name: `bench ${n}` }),
    redirect: "manual",
  });
  const id = /\/workspaces\/([a-z2-7]{12})$/.exec(created.headers.get("location") ?? "")?.[1];
  if (!id) throw new Error(`create answered ${created.status}: ${(await created.text()).slice(0, 500)}`);
  const tCreated = Date.now();
  const reached = await untilPrompt(cookie, id, t0, 90_000);
  return { id, t0, created: tCreated, ...reached };
}

/**
 * From now until the workspace's terminal prints a shell prompt, as the terminal page gets there: a terminal
 * token once the workspace runs (409 until then), a session through the edge, the attach, the first prompt.
 */
export async function untilPrompt(
  cookie: string,
  id: string,
  t0: number,
  limitMs: number,
): Promise<{ token: number; session: number; prompt: number }> {
  let token = "";
  while (!token) {
    const response = await fetch(`${APP}/workspaces/${id}/terminal/token`, {
      headers: { Cookie: cookie, Accept: "application/json" },
    });
    if (response.ok) token = ((await response.json()) as { token: string }).token;
    else if (response.status !== 409) throw new Error(`terminal token: ${response.status}`);
    else if (Date.now() - t0 > limitMs) throw new Error(`workspace ${id} not running after ${limitMs / 1000} s`);
    else await sleep(50);
  }
  const tToken = Date.now();
  const session = await edgeRequest(
    id,
    "POST",
    "/api/sessions",
    token,
    JSON.stringify({ name: "Terminal 1", cols: 120, rows: 30 }),
  );
  if (session.status !== 201) throw new Error(`create session through the edge: ${session.status} ${session.body}`);
  const sessionId = (JSON.parse(session.body) as { id: string }).id;
  const tSession = Date.now();
  const socket = new WebSocket(
    `ws://127.0.0.1:${CLOUD_PORT}/api/sessions/${sessionId}/attach`,
    ["sam.terminal.v1", `bearer.${token}`],
    {
      headers: { Host: `ws-${id}.localhost:${CLOUD_PORT}` },
      origin: APP,
      perMessageDeflate: false,
    },
  );
  const tPrompt = await new Promise<number>((resolve, reject) => {
    let screen = "";
    const timer = setTimeout(
      () => reject(new Error(`no prompt from ${id}: ${JSON.stringify(screen.slice(-200))}`)),
      30_000,
    );
    socket.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) return;
      // The snapshot's restore may end with charset shifts (SI) after the prompt.
      screen += stripAnsi(data.toString("utf8")).replace(/[\x00-\x08\x0e-\x1f]/g, "");
      if (/[#$] /.test(screen)) {
        clearTimeout(timer);
        resolve(Date.now());
      }
    });
    socket.once("error", reject);
  });
  socket.terminate();
  return { token: tToken, session: tSession, prompt: tPrompt };
}

/** The form the browser would submit: the first size and location the page offers, no agent CLI. */
export async function createForm(cookie: string): Promise<Record<string, string>> {
  const html = await (await fetch(`${APP}/workspaces/new`, { headers: { Cookie: cookie } })).text();
  const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
  const inputs = [...html.matchAll(/<input[^>]*>/g)].map((match) => match[0]);
  const size = inputs.map((tag) => (attr(tag, "name") === "size" ? attr(tag, "value") : undefined)).find(Boolean);
  const location = /name="location"[\s\S]*?<option[^>]*value="([^"]+)"/.exec(html)?.[1];
  const idle = /name="idleTimeoutMinutes"[\s\S]*?<option[^>]*value="([^"]+)"/.exec(html)?.[1] ?? "30";
  if (!size || !location) throw new Error("could not read the sizes and locations from /workspaces/new");
  return {
    repository: "sam-dev/hello-world",
    branch: "",
    size,
    location,
    idleTimeoutMinutes: idle,
    maxLifetimeHours: "1",
    agentCli: "none",
  };
}

async function post(cookie: string, path: string, form: Record<string, string>) {
  await fetch(`${APP}${path}`, {
    method: "POST",
    headers: { Cookie: cookie, Origin: APP },
    body: new URLSearchParams(form),
    redirect: "manual",
  });
}

export function javascriptSizes(): Record<string, number> {
  const assets = join(root, "build/client/assets");
  const file = readdirSync(assets).find((name) => /^manifest-[0-9a-f]+\.js$/.test(name));
  if (!file) throw new Error("no Remix browser manifest in build/client/assets: build the app first");
  const manifest = JSON.parse(
    readFileSync(join(assets, file), "utf8")
      .replace(/^window\.__remixManifest=/, "")
      .replace(/;\s*$/, ""),
  ) as {
    entry: { module: string; imports?: string[] };
    routes: Record<string, { module: string; imports?: string[] }>;
  };
  const gzipped = (urls: Iterable<string>) =>
    [...new Set(urls)].reduce((sum, url) => sum + gzipSync(readFileSync(join(root, "build/client", url))).length, 0);
  const page = (route: string) => {
    const chain = [manifest.entry, manifest.routes.root!, manifest.routes[route]!];
    // The manifest lists each chunk with its static imports; the manifest itself is loaded too.
    return gzipped(
      [`/assets/${file}`, ...chain.flatMap((part) => [part.module, ...(part.imports ?? [])])].map((url) =>
        url.replace(/^\//, ""),
      ),
    );
  };
  // The terminal page loads xterm, its fit addon and the connection with import() once mounted; the
  // manifest does not list those, so they are found by chunk name.
  const lazyTerminal = readdirSync(assets)
    .filter((name) => /^(xterm|addon-fit|connection\.client)-[\w-]+\.js$/.test(name))
    .map((name) => `assets/${name}`);
  return {
    dashboard: page("routes/dashboard"),
    terminal: page("routes/workspaces.$id_.terminal") + gzipped(lazyTerminal),
  };
}

function seedWorkspaces(userId: string, count: number) {
  const now = Date.now();
  const rows = Array.from({ length: count }, (_, i) => {
    const id = `bench${String(i).padStart(7, "0")}`;
    return `('${id}','${userId}','seeded ${i}','stopped','sam-dev/hello-world','main','small','cx23','fsn1','none','0.0095',${now - i * 60_000},${now - i * 60_000},${now - i * 60_000})`;
  });
  // D1 limits the length of one statement, so 50 rows per INSERT.
  const statements: string[] = [];
  for (let i = 0; i < rows.length; i += 50) {
    statements.push(
      `INSERT INTO workspaces (id,user_id,name,status,repository,branch,size,server_type,location,agent_cli,hourly_price,stopped_at,created_at,updated_at) VALUES\n${rows.slice(i, i + 50).join(",\n")};`,
    );
  }
  const sql = `${statements.join("\n")}\n`;
  const file = join(root, PERSIST, "bench-seed.sql");
  writeFileSync(file, sql);
  d1(["--file", file]);
}

export async function appFigures(results: Results) {
  const stop = await startApp();
  const sizes = javascriptSizes();
  try {
    const cookie = await signInAndSetUp();
    const form = await createForm(cookie);
    await timeToTerminal(cookie, 0, form).then((warm) => post(cookie, `/workspaces/${warm.id}`, { intent: "delete" }));
    const runs: Milestones[] = [];
    for (let n = 1; n <= WORKSPACES; n++) {
      const run = await timeToTerminal(cookie, n, form);
      runs.push(run);
      await post(cookie, `/workspaces/${run.id}`, { intent: "stop" });
    }
    const total = runs.map((run) => run.prompt - run.t0);
    results.add(`time to terminal p50 (${WORKSPACES} workspaces)`, percentile(total, 50), "ms");
    results.add(`time to terminal p95 (${WORKSPACES} workspaces)`, percentile(total, 95), "ms");
    const events = d1([
      "--command",
      `SELECT workspace_id, step, status, created_at FROM workspace_events WHERE workspace_id IN (${runs.map((run) => `'${run.id}'`).join(",")}) ORDER BY id`,
    ]) as Array<{
      workspace_id: string;
      step: string;
      status: string;
      created_at: number;
    }>;
    const offsets = new Map<string, number[]>();
    const add = (label: string, ms: number) => offsets.set(label, [...(offsets.get(label) ?? []), ms]);
    for (const run of runs) {
      add("create answered (redirect)", run.created - run.t0);
      for (const event of events.filter(
        (candidate) =>
          candidate.workspace_id === run.id && candidate.status !== "started" && candidate.created_at <= run.prompt,
      ))
        add(`event ${event.step} ${event.status}`, event.created_at - run.t0);
      add("terminal token (running)", run.token - run.t0);
      add("session created via edge", run.session - run.t0);
      add("first prompt byte", run.prompt - run.t0);
    }
    for (const [label, values] of [...offsets].sort((a, b) => percentile(a[1], 50) - percentile(b[1], 50))) {
      results.add(`time to terminal step: ${label} (p50 since create)`, percentile(values, 50), "ms");
    }
    for (const run of runs) await post(cookie, `/workspaces/${run.id}`, { intent: "delete" });

    const user = d1(["--command", "SELECT id FROM users WHERE login = 'sam-dev'"])[0] as { id: string };
    seedWorkspaces(user.id, 1000);
    const times: number[] = [];
    let rendered = 0;
    for (let i = 0; i < 60; i++) {
      const start = performance.now();
      const response = await fetch(`${APP}/dashboard`, { headers: { Cookie: cookie } }).catch((error: Error) => {
        throw new Error(
          `GET /dashboard with 1,000 workspaces failed (${error.message}; ${(error.cause as Error | undefined)?.message ?? ""})`,
        );
      });
      const html = await response.text();
      if (!response.ok) throw new Error(`dashboard answered ${response.status}`);
      if (i >= 10) times.push(performance.now() - start);
      rendered = html.match(/data-workspace="/g)?.length ?? 0;
    }
    results.add("dashboard GET p50 (1,000 workspaces)", percentile(times, 50), "ms");
    results.add("dashboard GET p95 (1,000 workspaces)", percentile(times, 95), "ms");
    results.add("dashboard rows rendered (of 1,000)", rendered, "rows");
  } finally {
    await stop();
  }
  results.add("JavaScript, dashboard page (gzip)", sizes.dashboard! / 1024, "KiB");
  results.add("JavaScript, terminal page (gzip)", sizes.terminal! / 1024, "KiB");
}
