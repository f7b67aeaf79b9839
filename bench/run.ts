// `npm run bench`: every benchmark of docs/benchmarks.md on this machine, written to bench/results.json.
//   npm run bench                 everything (runs `node scripts/dev.mjs prepare --e2e` on its own ports first)
//   npm run bench -- terminal     only the terminal figures (agent, wetty, node-pty + ws; no app)
//   npm run bench -- app          only the app figures (time to terminal, dashboard, JavaScript size)
//   SAM_BENCH_SKIP_PREPARE=1      reuse the last prepare (the agent binary and build/ must exist)
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

    const idle = await idleRss(servers);
    results.add(
      "agent RSS idle",
      idle.sam! / MB,
      "MiB",
      peersOf(idle, (bytes) => bytes / MB),
    );

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

    const rates = await throughput(servers);
    results.add(
      "output throughput (256 MiB)",
      rates.sam!,
      "MB/s",
      peersOf(rates, (value) => value),
    );
    results.add("throughput: SAM client drops (4008) per 256 MiB", (drops.sam ?? 0) / 3, "drops");

    const loaded = await agentLoadedRss(agent);
    results.add("agent RSS, 50 attached sessions streaming", loaded.rss / MB, "MiB");
    results.add("agent peak RSS, 50 sessions", loaded.peak / MB, "MiB");

    const restored = await reconnect(agent);
    results.add("reconnect to 5,000-line scrollback p50", restored.p50, "ms");
    results.add("reconnect to 5,000-line scrollback p95", restored.p95, "ms");
    results.add("reconnect snapshot size", restored.snapshotBytes / 1024, "KiB");
  } finally {
    for (const server of servers) await server.stop();
  }
}

async function main() {
  if (!only || only === "terminal") await terminalFigures();
  if (!only || only === "app") {
    const { appFigures } = await import("./app-bench");
    await appFigures(results).catch((error: Error) => {
      failures.push(error.message);
      console.error(`bench: app figures stopped: ${error.message}`);
    });
  }
  if (failures.length) process.exitCode = 1;
  console.log(`\nbench: done in ${((performance.now() - started) / 1000).toFixed(0)} s; figures in bench/results.json`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
