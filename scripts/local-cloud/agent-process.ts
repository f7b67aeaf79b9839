// The agent's process on a local server: started as systemd would start the unit, stopped with its whole
// process group, and its log read back.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./http";
import type { Machine } from "./machines";
import { hostNpmSettings, NPM_CACHE_DIR } from "./npm-registry";

/** The agent's default listen port (agent/internal/config), which the app's firewall opens and its URLs name. */
export const AGENT_PORT = 8443;

/** systemctl enable --now sam-agent: the agent as root, with what systemd gives a unit with User=root. */
export async function startAgent(
  machine: Machine,
  binary: string,
  envFile: string,
  paths: { binDir: string; toolsDir: string; sessionHome: string | null },
  log: (line: string) => void,
  fail: (message: string) => void,
): Promise<void> {
  const { dir, agent } = machine;
  if (machine.stopped) return;
  const logFd = openSync(join(dir, "agent.log"), "a");
  const env: Record<string, string> = {
    PATH: paths.binDir,
    HOME: join(dir, "root"),
    USER: "root",
    LOGNAME: "root",
    SHELL: existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh",
    LANG: "C.UTF-8",
    // npm inside the server reaches this machine's registry with its CA file, and shares one cache across
    // servers so the CLIs are downloaded once (docs/local-cloud.md).
    ...hostNpmSettings(),
    npm_config_cache: NPM_CACHE_DIR,
    npm_config_update_notifier: "false",
    // Paths move into the server's directory and the address is its own, since every local server shares
    // one host. TLS stays on, so the agent serves the Origin CA certificate it got through bootstrap.
    SAM_LISTEN_ADDR: `${agent.address}:${agent.port}`,
    SAM_DATA_DIR: join(dir, "var/lib/sam-agent"),
    SAM_WORKSPACE_DIR: join(dir, "workspace"),
    SAM_RUN_DIR: join(dir, "run/sam-agent"),
    SAM_TOOLS_DIR: paths.toolsDir,
    ...volumeDirIn(dir, envFile),
    ...(machine.cloudUrl ? { SAM_ANTHROPIC_URL: `${machine.cloudUrl}/anthropic` } : {}),
    ...(agent.sessionUser && paths.sessionHome
      ? { SAM_SESSION_USER: agent.sessionUser, SAM_SESSION_HOME: paths.sessionHome }
      : {}),
  };
  try {
    const child = spawn(binary, ["--config-file", envFile], {
      cwd: dir,
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env,
    });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    agent.pid = child.pid ?? null;
    agent.alive = true;
    agent.startedAt = new Date().toISOString();
    machine.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        agent.alive = false;
        agent.exitCode = code;
        agent.exitSignal = signal;
        agent.exitedAt = new Date().toISOString();
        resolve();
      });
    });
    child.unref();
    log(`server ${machine.serverId}: agent pid ${agent.pid} on ${agent.address}:${agent.port}`);
  } catch (error) {
    fail(`agent start failed: ${(error as Error).message}`);
  } finally {
    closeSync(logFd);
  }
}

/**
 * The agent.env's `SAM_VOLUME_DIR=/mnt/HC_Volume_<id>` (where Hetzner mounts the workspace's volume) moved into
 * the server's directory like the other paths: `<server dir>/mnt/HC_Volume_<id>`, the volume's mount link.
 */
export function volumeDirIn(dir: string, envFile: string): { SAM_VOLUME_DIR?: string } {
  if (!existsSync(envFile)) return {};
  const line = readFileSync(envFile, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("SAM_VOLUME_DIR="))
    .pop();
  const value = line
    ?.slice("SAM_VOLUME_DIR=".length)
    .trim()
    .replace(/^(["'])(.*)\1$/, "$2");
  if (!value?.startsWith("/")) return {};
  return { SAM_VOLUME_DIR: join(dir, value) };
}

/** Stops the agent's whole process group: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAgent(machine: Machine, graceMs = 3000): Promise<void> {
  machine.stopped = true;
  const pid = machine.agent.pid;
  if (!pid || !groupAlive(pid)) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {}
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(pid)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
    while (groupAlive(pid) && Date.now() < deadline + 2000) await sleep(20);
  }
  await Promise.race([machine.exited, sleep(500)]);
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Kills every agent group at once without waiting (process exit path). */
export function killNow(machine: Machine): void {
  machine.stopped = true;
  if (machine.agent.pid) {
    try {
      process.kill(-machine.agent.pid, "SIGKILL");
    } catch {}
  }
}

export function logTail(dir: string, bytes = 4096): string {
  const file = join(dir, "agent.log");
  if (!existsSync(file)) return "";
  const size = statSync(file).size;
  const length = Math.min(size, bytes);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return buffer.toString("utf8");
}
