// The three terminal servers under test, each started by the benchmark on loopback, and one client shape
// for all of them: the SAM agent (standalone, real JWT checks against a JWKS served here), wetty (its own
// socket.io protocol, spoken here over a raw WebSocket as its browser client does) and a plain node-pty + ws
// server (bench/pty-ws-server.ts) as the floor of what a Node relay costs.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import WebSocket from "ws";

export const root = new URL("..", import.meta.url).pathname;

/** A connected terminal: the same shell (`/bin/sh`) behind every server. */
export interface Terminal {
  send(text: string): void;
  /** Times the server dropped this client for falling behind (SAM's 4008) and it reattached. */
  drops: number;
  /** Settles when the connection closes, with its close code. */
  closed: Promise<number>;
  /** Replaces the handler of output chunks (binary for SAM and pty-ws, text for wetty, as each delivers it). */
  onOutput(handler: (chunk: Buffer | string) => void): void;
  close(): Promise<void>;
}

export interface TerminalServer {
  name: string;
  /** Opens a new terminal (a new shell). */
  open(): Promise<Terminal>;
  /** Process whose memory is the server's (for RSS). */
  pid: number;
  stop(): Promise<void>;
}

const quietEnv = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", TERM: "xterm-256color" });

/** Resolves once `child` prints a line matching `pattern` (on stdout or stderr); rejects if it exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen.slice(-2000)}`)),
      timeoutMs,
    );
    const onData = (data: Buffer) => {
      seen += data.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before printing ${pattern}:\n${seen.slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (group && child.pid) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {}
  };
  kill("SIGTERM");
  const timer = setTimeout(() => kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

function openSocket(url: string, protocols: string[], options: WebSocket.ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) =>
      reject(new Error(`${url}: HTTP ${response.statusCode}`)),
    );
  });
}

function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    socket.close();
    setTimeout(() => {
      socket.terminate();
      resolve();
    }, 2000).unref();
  });
}

/**
 * A terminal over the SAM protocol: binary frames are terminal bytes, text frames are JSON control messages.
 * On 4008 (the client fell behind the session's output ring) it reattaches at once, as the protocol asks,
 * and counts the drop; the fresh snapshot's bytes are then part of the output.
 */
function samTerminal(
  first: WebSocket,
  reattach: (() => Promise<WebSocket>) | null,
  onClose: () => Promise<void>,
): Terminal {
  let handler: (chunk: Buffer | string) => void = () => {};
  let socket = first;
  let closing = false;
  let settle: (code: number) => void = () => {};
  const terminal: Terminal = {
    drops: 0,
    closed: new Promise((resolve) => (settle = resolve)),
    send: (text) => socket.send(Buffer.from(text), { binary: true }),
    onOutput: (next) => (handler = next),
    close: async () => {
      closing = true;
      await closeSocket(socket);
      await onClose();
    },
  };
  const wire = (current: WebSocket) => {
    current.on("message", (data, isBinary) => {
      if (isBinary) handler(data as Buffer);
    });
    current.once("close", (code) => {
      if (code === 4008 && reattach && !closing) {
        terminal.drops++;
        reattach().then(
          (next) => wire((socket = next)),
          () => settle(code),
        );
      } else settle(code);
    });
  };
  wire(first);
  return terminal;
}

export interface Agent extends TerminalServer {
  url: string;
  origin: string;
  token: string;
  api(path: string, init?: RequestInit): Promise<Response>;
  createSession(command?: string[]): Promise<string>;
  deleteSession(id: string): Promise<void>;
  /** Attaches to a session; resolves after the upgrade (before `hello`). */
  attach(sessionId: string): Promise<WebSocket>;
}

/** The agent as a benchmark runs it: no control plane (SAM_SKIP_BOOTSTRAP), but real token checks. */
export async function startAgent(binary = join(root, "agent/bin/vm-agent")): Promise<Agent> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = "bench";
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] });
  const jwksServer: Server = createServer((request, response) => {
    response.writeHead(request.url === "/.well-known/jwks.json" ? 200 : 404, { "Content-Type": "application/json" });
    response.end(jwks);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  const controlPlane = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}`;
  const token = await new SignJWT({ workspace: "bench" })
    .setProtectedHeader({ alg: "RS256", kid })
    .setIssuer(controlPlane)
    .setAudience("workspace-terminal")
    .setSubject("bench")
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(privateKey);
  const dir = mkdtempSync(join(tmpdir(), "sam-bench-agent-"));
  const child = spawn(binary, [], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...quietEnv(),
      HOME: dir,
      SAM_WORKSPACE_ID: "bench",
      SAM_CONTROL_PLANE_URL: controlPlane,
      SAM_SKIP_BOOTSTRAP: "true",
      SAM_TLS: "off",
      SAM_LISTEN_ADDR: "127.0.0.1:0",
      SAM_DATA_DIR: join(dir, "data"),
      SAM_WORKSPACE_DIR: dir,
      SAM_SHELL: "/bin/sh",
    },
  });
  const match = await waitForLine(child, /msg="agent listening" addr=(\S+)/);
  child.stdout?.resume();
  child.stderr?.resume();
  const url = `http://${match[1]}`;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...init.headers },
    });
  const createSession = async (command = ["/bin/sh"]) => {
    const response = await api("/api/sessions", { method: "POST", body: JSON.stringify({ command }) });
    if (response.status !== 201) throw new Error(`create session: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  };
  const deleteSession = async (id: string) => {
    await api(`/api/sessions/${id}`, { method: "DELETE" });
  };
  const attach = (sessionId: string) =>
    openSocket(`ws://${match[1]}/api/sessions/${sessionId}/attach`, ["sam.terminal.v1", `bearer.${token}`], {
      origin: controlPlane,
    });
  return {
    name: "sam",
    pid: child.pid!,
    url,
    origin: controlPlane,
    token,
    api,
    createSession,
    deleteSession,
    attach,
    open: async () => {
      const id = await createSession();
      return samTerminal(
        await attach(id),
        () => attach(id),
        () => deleteSession(id),
      );
    },
    stop: async () => {
      await stopChild(child, true);
      await new Promise((resolve) => jwksServer.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The plain node-pty + ws server, run as its own process so its memory and CPU are its own. */
export async function startPtyWs(): Promise<TerminalServer> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "bench/pty-ws-server.ts")], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...quietEnv(), HOME: process.env.HOME ?? tmpdir() },
  });
  const match = await waitForLine(child, /listening on (\S+)/);
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    name: "pty-ws",
    pid: child.pid!,
    open: async () => {
      const socket = await openSocket(`ws://${match[1]}/`, [], {});
      return samTerminal(socket, null, async () => {});
    },
    stop: () => stopChild(child),
  };
}

/**
 * wetty 3.2.0 (socket.io 4 over engine.io 4). Its browser client sends `input`, receives `data` and
 * acknowledges output with `commit` (wetty pauses the PTY past 2 MB unacknowledged); this client does the same.
 */
export async function startWetty(): Promise<TerminalServer> {
  const child = spawn(
    process.execPath,
    [
      join(root, "node_modules/wetty/build/main.js"),
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--base",
      "/wetty",
      "--command",
      "/bin/sh",
      "--log-level",
      "info",
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...quietEnv(), HOME: process.env.HOME ?? tmpdir() },
    },
  );
  child.stdout?.on("data", (d) => process.env.BENCH_DEBUG && process.stderr.write(d));
  child.stderr?.on("data", (d) => process.env.BENCH_DEBUG && process.stderr.write(d));
  const port = await freePortOf(child);
  return {
    name: "wetty",
    pid: child.pid!,
    open: async () => {
      // Right after a 256 MiB run wetty sometimes closes a new socket before spawning its shell; a browser
      // would reconnect, and so does this.
      for (let attempt = 1; ; attempt++) {
        try {
          return await openWetty(`ws://127.0.0.1:${port}/wetty/socket.io/?EIO=4&transport=websocket`);
        } catch (error) {
          if (attempt === 3) throw error;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    },
    stop: () => stopChild(child),
  };
}

/** wetty does not print the port it bound to when given 0, so ask the kernel which one it listens on. */
async function freePortOf(child: ChildProcess): Promise<number> {
  await waitForLine(child, /Server started/);
  const { readFileSync, readdirSync, readlinkSync } = await import("node:fs");
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${child.pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${child.pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode) inodes.add(inode);
    } catch {}
  }
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[3] === "0A" && inodes.has(fields[9] ?? "")) return parseInt(fields[1]!.split(":")[1]!, 16);
  }
  throw new Error("wetty: could not find its listening port");
}

async function openWetty(url: string): Promise<Terminal> {
  const socket = await openSocket(url, [], {});
  let handler: (chunk: Buffer | string) => void = () => {};
  const connected = new Promise<void>((resolve, reject) => {
    socket.on("message", (raw) => {
      const message = raw.toString();
      if (message === "2") return socket.send("3");
      if (message.startsWith("0")) return socket.send("40");
      if (message.startsWith("42")) {
        const [event, payload] = JSON.parse(message.slice(2)) as [string, unknown];
        // wetty spawns the shell after the connection and only then listens for input; `login` says it is there.
        if (event === "login") resolve();
        if (event === "data" && typeof payload === "string") {
          handler(payload);
          socket.send(`42${JSON.stringify(["commit", payload.length])}`);
        }
      }
    });
    socket.once("close", (code, reason) =>
      reject(new Error(`wetty closed the socket before login (${code} ${reason})`)),
    );
  });
  await connected;
  return {
    drops: 0,
    closed: new Promise((resolve) => socket.once("close", (code) => resolve(code))),
    send: (text) => socket.send(`42${JSON.stringify(["input", text])}`),
    onOutput: (next) => (handler = next),
    close: () => closeSocket(socket),
  };
}

/** Resolves when the output since the call contains `marker`; with the bytes (or characters) seen. */
export function waitForOutput(terminal: Terminal, marker: string, timeoutMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let tail = "";
    let count = 0;
    const timer = setTimeout(
      () => reject(new Error(`no "${marker}" within ${timeoutMs} ms; last output: ${JSON.stringify(tail)}`)),
      timeoutMs,
    );
    void terminal.closed.then((code) => {
      clearTimeout(timer);
      reject(new Error(`closed with ${code} before "${marker}" (after ${count} bytes)`));
    });
    terminal.onOutput((chunk) => {
      count += chunk.length;
      tail = (tail + (typeof chunk === "string" ? chunk : chunk.toString("latin1"))).slice(-(marker.length + 4096));
      if (tail.includes(marker)) {
        clearTimeout(timer);
        terminal.onOutput(() => {});
        resolve(count);
      }
    });
  });
}

/** Reads VmRSS (or another /proc status field) of a process, in bytes. */
export async function procStatus(pid: number, field = "VmRSS"): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1];
  if (!kb) throw new Error(`no ${field} for pid ${pid}`);
  return Number(kb) * 1024;
}
