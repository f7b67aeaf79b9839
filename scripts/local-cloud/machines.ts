// Runs each Hetzner "server" the way cloud-init would on a real ubuntu-24.04 VM, inside the server's own
// directory, which stands for its root file system: `users:` makes the session user (a numeric uid of its
// own; no host user needed) and its home, `write_files:` writes its files, `packages:` and the `sh -c`
// commands of `runcmd:` run for real (curl, sha256sum, tar: a download that does not match is refused) with
// paths under / moved into the directory, and `systemctl enable --now sam-agent` starts the agent as a
// detached child process (its own process group) with the environment systemd gives the unit, listening,
// with TLS as in production, on the agent's production port on the server's own loopback address (its
// "public IPv4", see hetzner/servers.ts).
//
// The server's PATH holds only what Ubuntu 24.04 ships (symlinks to this machine's tools: shells, coreutils,
// git, curl, tar, …) and what cloud-init installed: no Node.js or npm unless the boot installs them.
import { spawn } from "node:child_process";
import {
  accessSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { arch } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { PINNED_SHA256 } from "../../app/workspaces/tools";
import { sleep } from "./http";
import { hostNpmSettings, NPM_CACHE_DIR } from "./npm-registry";

export const AGENT_ENV_PATH = "/etc/sam/agent.env";
/** The agent's default listen port (agent/internal/config), which the app's firewall opens and its URLs name. */
export const AGENT_PORT = 8443;
const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
export const HOST_GO_ARCH = GO_ARCH[arch()] ?? arch();
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * What Ubuntu 24.04's server image ships that a boot script, an install script or a terminal is likely to
 * call; each becomes a symlink on the server's PATH when this machine has it. No node, npm or npx.
 */
export const UBUNTU_TOOLS = [
  "sh",
  "bash",
  "dash",
  "env",
  "ls",
  "cat",
  "cp",
  "mv",
  "rm",
  "mkdir",
  "rmdir",
  "chmod",
  "chown",
  "ln",
  "pwd",
  "echo",
  "printf",
  "test",
  "[",
  "true",
  "false",
  "id",
  "whoami",
  "groups",
  "logname",
  "uname",
  "hostname",
  "date",
  "sleep",
  "head",
  "tail",
  "wc",
  "sort",
  "uniq",
  "cut",
  "tr",
  "tee",
  "grep",
  "egrep",
  "sed",
  "awk",
  "find",
  "xargs",
  "which",
  "dirname",
  "basename",
  "readlink",
  "realpath",
  "stat",
  "touch",
  "du",
  "df",
  "ps",
  "kill",
  "git",
  "curl",
  "wget",
  "tar",
  "gzip",
  "gunzip",
  "zcat",
  "xz",
  "sha256sum",
  "sha1sum",
  "md5sum",
  "vim",
  "vi",
  "less",
  "more",
  "clear",
  "tput",
  "reset",
  "stty",
  "tty",
  "ssh",
  "scp",
  "ssh-keygen",
  "diff",
  "cmp",
  "mktemp",
  "nproc",
  "seq",
  "expr",
  "python3",
  "perl",
  "unzip",
  "file",
  "ip",
  "top",
  "jq",
  "tmux",
  "openssl",
  "patch",
  "install",
  "timeout",
  "nohup",
  "getent",
  "locale",
  "infocmp",
  "tic",
  "bc",
  "base64",
  "yes",
  "tac",
  "nl",
  "fold",
  "od",
  "split",
  "comm",
  "join",
  "paste",
  "mkfifo",
  "sync",
  "chgrp",
  "lsof",
  "free",
  "uptime",
  "pgrep",
  "pkill",
  "watch",
  "ssh-agent",
  "gpg",
  "man",
];
/** Where this machine keeps what Ubuntu keeps in /usr/bin; /usr/local is this machine's own additions. */
const HOST_TOOL_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

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
  /** The uid:gid terminals run as (`users:` made it), or null when the user-data made no session user. */
  sessionUser: string | null;
}

export interface Machine {
  serverId: number;
  dir: string;
  agent: AgentProcess;
  /** Set once the machine is being torn down, so a late boot step does not start anything. */
  stopped: boolean;
  /** cloud-init's power_state asked for a poweroff (its condition held) once the boot finished. */
  poweredOff?: boolean;
  /** The local cloud's URL: the agent's upstreams that stand in for outside APIs (the Anthropic API) live there. */
  cloudUrl: string;
  exited: Promise<void>;
}

export interface CloudInitPlan {
  agentEnv: string | null;
  downloadUrl: string | null;
  /** write_files, decoded: path on the VM and content. */
  files: Array<{ path: string; content: string; permissions: number | null }>;
  /** Names in `users:` other than "default". */
  users: string[];
  packages: string[];
  /** runcmd, in order: a shell script to run, or the agent's start. */
  commands: Array<{ kind: "shell"; script: string } | { kind: "start-agent" } | { kind: "other"; text: string }>;
  /** power_state with mode poweroff: the shell condition that must succeed first (null: none). */
  powerOff: { condition: string | null } | null;
}

/** Reads what the local cloud needs from `#cloud-config` user-data. Throws on YAML it cannot parse. */
export function planFromUserData(userData: string): CloudInitPlan {
  const plan: CloudInitPlan = {
    agentEnv: null,
    downloadUrl: null,
    files: [],
    users: [],
    packages: [],
    commands: [],
    powerOff: null,
  };
  const doc = parseYaml(userData) as unknown;
  if (!doc || typeof doc !== "object") return plan;
  const config = doc as {
    write_files?: unknown;
    runcmd?: unknown;
    users?: unknown;
    packages?: unknown;
    power_state?: { mode?: unknown; condition?: unknown };
  };
  if (config.power_state?.mode === "poweroff") {
    const condition = config.power_state.condition;
    plan.powerOff = { condition: typeof condition === "string" ? condition : null };
  }
  if (Array.isArray(config.write_files)) {
    for (const file of config.write_files as Array<{
      path?: unknown;
      content?: unknown;
      encoding?: unknown;
      permissions?: unknown;
    }>) {
      if (typeof file?.path !== "string" || typeof file.content !== "string") continue;
      const encoding = typeof file.encoding === "string" ? file.encoding : "";
      const content = /^(b64|base64)$/.test(encoding)
        ? Buffer.from(file.content, "base64").toString("utf8")
        : file.content;
      const permissions = typeof file.permissions === "string" ? Number.parseInt(file.permissions, 8) : null;
      plan.files.push({ path: file.path, content, permissions });
      if (file.path === AGENT_ENV_PATH) plan.agentEnv = content;
    }
  }
  if (Array.isArray(config.users)) {
    for (const user of config.users as unknown[]) {
      const name = typeof user === "string" ? user : (user as { name?: unknown })?.name;
      if (typeof name === "string" && name !== "default") plan.users.push(name);
    }
  }
  if (Array.isArray(config.packages)) plan.packages = config.packages.filter((p): p is string => typeof p === "string");
  let downloadUrl: string | null = null;
  const commands = Array.isArray(config.runcmd) ? config.runcmd : [];
  for (const command of commands) {
    if (Array.isArray(command) && command[0] === "sh" && command[1] === "-c" && typeof command[2] === "string")
      plan.commands.push({ kind: "shell", script: command[2] });
    else if (typeof command === "string") plan.commands.push({ kind: "shell", script: command });
    else if (Array.isArray(command) && command[0] === "systemctl" && command.includes("sam-agent"))
      plan.commands.push({ kind: "start-agent" });
    else plan.commands.push({ kind: "other", text: JSON.stringify(command) });
  }
  for (const command of commands) {
    const text = Array.isArray(command) ? command.join(" ") : String(command);
    const match = /https?:\/\/[^\s'"]*\/api\/agent\/download\?[^\s'"]*/.exec(text);
    if (match) {
      downloadUrl = match[0];
      break;
    }
  }
  plan.downloadUrl = downloadUrl;
  return plan;
}

/** The download URL with `arch=` replaced by the host's Go architecture. */
export function withHostArch(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("arch", HOST_GO_ARCH);
  return parsed.toString();
}

/** The agent's SHA-256 per platform, from the version.json `npm start` uploaded with the binaries. */
function agentShas(): Record<string, string> {
  try {
    const { binaries } = JSON.parse(readFileSync(join(repoRoot, "agent/bin/version.json"), "utf8"));
    return Object.fromEntries(
      Object.entries(binaries as Record<string, { sha256: string }>).map(([k, v]) => [k, v.sha256]),
    );
  } catch {
    return {};
  }
}

const HOST_NODE_ARCH = arch() === "arm64" ? "arm64" : "x64";

/**
 * A runcmd script as it runs here: the server's directory stands for / (/opt/sam, /usr/local/bin/vm-agent),
 * and downloads name this machine's architecture, since the local cloud runs its own. A SHA-256 is swapped
 * for the host architecture's only where the script names the one that goes with the requested
 * architecture, so a download that does not match what the user-data says is still refused.
 */
export function localScript(script: string, dir: string): string {
  let out = script.replace(/\/api\/agent\/download\?os=linux&arch=(amd64|arm64)/g, (whole) =>
    whole.replace(/arch=(amd64|arm64)/, `arch=${HOST_GO_ARCH}`),
  );
  const requestedAgent = /\/api\/agent\/download\?os=linux&arch=(amd64|arm64)/.exec(script)?.[1];
  if (requestedAgent && requestedAgent !== HOST_GO_ARCH) {
    const shas = agentShas();
    const [from, to] = [shas[`linux-${requestedAgent}`], shas[`linux-${HOST_GO_ARCH}`]];
    if (from && to) out = out.split(from).join(to);
  }
  const requestedNode = /node-linux-(x64|arm64)\//.exec(script)?.[1] as "x64" | "arm64" | undefined;
  if (requestedNode && requestedNode !== HOST_NODE_ARCH) {
    const pinned = (a: "x64" | "arm64") => ({ sha256: PINNED_SHA256.node[a === "x64" ? "amd64" : "arm64"] });
    out = out
      .split(`node-linux-${requestedNode}`)
      .join(`node-linux-${HOST_NODE_ARCH}`)
      .split(pinned(requestedNode).sha256)
      .join(pinned(HOST_NODE_ARCH).sha256);
  }
  return out
    .replace(/(?<![\w./-])\/usr\/local\/bin\/vm-agent/g, join(dir, "vm-agent"))
    .replace(/(?<![\w./-])\/opt\/sam(?=[/\s;'"]|$)/g, join(dir, "opt/sam"));
}

/** Links what Ubuntu ships into the server's bin directory, when this machine has it. */
function linkTools(binDir: string, names: string[]): string[] {
  const missing: string[] = [];
  for (const name of names) {
    const target = HOST_TOOL_DIRS.map((d) => join(d, name)).find((candidate) => {
      try {
        accessSync(candidate, constants.X_OK);
        return statSync(candidate).isFile();
      } catch {
        return false;
      }
    });
    if (!target) {
      missing.push(name);
      continue;
    }
    if (!existsSync(join(binDir, name))) symlinkSync(target, join(binDir, name));
  }
  return missing;
}

/** Each local server's session user has a uid of its own; nothing on this machine needs to know it. */
export const LOCAL_UID_BASE = 200_000;

/** The first directory from `dir` up to / that `uid` cannot enter, if any. */
function notEnterable(dir: string, uid: number): string | null {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const { mode, uid: owner } = statSync(current);
    if (!(mode & 0o001 || (owner === uid && mode & 0o100))) return current;
    if (current === "/") return null;
  }
}

/** Runs a shell script as cloud-init's runcmd does, logging its output; resolves to its exit code and last line. */
function runScript(script: string, env: Record<string, string>, cwd: string, logFile: string) {
  return new Promise<{ code: number; last: string }>((done) => {
    const child = spawn(join(env.PATH!.split(":")[0]!, "sh"), ["-c", script], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (data: Buffer) => {
      output += data.toString();
      try {
        writeFileSync(logFile, data, { flag: "a" });
      } catch {
        // The server was deleted while it booted: its directory, log included, is gone, and the script with it.
        child.kill("SIGKILL");
      }
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      done({ code: 127, last: error.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const lines = output.trim().split("\n");
      done({ code: code ?? 1, last: lines.at(-1) ?? "" });
    });
  });
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function newMachine(serverId: number, dir: string, address: string, cloudUrl = ""): Machine {
  return {
    serverId,
    dir,
    cloudUrl,
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
      sessionUser: null,
    },
  };
}

/**
 * cloud-init: makes the users, writes the files, installs the packages and runs runcmd (the agent download,
 * Node.js and npm, the agent's start). Failures are recorded, not thrown: the VM stays up.
 */
export async function runCloudInit(
  machine: Machine,
  userData: string | null,
  log: (line: string) => void,
): Promise<void> {
  const { dir, agent } = machine;
  const cloudInitLog = join(dir, "cloud-init.log");
  const fail = (message: string) => {
    // A server deleted while it booted has no directory left to log into, and nobody to tell.
    if (machine.stopped) return;
    agent.error = message;
    writeFileSync(cloudInitLog, `${message}\n`, { flag: "a" });
    log(`server ${machine.serverId}: ${message}`);
  };
  for (const [sub, mode] of [
    ["etc/sam", 0o700],
    ["var/lib/sam-agent", 0o700],
    ["root", 0o700],
    ["usr/bin", 0o755],
    ["home", 0o755],
    ["opt", 0o755],
    ["run", 0o755],
  ] as const) {
    // Parents as on a VM (/etc, /var/lib: 0755); only the leaf gets its own mode. A recursive mkdir would give
    // every parent the leaf's mode and lock the session user out of /etc and /var as well.
    mkdirSync(dirname(join(dir, sub)), { recursive: true, mode: 0o755 });
    mkdirSync(join(dir, sub), { recursive: true, mode });
  }
  const binDir = join(dir, "usr/bin");
  linkTools(binDir, UBUNTU_TOOLS);
  // A VM's curl retries a failing download for many minutes (--retry 10); a local server gives up after a
  // few seconds, so a missing or refused download shows as an error while someone is still looking.
  writeFileSync(join(dir, "root/.curlrc"), "retry-max-time = 3\n");
  if (!userData) return fail("no user-data: nothing to start");
  let plan: CloudInitPlan;
  try {
    plan = planFromUserData(userData);
  } catch (error) {
    return fail(`user-data is not valid YAML: ${(error as Error).message}`);
  }
  // A server that starts no agent (an image build) only runs its commands.
  const startsAgent = plan.commands.some((c) => c.kind === "start-agent");
  if (plan.agentEnv === null && startsAgent) return fail(`user-data has no write_files entry for ${AGENT_ENV_PATH}`);
  const inServer = (path: string) => join(dir, path);
  const toolsDir = inServer("opt/sam");
  // users: the first one is who the agent's SAM_SESSION_USER names; it gets a uid of its own.
  let sessionHome: string | null = null;
  const [userName] = plan.users;
  if (userName) {
    const uid = LOCAL_UID_BASE + (machine.serverId % 100_000);
    sessionHome = inServer(`home/${userName}`);
    mkdirSync(sessionHome, { recursive: true, mode: 0o755 });
    // This machine's /etc/profile (Debian's) resets PATH, which Ubuntu's does not: put back the server's
    // own PATH, then source what a VM's /etc/profile sources from /etc/profile.d.
    writeFileSync(
      join(sessionHome, ".profile"),
      `# Written by the local cloud (scripts/local-cloud/machines.ts), standing in for Ubuntu's /etc/profile.\nPATH="${binDir}"\nfor f in ${inServer("etc/profile.d")}/*.sh; do [ -r "$f" ] && . "$f"; done\n`,
    );
    chownSync(sessionHome, uid, uid);
    chownSync(join(sessionHome, ".profile"), uid, uid);
    const blocked = notEnterable(sessionHome, uid);
    if (blocked)
      return fail(
        `the server's user (uid ${uid}) cannot enter ${blocked}: every directory above the local cloud's directory must be enterable by others (chmod o+x)`,
      );
    agent.sessionUser = `${uid}:${uid}`;
  }
  for (const file of plan.files) {
    const target = inServer(file.path);
    mkdirSync(dirname(target), { recursive: true });
    // Files that name the tools prefix name the server's.
    writeFileSync(target, localScript(file.content, dir), { mode: file.permissions ?? 0o644 });
  }
  const envFile = inServer(AGENT_ENV_PATH);
  if (plan.agentEnv !== null) writeFileSync(envFile, plan.agentEnv, { mode: 0o600 });
  const notShipped = linkTools(binDir, plan.packages);
  if (notShipped.length)
    writeFileSync(cloudInitLog, `packages: this machine has no ${notShipped.join(", ")} to stand in for them\n`, {
      flag: "a",
    });
  if (!plan.downloadUrl && startsAgent)
    return fail("user-data runcmd names no agent download URL (…/api/agent/download?…)");
  if (plan.downloadUrl) agent.downloadUrl = withHostArch(plan.downloadUrl);
  const binary = inServer("vm-agent");
  // npm in a runcmd (the SAM image build installs the CLIs) reaches this machine's registry and shares the
  // cache, as the agent's npm does (startAgent).
  const bootEnv = {
    PATH: binDir,
    HOME: inServer("root"),
    LANG: "C.UTF-8",
    ...hostNpmSettings(),
    npm_config_cache: NPM_CACHE_DIR,
    npm_config_update_notifier: "false",
  };
  let lastFailure: string | null = null;
  for (const [index, command] of plan.commands.entries()) {
    if (machine.stopped) return;
    if (command.kind === "other") {
      writeFileSync(cloudInitLog, `runcmd ${index + 1}: ${command.text} is not modelled by the local cloud\n`, {
        flag: "a",
      });
      continue;
    }
    if (command.kind === "shell") {
      const { code, last } = await runScript(localScript(command.script, dir), bootEnv, inServer("root"), cloudInitLog);
      if (code !== 0) {
        lastFailure = `runcmd ${index + 1} failed (exit ${code}): ${last}`;
        writeFileSync(cloudInitLog, `${lastFailure}\n`, { flag: "a" });
        log(`server ${machine.serverId}: ${lastFailure}`);
      }
      continue;
    }
    if (!existsSync(binary))
      return fail(`agent download ${agent.downloadUrl} failed: ${lastFailure ?? "runcmd did not save it"}`);
    await startAgent(machine, binary, envFile, { binDir, toolsDir, sessionHome }, log, fail);
  }
  if (plan.powerOff && !machine.stopped) {
    const { condition } = plan.powerOff;
    const held =
      condition === null ||
      (await runScript(localScript(condition, dir), bootEnv, inServer("root"), cloudInitLog)).code === 0;
    if (held) machine.poweredOff = true;
  }
}

/** systemctl enable --now sam-agent: the agent as root, with what systemd gives a unit with User=root. */
async function startAgent(
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
