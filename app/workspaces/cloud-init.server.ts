import type { Config } from "../platform/config.server";

/**
 * The user-data a workspace VM boots with. It carries no secret: only the workspace id, the control
 * plane's URL, the hostname and the one-time bootstrap token, which the agent trades for its credentials,
 * and the public SHA-256s of what it downloads. Hetzner shows user-data to anyone holding the project token
 * and keeps it, so nothing else may be here.
 *
 * The boot: create the unprivileged `sam` user (terminals, coding agents and the repository run as it),
 * download the agent and check its SHA-256, download Node.js and npm into the root-owned /opt/sam and check
 * theirs, then start the agent as root with HOME set (systemd gives a unit none). A download that does not
 * match is refused: no agent (the workspace never becomes ready), or no Node (the agent says so and the
 * terminal works without a coding agent).
 * The local cloud runs this exact shape (scripts/local-cloud/machines.ts).
 */

/** Hetzner refuses larger user-data. */
export const MAX_USER_DATA_BYTES = 32 * 1024;

export type AgentArch = "amd64" | "arm64";

/** Hetzner's Ampere types (cax*) are arm64; every other type is x86. */
export function archForServerType(serverType: string): AgentArch {
  return serverType.startsWith("cax") ? "arm64" : "amd64";
}

/** Where Node.js, npm and the coding-agent CLIs live on the VM; root-owned, on the session user's PATH. */
export const TOOLS_DIR = "/opt/sam";
/** The unprivileged user terminals and coding agents run as. */
export const SESSION_USER = "sam";

export interface CloudInitInput {
  workspaceId: string;
  appUrl: string;
  hostname: string;
  bootstrapToken: string;
  arch: AgentArch;
  /** SHA-256 of the agent binary the download URL serves (R2's version.json). */
  agentSha256: string;
  nodeUrl: string;
  nodeSha256: string;
  npmUrl: string;
  npmSha256: string;
  /**
   * The workspace's Hetzner Volume, attached at create with automount: Hetzner mounts it at
   * /mnt/HC_Volume_<id>, and the agent keeps the repository, the session user's home and its session logs
   * there. Absent when the instance's policy gives workspaces no volume.
   */
  volumeId?: number | null;
}

/** Where Hetzner's automount puts a volume (and the local cloud links it). */
export function volumeDir(volumeId: number): string {
  return `/mnt/HC_Volume_${volumeId}`;
}

/** The Node and npm archives configured for an architecture. */
export function toolsFor(
  config: Pick<
    Config,
    "NODE_URL_AMD64" | "NODE_SHA256_AMD64" | "NODE_URL_ARM64" | "NODE_SHA256_ARM64" | "NPM_URL" | "NPM_SHA256"
  >,
  arch: AgentArch,
): Pick<CloudInitInput, "nodeUrl" | "nodeSha256" | "npmUrl" | "npmSha256"> {
  return {
    nodeUrl: arch === "arm64" ? config.NODE_URL_ARM64 : config.NODE_URL_AMD64,
    nodeSha256: arch === "arm64" ? config.NODE_SHA256_ARM64 : config.NODE_SHA256_AMD64,
    npmUrl: config.NPM_URL,
    npmSha256: config.NPM_SHA256,
  };
}

const httpUrl = /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/@%+-]*)?$/;
const sha256 = /^[0-9a-f]{64}$/;
const safe = {
  workspaceId: /^[a-z0-9]{1,32}$/,
  appUrl: /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/,
  hostname: /^[a-z0-9.-]+$/,
  bootstrapToken: /^[A-Za-z0-9_-]{43}$/,
  agentSha256: sha256,
  nodeUrl: httpUrl,
  nodeSha256: sha256,
  npmUrl: httpUrl,
  npmSha256: sha256,
};

/** Every value lands inside YAML and a shell command: refuse anything that could break out of either. */
function check(input: CloudInitInput) {
  for (const [name, pattern] of Object.entries(safe) as Array<[keyof typeof safe, RegExp]>) {
    if (!pattern.test(input[name])) throw new Error(`cloud-init: ${name} has unexpected characters`);
  }
  if (input.volumeId != null && !(Number.isSafeInteger(input.volumeId) && input.volumeId > 0))
    throw new Error("cloud-init: volumeId is not a positive integer");
}

const curl = "curl -fsSL --retry 10 --retry-all-errors";

/** Downloads url to file and refuses it (removed, non-zero exit) unless its SHA-256 matches. */
function verifiedDownload(url: string, sha: string, file: string): string {
  return `${curl} '${url}' -o ${file}; echo '${sha}  ${file}' | sha256sum -c - || { rm -f ${file}; exit 1; }`;
}

/** What a SAM image (app/admin/image.server.ts) records it holds, one `key=value` a line. */
export const IMAGE_MARKER = `${TOOLS_DIR}/sam-image`;

type Tools = Pick<CloudInitInput, "nodeUrl" | "nodeSha256" | "npmUrl" | "npmSha256">;

/**
 * Installs Node.js and npm under TOOLS_DIR, checked against their SHA-256s; skipped when the disk is a SAM
 * image that holds exactly these archives (its marker names their SHA-256s).
 */
export function installToolsScript(tools: Tools): string {
  for (const name of ["nodeUrl", "nodeSha256", "npmUrl", "npmSha256"] as const)
    if (!safe[name].test(tools[name])) throw new Error(`cloud-init: ${name} has unexpected characters`);
  const fromImage = `grep -qx 'node-sha256=${tools.nodeSha256}' ${IMAGE_MARKER} && grep -qx 'npm-sha256=${tools.npmSha256}' ${IMAGE_MARKER}`;
  return [
    "set -e",
    `if [ -f ${IMAGE_MARKER} ] && ${fromImage}; then echo 'Node.js and npm from the SAM image'; exit 0; fi`,
    `mkdir -p ${TOOLS_DIR}/node ${TOOLS_DIR}/npm`,
    `cd ${TOOLS_DIR}`,
    verifiedDownload(tools.nodeUrl, tools.nodeSha256, "node.tgz"),
    verifiedDownload(tools.npmUrl, tools.npmSha256, "npm.tgz"),
    "tar -xzf node.tgz -C node --strip-components=1 --no-same-owner",
    "tar -xzf npm.tgz -C npm --strip-components=1 --no-same-owner",
    "ln -sf ../../npm/bin/npm-cli.js node/bin/npm",
    "ln -sf ../../npm/bin/npx-cli.js node/bin/npx",
    "rm -f node.tgz npm.tgz",
  ].join("; ");
}

export function renderCloudInit(input: CloudInitInput): string {
  check(input);
  const download = `${input.appUrl}/api/agent/download?os=linux&arch=${input.arch}`;
  const agent = "/usr/local/bin/vm-agent";
  const installAgent = `set -e; ${verifiedDownload(download, input.agentSha256, `${agent}.part`)}; chmod 755 ${agent}.part; mv ${agent}.part ${agent}`;
  const installNode = installToolsScript(input);
  const userData = `#cloud-config
users:
  - default
  - name: ${SESSION_USER}
    gecos: SAM workspace user
    shell: /bin/bash
write_files:
  - path: /etc/sam/agent.env
    permissions: "0600"
    content: |
      SAM_WORKSPACE_ID=${input.workspaceId}
      SAM_CONTROL_PLANE_URL=${input.appUrl}
      SAM_BOOTSTRAP_TOKEN=${input.bootstrapToken}
      SAM_HOSTNAME=${input.hostname}
      SAM_SESSION_USER=${SESSION_USER}
      SAM_TOOLS_DIR=${TOOLS_DIR}${input.volumeId != null ? `\n      SAM_VOLUME_DIR=${volumeDir(input.volumeId)}` : ""}
  - path: /etc/profile.d/sam-tools.sh
    content: |
      # Node.js and the coding-agent CLIs SAM installed (root-owned), for login shells that reset PATH.
      case ":$PATH:" in *:${TOOLS_DIR}/bin:*) ;; *) PATH="${TOOLS_DIR}/bin:${TOOLS_DIR}/node/bin:$PATH" ;; esac
  - path: /etc/systemd/system/sam-agent.service
    content: |
      [Unit]
      Description=SAM workspace agent
      Wants=network-online.target
      After=network-online.target

      [Service]
      # Root keeps the agent's state, TLS key and credential socket; sessions run as ${SESSION_USER}.
      User=root
      Environment=HOME=/root
      ExecStart=/usr/local/bin/vm-agent --config-file /etc/sam/agent.env
      Restart=on-failure
      RestartSec=2
      # A stop (Hetzner's ACPI shutdown) signals the agent alone first: it records the terminal tabs, hangs up
      # the shells, ends the coding agents and flushes the volume (about 15 s at most), then systemd kills the rest.
      KillMode=mixed
      TimeoutStopSec=30

      [Install]
      WantedBy=multi-user.target
runcmd:
  - [sh, -c, "${installAgent}"]
  - [sh, -c, "${installNode}"]
  - [systemctl, enable, --now, sam-agent]
`;
  if (new TextEncoder().encode(userData).length > MAX_USER_DATA_BYTES)
    throw new Error("cloud-init: user-data exceeds 32 KiB");
  return userData;
}
