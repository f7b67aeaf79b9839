// Runs each Hetzner "server" the way cloud-init would on a real VM: write /etc/sam/agent.env from the
// user-data's write_files, download the agent named in runcmd, and start it — here as a detached child
// process (its own process group) listening, with TLS as in production, on the agent's production port on
// the server's own loopback address (its "public IPv4", see hetzner/servers.ts).
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { sleep } from "./http";

export const AGENT_ENV_PATH = "/etc/sam/agent.env";
/** The agent's default listen port (agent/internal/config), which the app's firewall opens and its URLs name. */
export const AGENT_PORT = 8443;
const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
export const HOST_GO_ARCH = GO_ARCH[arch()] ?? arch();

export interface AgentProcess {
  pid: number | null;
  /** The server's public IPv4, a loopback address of its own, which the agent listens on. */
  address: string;
  port: number;
  alive: boolean;
  startedAt: string | null;
  exitedAt: string | null;
  exitCode: number | null;
  exitSignal: string | null;
  downloadUrl: string | null;
  /** Why cloud-init could not start the agent (the VM stays up, as a real one would). */
  error: string | null;
}

export interface Machine {
  serverId: number;
  dir: string;
  agent: AgentProcess;
  /** Set once the machine is being torn down, so a late boot step does not start anything. */
  stopped: boolean;
  exited: Promise<void>;
}

export interface CloudInitPlan {
  agentEnv: string | null;
  downloadUrl: string | null;
}

/** Reads what the local cloud needs from `#cloud-config` user-data. Throws on YAML it cannot parse. */
export function planFromUserData(userData: string): CloudInitPlan {
  const doc = parseYaml(userData) as unknown;
  if (!doc || typeof doc !== "object") return { agentEnv: null, downloadUrl: null };
  const config = doc as { write_files?: unknown; runcmd?: unknown };
  let agentEnv: string | null = null;
  if (Array.isArray(config.write_files)) {
    for (const file of config.write_files as Array<{ path?: unknown; content?: unknown; encoding?: unknown }>) {
      if (file?.path !== AGENT_ENV_PATH || typeof file.content !== "string") continue;
      const encoding = typeof file.encoding === "string" ? file.encoding : "";
      agentEnv = /^(b64|base64)$/.test(encoding) ? Buffer.from(file.content, "base64").toString("utf8") : file.content;
    }
  }
  let downloadUrl: string | null = null;
  const commands = Array.isArray(config.runcmd) ? config.runcmd : [];
  for (const command of commands) {
    const text = Array.isArray(command) ? command.join(" ") : String(command);
    const match = /https?:\/\/[^\s'"]*\/api\/agent\/download\?[^\s'"]*/.exec(text);
    if (match) {
      downloadUrl = match[0];
      break;
    }
  }
  return { agentEnv, downloadUrl };
}

/** The download URL with `arch=` replaced by the host's Go architecture. */
export function withHostArch(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("arch", HOST_GO_ARCH);
  return parsed.toString();
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function newMachine(serverId: number, dir: string, address: string): Machine {
  return {
    serverId,
    dir,
    stopped: false,
    exited: Promise.resolve(),
    agent: {
      pid: null,
      address,
      port: AGENT_PORT,
      alive: false,
      startedAt: null,
      exitedAt: null,
      exitCode: null,
      exitSignal: null,
      downloadUrl: null,
      error: null,
    },
  };
}

/** cloud-init: writes the agent config, downloads the agent and starts it. Failures are recorded, not thrown. */
export async function runCloudInit(
  machine: Machine,
  userData: string | null,
  log: (line: string) => void,
): Promise<void> {
  const { dir, agent } = machine;
  const fail = (message: string) => {
    // A server deleted while it booted has no directory left to log into, and nobody to tell.
    if (machine.stopped) return;
    agent.error = message;
    writeFileSync(join(dir, "cloud-init.log"), `${message}\n`, { flag: "a" });
    log(`server ${machine.serverId}: ${message}`);
  };
  for (const sub of ["etc/sam", "var/lib/sam-agent", "workspace", "home", "npm-global/bin"])
    mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  if (!userData) return fail("no user-data: nothing to start");
  let plan: CloudInitPlan;
  try {
    plan = planFromUserData(userData);
  } catch (error) {
    return fail(`user-data is not valid YAML: ${(error as Error).message}`);
  }
  if (plan.agentEnv === null) return fail(`user-data has no write_files entry for ${AGENT_ENV_PATH}`);
  const envFile = join(dir, "etc/sam/agent.env");
  writeFileSync(envFile, plan.agentEnv, { mode: 0o600 });
  if (!plan.downloadUrl) return fail("user-data runcmd names no agent download URL (…/api/agent/download?…)");
  agent.downloadUrl = withHostArch(plan.downloadUrl);
  const binary = join(dir, "vm-agent");
  try {
    const response = await fetch(agent.downloadUrl, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) return fail(`agent download ${agent.downloadUrl} answered ${response.status}`);
    writeFileSync(binary, Buffer.from(await response.arrayBuffer()));
    chmodSync(binary, 0o755);
  } catch (error) {
    return fail(`agent download ${agent.downloadUrl} failed: ${(error as Error).message}`);
  }
  if (machine.stopped) return;
  const logFd = openSync(join(dir, "agent.log"), "a");
  const env: Record<string, string> = {
    PATH: `${join(dir, "npm-global/bin")}:${process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"}`,
    HOME: join(dir, "home"),
    USER: process.env.USER ?? "root",
    LANG: "C.UTF-8",
    SHELL: existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh",
    TERM: "xterm-256color",
    npm_config_prefix: join(dir, "npm-global"),
    // The only setting that differs from a VM: the address, since every local server shares one host. TLS
    // stays on, so the agent serves the Origin CA certificate it got through bootstrap, as in production.
    SAM_LISTEN_ADDR: `${agent.address}:${agent.port}`,
    SAM_DATA_DIR: join(dir, "var/lib/sam-agent"),
    SAM_WORKSPACE_DIR: join(dir, "workspace"),
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

export async function destroyMachine(machine: Machine): Promise<void> {
  await stopAgent(machine);
  rmSync(machine.dir, { recursive: true, force: true });
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
