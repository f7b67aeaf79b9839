/**
 * The user-data a workspace VM boots with. It carries no secret: only the workspace id, the control
 * plane's URL, the hostname and the one-time bootstrap token, which the agent trades for its credentials.
 * Hetzner shows user-data to anyone holding the project token and keeps it, so nothing else may be here.
 * The local cloud parses this exact shape (scripts/local-cloud/machines.ts).
 */

/** Hetzner refuses larger user-data. */
export const MAX_USER_DATA_BYTES = 32 * 1024;

export type AgentArch = "amd64" | "arm64";

/** Hetzner's Ampere types (cax*) are arm64; every other type is x86. */
export function archForServerType(serverType: string): AgentArch {
  return serverType.startsWith("cax") ? "arm64" : "amd64";
}

export interface CloudInitInput {
  workspaceId: string;
  appUrl: string;
  hostname: string;
  bootstrapToken: string;
  arch: AgentArch;
}

const safe = {
  workspaceId: /^[a-z0-9]{1,32}$/,
  appUrl: /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/,
  hostname: /^[a-z0-9.-]+$/,
  bootstrapToken: /^[A-Za-z0-9_-]{43}$/,
};

/** Every value lands inside YAML and a shell command: refuse anything that could break out of either. */
function check(input: CloudInitInput) {
  for (const [name, pattern] of Object.entries(safe) as Array<[keyof typeof safe, RegExp]>) {
    if (!pattern.test(input[name])) throw new Error(`cloud-init: ${name} has unexpected characters`);
  }
}

export function renderCloudInit(input: CloudInitInput): string {
  check(input);
  const download = `${input.appUrl}/api/agent/download?os=linux&arch=${input.arch}`;
  const userData = `#cloud-config
write_files:
  - path: /etc/sam/agent.env
    permissions: "0600"
    content: |
      SAM_WORKSPACE_ID=${input.workspaceId}
      SAM_CONTROL_PLANE_URL=${input.appUrl}
      SAM_BOOTSTRAP_TOKEN=${input.bootstrapToken}
      SAM_HOSTNAME=${input.hostname}
  - path: /etc/systemd/system/sam-agent.service
    content: |
      [Unit]
      Description=SAM workspace agent
      Wants=network-online.target
      After=network-online.target

      [Service]
      ExecStart=/usr/local/bin/vm-agent --config-file /etc/sam/agent.env
      Restart=on-failure
      RestartSec=2

      [Install]
      WantedBy=multi-user.target
runcmd:
  - [sh, -c, "curl -fsSL --retry 10 --retry-all-errors '${download}' -o /usr/local/bin/vm-agent && chmod 755 /usr/local/bin/vm-agent"]
  - [systemctl, enable, --now, sam-agent]
`;
  if (new TextEncoder().encode(userData).length > MAX_USER_DATA_BYTES)
    throw new Error("cloud-init: user-data exceeds 32 KiB");
  return userData;
}
