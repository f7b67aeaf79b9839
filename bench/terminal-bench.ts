// Figures 2–5: echo latency, output throughput, agent memory and reconnect, on loopback.
import { spawn as spawnPty } from "node-pty";
import type WebSocket from "ws";
import { alternate, alternateSettled, median, percentile } from "./stats";
import { procStatus, waitForOutput, type Agent, type Terminal, type TerminalServer } from "./terminals";

export const THROUGHPUT_BYTES = 256 * 1024 * 1024;
const THROUGHPUT_COMMAND = `head -c ${THROUGHPUT_BYTES} /dev/zero | tr '\\0' x`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Puts the shell into raw no-echo `cat`, so each byte sent comes back exactly once. */
async function rawCat(terminal: Terminal) {
  const ready = waitForOutput(terminal, "READY", 15_000);
  terminal.send("stty raw -echo; echo RE''ADY; exec cat\r");
  await ready;
  await sleep(100);
}

function roundTrip(terminal: Terminal): Promise<number> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    terminal.onOutput(() => {
      terminal.onOutput(() => {});
      resolve(Number(process.hrtime.bigint() - start) / 1e6);
    });
    terminal.send("x");
  });
}

/** p50/p99 of `total` single-byte round trips per server, in rounds of 200 alternating between servers. */
export async function echoLatency(servers: TerminalServer[], total = 2000) {
  const terminals = new Map<string, Terminal>();
  for (const server of servers) {
    const terminal = await server.open();
    await rawCat(terminal);
    for (let i = 0; i < 100; i++) await roundTrip(terminal);
    terminals.set(server.name, terminal);
  }
  const perRound = 200;
  const results = await alternate(
    Math.ceil(total / perRound),
    Object.fromEntries(
      servers.map((server) => [
        server.name,
        async () => {
          const samples: number[] = [];
          for (let i = 0; i < perRound; i++) samples.push(await roundTrip(terminals.get(server.name)!));
          return samples;
        },
      ]),
    ),
  );
  for (const terminal of terminals.values()) await terminal.close();
  return Object.fromEntries(
    Object.entries(results).map(([name, rounds]) => [
      name,
      { p50: percentile(rounds.flat(), 50), p99: percentile(rounds.flat(), 99) },
    ]),
  );
}

export const drops: Record<string, number> = {};

async function throughputThrough(server: TerminalServer): Promise<number> {
  const terminal = await server.open();
  const ready = waitForOutput(terminal, "READY", 15_000);
  terminal.send("stty -echo; echo RE''ADY\r");
  await ready;
  await sleep(100);
  const done = waitForOutput(terminal, "DONE", 180_000);
  const start = performance.now();
  terminal.send(`${THROUGHPUT_COMMAND}; echo; echo DO''NE\r`);
  const received = await done;
  const seconds = (performance.now() - start) / 1000;
  await terminal.close();
  drops[server.name] = (drops[server.name] ?? 0) + terminal.drops;
  if (terminal.drops === 0 && received < THROUGHPUT_BYTES)
    throw new Error(`${server.name}: only ${received} of ${THROUGHPUT_BYTES} bytes arrived`);
  return THROUGHPUT_BYTES / seconds / 1e6;
}

/**
 * The same command read straight from a PTY by node-pty in this process: no network, no relay. The clock
 * stops when the last byte arrives.
 */
function throughputBarePty(): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let received = 0;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    // The shell lingers after the output, so the PTY is still open while node-pty delivers the last reads
    // (it drops what is unread when the process exits); the clock stops at the last byte either way.
    const pty = spawnPty("/bin/sh", ["-c", `${THROUGHPUT_COMMAND}; sleep 2`], {
      name: "xterm-256color",
      cols: 80,
      rows: 24,
      encoding: null,
    });
    pty.onData((data) => {
      received += data.length;
      if (received >= THROUGHPUT_BYTES)
        finish(() => resolve(THROUGHPUT_BYTES / ((performance.now() - start) / 1000) / 1e6));
    });
    pty.onExit(() => {
      setTimeout(
        () => finish(() => reject(new Error(`bare PTY: only ${received} of ${THROUGHPUT_BYTES} bytes`))),
        1000,
      );
    });
  });
}

/**
 * MB/s (10^6 bytes) per contender; median of `rounds` alternating runs. A contender that fails a round is
 * reported in `errors` and the others go on.
 */
export async function throughput(servers: TerminalServer[], rounds = 5) {
  const { results, errors } = await alternateSettled(rounds, {
    ...Object.fromEntries(servers.map((server) => [server.name, () => throughputThrough(server)])),
    "bare-pty": () => throughputBarePty(),
  });
  const rates = Object.fromEntries(Object.entries(results).map(([name, values]) => [name, median(values)]));
  return { rates, errors };
}

/** Idle RSS of each server with nothing attached. */
export async function idleRss(servers: TerminalServer[]) {
  await sleep(1000);
  const result: Record<string, number> = {};
  for (const server of servers) result[server.name] = await procStatus(server.pid);
  return result;
}

/**
 * RSS of the agent with `count` sessions, each with a client attached and its shell streaming: 2 MB at once
 * (enough to fill each session's output ring), then a line every 100 ms, sampled once every client has its 2 MB.
 */
export async function agentLoadedRss(agent: Agent, count = 50) {
  const sockets: WebSocket[] = [];
  const ids: string[] = [];
  const burst = 2_000_000;
  try {
    const arrivals: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const id = await agent.createSession([
        "/bin/sh",
        "-c",
        `sleep 0.5; head -c ${burst} /dev/zero | tr '\\0' y; while :; do echo tick $(date +%s%N); sleep 0.1; done`,
      ]);
      ids.push(id);
      const socket = await agent.attach(id);
      sockets.push(socket);
      arrivals.push(
        new Promise((resolve, reject) => {
          let received = 0;
          socket.on("message", (data: Buffer, isBinary) => {
            if (isBinary && (received += data.length) >= burst) resolve();
          });
          socket.once("close", (code) => reject(new Error(`session ${i} closed with ${code}`)));
        }),
      );
    }
    await Promise.all(arrivals);
    await sleep(2000);
    return { rss: await procStatus(agent.pid), peak: await procStatus(agent.pid, "VmHWM") };
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const id of ids) await agent.deleteSession(id);
  }
}

/** Time from a new WebSocket to the whole snapshot of a session with `lines` lines of scrollback, in ms. */
export async function reconnect(agent: Agent, lines = 5000, trials = 20) {
  const id = await agent.createSession([
    "/bin/sh",
    "-c",
    `seq -f 'scrollback line %g of the reconnect benchmark' 1 ${lines}; exec cat`,
  ]);
  try {
    await sleep(1000);
    const snapshotBytes = async (until: number | null) => {
      const start = performance.now();
      const socket = await agent.attach(id);
      let received = 0;
      const ms = await new Promise<number>((resolve) => {
        let quiet: NodeJS.Timeout | undefined;
        socket.on("message", (data: Buffer, isBinary) => {
          if (!isBinary) return;
          received += data.length;
          if (until !== null && received >= until) resolve(performance.now() - start);
          if (until === null) {
            clearTimeout(quiet);
            quiet = setTimeout(() => resolve(0), 500);
          }
        });
      });
      socket.terminate();
      return { ms, received };
    };
    const { received: size } = await snapshotBytes(null);
    const times: number[] = [];
    for (let i = 0; i < trials; i++) times.push((await snapshotBytes(size)).ms);
    return { p50: percentile(times, 50), p95: percentile(times, 95), snapshotBytes: size };
  } finally {
    await agent.deleteSession(id);
  }
}
