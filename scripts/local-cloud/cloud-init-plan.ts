// What the local cloud reads from a server's `#cloud-config` user-data: the files to write, the users and
// packages, the runcmd commands in order, the agent's download URL and whether the server powers off.
import { parse as parseYaml } from "yaml";

export const AGENT_ENV_PATH = "/etc/sam/agent.env";

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
