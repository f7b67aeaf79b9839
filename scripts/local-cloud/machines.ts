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
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AGENT_PORT, startAgent, stopAgent } from "./agent-process";
import { AGENT_ENV_PATH, type CloudInitPlan, planFromUserData } from "./cloud-init-plan";
import { hostNpmSettings, NPM_CACHE_DIR } from "./npm-registry";
import { localScript, runScript, withHostArch } from "./runcmd";
import { LOCAL_UID_BASE, linkTools, notEnterable, UBUNTU_TOOLS } from "./ubuntu-image";

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

export async function destroyMachine(machine: Machine): Promise<void> {
  await stopAgent(machine);
  rmSync(machine.dir, { recursive: true, force: true });
}
