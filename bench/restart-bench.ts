// Restart of a stopped workspace that keeps its files on a Hetzner Volume, measured from "Restart" to the
// first shell prompt on the local cloud (issue 15). Runs the real app (`node scripts/dev.mjs serve --e2e`) on
// its own ports, like bench/app-bench.ts.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { createForm, signInAndSetUp, startApp, untilPrompt } from "./app-bench";
import type { Results } from "./results";
import { percentile } from "./stats";
import { root } from "./terminals";

const APP_PORT = Number(process.env.SAM_E2E_APP_PORT ?? 8938);
const CLOUD_PORT = Number(process.env.SAM_E2E_CLOUD_PORT ?? 8939);
const APP = `http://localhost:${APP_PORT}`;
/** Restarts measured, after one warm-up restart that is not counted. */
const RESTARTS = Number(process.env.SAM_BENCH_RESTARTS ?? 6);
const env = {
  ...process.env,
  SAM_E2E_APP_PORT: String(APP_PORT),
  SAM_E2E_CLOUD_PORT: String(CLOUD_PORT),
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The timeline's events of a workspace, from the app's local database (the page shows no times in ms). */
function timelineEvents(id: string) {
  const out = execFileSync(
    join(root, "node_modules/.bin/wrangler"),
    [
      "d1",
      "execute",
      "DB",
      "--local",
      "--persist-to",
      `.wrangler/e2e-state-${APP_PORT}`,
      "--json",
      "--command",
      `SELECT step, status, created_at FROM workspace_events WHERE workspace_id = '${id}' ORDER BY id`,
    ],
    { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  return (
    JSON.parse(out.toString()) as Array<{ results: Array<{ step: string; status: string; created_at: number }> }>
  ).flatMap((part) => part.results);
}

/** A form post as the browser sends it; a refusal ends the figure. */
async function post(cookie: string, path: string, form: Record<string, string>) {
  const response = await fetch(`${APP}${path}`, {
    method: "POST",
    headers: { Cookie: cookie, Origin: APP },
    body: new URLSearchParams(form),
    redirect: "manual",
  });
  if (response.status >= 400) throw new Error(`POST ${path} answered ${response.status}`);
  return response;
}

/** The workspace's status, error and timeline steps, read from its page as a browser gets it. */
async function workspaceData(cookie: string, id: string) {
  const response = await fetch(`${APP}/workspaces/${id}`, { headers: { Cookie: cookie } });
  if (!response.ok) throw new Error(`GET /workspaces/${id} answered ${response.status}`);
  const html = await response.text();
  const status = /<h1[\s\S]*?data-status="([a-z]+)"/.exec(html)?.[1] ?? "unknown";
  const events = [...html.matchAll(/data-step="([^"]+)"[^>]*data-status="([a-z]+)"/g)].map((match) => ({
    step: match[1]!,
    status: match[2]!,
  }));
  return { workspace: { status, error: status === "error" ? "see its page" : null }, events };
}

async function waitForStatus(cookie: string, id: string, wanted: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { workspace } = await workspaceData(cookie, id);
    if (workspace.status === wanted) return;
    if (workspace.status === "error") throw new Error(`workspace ${id} failed: ${workspace.error}`);
    if (Date.now() > deadline)
      throw new Error(`workspace ${id} is ${workspace.status}, not ${wanted}, after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

export async function restartFigures(results: Results) {
  const stop = await startApp();
  let id = "";
  let cookie = "";
  try {
    cookie = await signInAndSetUp();
    const created = await post(cookie, "/workspaces/new", { ...(await createForm(cookie)), name: "bench restart" });
    id = /\/workspaces\/([a-z2-7]{12})$/.exec(created.headers.get("location") ?? "")?.[1] ?? "";
    if (!id) throw new Error(`create answered ${created.status} without a workspace`);
    await untilPrompt(cookie, id, Date.now(), 120_000);
    const totals: number[] = [];
    const toRunning: number[] = [];
    const windows: Array<[number, number]> = [];
    for (let n = 0; n <= RESTARTS; n++) {
      await post(cookie, `/workspaces/${id}`, { intent: "stop" });
      await waitForStatus(cookie, id, "stopped", 90_000);
      const t0 = Date.now();
      await post(cookie, `/workspaces/${id}`, { intent: "restart" });
      const { token: running, prompt } = await untilPrompt(cookie, id, t0, 120_000);
      // The first restart warms the app's routes and the local cloud's caches.
      if (n === 0) continue;
      totals.push(prompt - t0);
      toRunning.push(running - t0);
      windows.push([t0, prompt]);
      console.log(`restart ${n}: running after ${running - t0} ms, prompt after ${prompt - t0} ms`);
    }
    const { events } = await workspaceData(cookie, id);
    const setups = events.filter((event) => event.step === "agent.setup" && event.status !== "started").length;
    const label = `(${RESTARTS} restarts with a volume)`;
    results.add(`restart to terminal prompt p50 ${label}`, percentile(totals, 50), "ms");
    results.add(`restart to terminal prompt p95 ${label}`, percentile(totals, 95), "ms");
    results.add(`restart to running p50 ${label}`, percentile(toRunning, 50), "ms");
    results.add("setup runs over all restarts (expected: at most 1, the first boot's)", setups, "runs");
    // Where the time goes: each timeline step's end, since "Restart" was posted.
    const offsets = new Map<string, number[]>();
    const all = timelineEvents(id);
    for (const [t0, prompt] of windows)
      for (const event of all.filter((e) => e.status !== "started" && e.created_at >= t0 && e.created_at <= prompt))
        offsets.set(`${event.step} ${event.status}`, [
          ...(offsets.get(`${event.step} ${event.status}`) ?? []),
          event.created_at - t0,
        ]);
    for (const [label, values] of [...offsets].sort((a, b) => percentile(a[1], 50) - percentile(b[1], 50)))
      results.add(`restart step: ${label} (p50 since restart)`, percentile(values, 50), "ms");
  } finally {
    if (id && cookie) {
      await post(cookie, `/workspaces/${id}`, { intent: "stop" }).catch(() => undefined);
      await waitForStatus(cookie, id, "stopped", 90_000).catch(() => undefined);
      await post(cookie, `/workspaces/${id}`, { intent: "delete" }).catch(() => undefined);
    }
    await stop();
  }
}
