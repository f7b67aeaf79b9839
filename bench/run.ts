// `npm run bench`: every benchmark of docs/benchmarks.md on this machine, written to bench/results.json.
//   npm run bench                 everything (first `node scripts/dev.mjs prepare --e2e`: agent, app, database)
//   npm run bench -- terminal     only the terminal figures (agent, wetty, node-pty + ws; no app)
//   npm run bench -- app          only the app figures (time to terminal, dashboard, JavaScript size)
//   npm run bench -- restart      only the restart of a stopped workspace with a volume → terminal prompt
//   npm run bench -- chat         only the chat figures (prompt → first streamed chunk, agent RSS with an idle chat)
//   SAM_BENCH_SKIP_PREPARE=1      reuse the last prepare (the agent binary and build/ must exist)
// A run replaces only the figures it measures in bench/results.json. A figure that cannot be measured is
// recorded with its reason and the run goes on; the exit code is non-zero if any figure failed.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Results } from "./results";
import { agentLoadedRss, drops, echoLatency, idleRss, reconnect, throughput } from "./terminal-bench";
import { root, startAgent, startPtyWs, startWetty, type TerminalServer } from "./terminals";

const MB = 1024 * 1024;
const only = process.argv[2];
const results = new Results(join(root, "bench/results.json"));
const started = performance.now();
const failures: string[] = [];

const hardStop = setTimeout(() => {
  console.error("bench: still running after 15 minutes; giving up");
  process.exit(1);
}, 15 * 60_000);
hardStop.unref();

/** Builds what the figures need before the first one: the agent (terminal figures), or everything (app). */
function prepare() {
  if (process.env.SAM_BENCH_SKIP_PREPARE) return;
  const [command, args] =
    only === "terminal"
      ? ["make", ["-C", "agent", "--no-print-directory", "build"]]
      : ["node", ["scripts/dev.mjs", "prepare", "--e2e"]];
  console.log(`bench: preparing (${[command, ...args].join(" ")})`);
  // The app figures serve on their own ports (bench/app-bench.ts), so the prepare migrates that state.
  const env = {
    ...process.env,
    SAM_E2E_APP_PORT: process.env.SAM_E2E_APP_PORT ?? "8938",
    SAM_E2E_CLOUD_PORT: process.env.SAM_E2E_CLOUD_PORT ?? "8939",
  };
  const result = spawnSync(command, args, { cwd: root, env, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`\`${[command, ...args].join(" ")}\` failed; fix that first`);
}

/** Runs one figure's measurement; a failure is recorded against `names` and the run goes on. */
async function measure(names: Array<[name: string, unit: string]>, work: () => Promise<void>) {
  try {
    await work();
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
    for (const [name, unit] of names) results.failed(name, unit, error);
  }
}

async function terminalFigures() {
  const agent = await startAgent();
  const servers: TerminalServer[] = [agent];
  try {
    servers.push(await startWetty(), await startPtyWs());
    const peersOf = <T>(all: Record<string, T>, pick: (value: T) => number, skip = "sam") =>
      Object.fromEntries(
        Object.entries(all)
          .filter(([name]) => name !== skip)
          .map(([name, value]) => [name, pick(value)]),
      );

    await measure([["agent RSS idle", "MiB"]], async () => {
      const idle = await idleRss(servers);
      results.add(
        "agent RSS idle",
        idle.sam! / MB,
        "MiB",
        peersOf(idle, (bytes) => bytes / MB),
      );
    });

    await measure(
      [
        ["echo latency p50", "ms"],
        ["echo latency p99", "ms"],
      ],
      async () => {
        const echo = await echoLatency(servers);
        results.add(
          "echo latency p50",
          echo.sam!.p50,
          "ms",
          peersOf(echo, (value) => value.p50),
        );
        results.add(
          "echo latency p99",
          echo.sam!.p99,
          "ms",
          peersOf(echo, (value) => value.p99),
        );
      },
    );

    await measure([["output throughput (256 MiB)", "MB/s"]], async () => {
      const rounds = 5;
      const { rates, errors } = await throughput(servers, rounds);
      const problems = Object.entries(errors).map(([name, message]) => `${name}: ${message}`);
      if (problems.length) failures.push(...problems);
      results.add(
        "output throughput (256 MiB)",
        rates.sam ?? Number.NaN,
        "MB/s",
        peersOf(rates, (value) => value),
        problems.join("; ") || undefined,
      );
      results.add(`throughput: SAM client drops (4008) per 256 MiB`, (drops.sam ?? 0) / rounds, "drops");
    });

    await measure(
      [
        ["agent RSS, 50 attached sessions streaming", "MiB"],
        ["agent peak RSS, 50 sessions", "MiB"],
      ],
      async () => {
        const loaded = await agentLoadedRss(agent);
        results.add("agent RSS, 50 attached sessions streaming", loaded.rss / MB, "MiB");
        results.add("agent peak RSS, 50 sessions", loaded.peak / MB, "MiB");
      },
    );

    await measure(
      [
        ["reconnect to 5,000-line scrollback p50", "ms"],
        ["reconnect to 5,000-line scrollback p95", "ms"],
      ],
      async () => {
        const restored = await reconnect(agent);
        results.add("reconnect to 5,000-line scrollback p50", restored.p50, "ms");
        results.add("reconnect to 5,000-line scrollback p95", restored.p95, "ms");
        results.add("reconnect snapshot size", restored.snapshotBytes / 1024, "KiB");
      },
    );
  } finally {
    for (const server of servers) await server.stop();
  }
}

async function main() {
  prepare();
  if (!only || only === "terminal") {
    await terminalFigures().catch((error: Error) => {
      failures.push(error.message);
      console.error(`bench: terminal figures stopped: ${error.message}`);
    });
  }
  if (!only || only === "app") {
    const { appFigures } = await import("./app-bench");
    await appFigures(results).catch((error: Error) => {
      failures.push(error.message);
      console.error(`bench: app figures stopped: ${error.message}`);
    });
  }
  if (!only || only === "restart") {
    const { restartFigures } = await import("./restart-bench");
    await restartFigures(results).catch((error: Error) => {
      failures.push(error.message);
      console.error(`bench: restart figures stopped: ${error.message}`);
    });
  }
  if (!only || only === "chat") {
    const { chatFigures } = await import("./chat-bench");
    await chatFigures(results).catch((error: Error) => {
      failures.push(error.message);
      console.error(`bench: chat figures stopped: ${error.message}`);
    });
  }
  if (failures.length) {
    process.exitCode = 1;
    console.error(`\nbench: ${failures.length} problem(s):\n  ${failures.join("\n  ")}`);
  }
  console.log(`\nbench: done in ${((performance.now() - started) / 1000).toFixed(0)} s; figures in bench/results.json`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
