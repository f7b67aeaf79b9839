import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { archForServerType, MAX_USER_DATA_BYTES, renderCloudInit, toolsFor } from "./cloud-init.server";
import { PINNED_SHA256 } from "./tools";
import { parseConfig } from "../platform/config.server";
import { testEnv } from "../../tests/support/test-env";
import { LOCAL_HETZNER_TOKEN } from "../../scripts/local-env.mjs";

const config = parseConfig(testEnv());
const input = {
  workspaceId: "abcdefgh2345",
  appUrl: config.APP_URL,
  hostname: `ws-abcdefgh2345.${config.BASE_DOMAIN}`,
  bootstrapToken: "A".repeat(20) + "_-" + "b".repeat(21),
  arch: "amd64" as const,
  agentSha256: "5".repeat(64),
  ...toolsFor(config, "amd64"),
};

describe("cloud-init user-data", () => {
  it("is #cloud-config YAML that writes the agent env file and unit, then downloads and starts the agent", () => {
    const userData = renderCloudInit(input);
    expect(userData.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(userData);
    const env = doc.write_files.find((file: { path: string }) => file.path === "/etc/sam/agent.env");
    expect(env.permissions).toBe("0600");
    expect(env.content).toBe(
      `SAM_WORKSPACE_ID=abcdefgh2345\nSAM_CONTROL_PLANE_URL=${config.APP_URL}\nSAM_BOOTSTRAP_TOKEN=${input.bootstrapToken}\nSAM_HOSTNAME=${input.hostname}\nSAM_SESSION_USER=sam\nSAM_TOOLS_DIR=/opt/sam\n`,
    );
    const unit = doc.write_files.find(
      (file: { path: string }) => file.path === "/etc/systemd/system/sam-agent.service",
    );
    expect(unit.content).toContain("ExecStart=/usr/local/bin/vm-agent --config-file /etc/sam/agent.env");
    // A stop signals the agent first and gives it time to save the terminals and flush the volume.
    expect(unit.content).toContain("KillMode=mixed");
    expect(unit.content).toMatch(/TimeoutStopSec=(\d+)/);
    expect(unit.content).toContain("Restart=on-failure");
    expect(doc.runcmd[0]).toEqual([
      "sh",
      "-c",
      `set -e; curl -fsSL --retry 10 --retry-all-errors '${config.APP_URL}/api/agent/download?os=linux&arch=amd64' -o /usr/local/bin/vm-agent.part; echo '${input.agentSha256}  /usr/local/bin/vm-agent.part' | sha256sum -c - || { rm -f /usr/local/bin/vm-agent.part; exit 1; }; chmod 755 /usr/local/bin/vm-agent.part; mv /usr/local/bin/vm-agent.part /usr/local/bin/vm-agent`,
    ]);
    expect(doc.runcmd[2]).toEqual(["systemctl", "enable", "--now", "sam-agent"]);
  });

  it("makes the unprivileged sam user that sessions run as, and runs the agent as root with a HOME", () => {
    const doc = parse(renderCloudInit(input));
    expect(doc.users).toEqual([
      "default",
      // cloud-init locks a new user's password by default: no password, no sudo.
      { name: "sam", gecos: "SAM workspace user", shell: "/bin/bash" },
    ]);
    const env = doc.write_files.find((file: { path: string }) => file.path === "/etc/sam/agent.env");
    expect(env.content).toMatch(/^SAM_SESSION_USER=sam$/m);
    const unit = doc.write_files.find((file: { path: string }) => file.path.endsWith("sam-agent.service"));
    expect(unit.content).toMatch(/^User=root$/m);
    expect(unit.content).toMatch(/^Environment=HOME=\/root$/m);
  });

  it("installs the configured Node.js and npm under the root-owned /opt/sam, each checked against its SHA-256", () => {
    const doc = parse(renderCloudInit({ ...input, ...toolsFor(config, "arm64"), arch: "arm64" }));
    const script = doc.runcmd[1][2] as string;
    expect(script).toContain(
      `'${config.NODE_URL_ARM64}' -o node.tgz; echo '${config.NODE_SHA256_ARM64}  node.tgz' | sha256sum -c -`,
    );
    expect(script).toContain(`'${config.NPM_URL}' -o npm.tgz; echo '${config.NPM_SHA256}  npm.tgz' | sha256sum -c -`);
    // Unless configured otherwise, the hashes are the pinned ones (the local cloud serves the same archives).
    expect([config.NODE_SHA256_ARM64, config.NPM_SHA256]).toEqual([PINNED_SHA256.node.arm64, PINNED_SHA256.npm]);
    expect(script).toContain("cd /opt/sam;");
    expect(script).toContain("ln -sf ../../npm/bin/npm-cli.js node/bin/npm");
    expect(script).not.toMatch(/\/home|~/);
    const profile = doc.write_files.find((file: { path: string }) => file.path === "/etc/profile.d/sam-tools.sh");
    expect(profile.content).toContain('PATH="/opt/sam/bin:/opt/sam/node/bin:$PATH"');
  });

  it("names the workspace's volume where Hetzner mounts it, and nothing when the workspace has none", () => {
    const env = (userData: string) =>
      parse(userData).write_files.find((file: { path: string }) => file.path === "/etc/sam/agent.env").content;
    expect(env(renderCloudInit({ ...input, volumeId: 104857 }))).toMatch(/^SAM_VOLUME_DIR=\/mnt\/HC_Volume_104857$/m);
    expect(env(renderCloudInit({ ...input, volumeId: null }))).not.toContain("SAM_VOLUME_DIR");
    expect(env(renderCloudInit(input))).not.toContain("SAM_VOLUME_DIR");
  });

  it("stays far under Hetzner's 32 KiB limit", () => {
    expect(new TextEncoder().encode(renderCloudInit(input)).length).toBeLessThan(MAX_USER_DATA_BYTES / 8);
  });

  it("holds no secret: no configured key, token or password, only the one-time bootstrap token", () => {
    const userData = renderCloudInit(input);
    const secrets = [
      config.SESSION_SECRET,
      config.ENCRYPTION_KEY,
      config.JWT_PRIVATE_KEY,
      config.GITHUB_CLIENT_SECRET,
      config.GITHUB_APP_PRIVATE_KEY,
      config.GITHUB_WEBHOOK_SECRET,
      config.CLOUDFLARE_API_TOKEN,
      LOCAL_HETZNER_TOKEN,
    ];
    for (const secret of secrets) {
      expect(userData).not.toContain(secret.slice(0, 24));
    }
    expect(userData).not.toMatch(/PRIVATE KEY|password|passwd|ghs_|ghu_/i);
    // Every long opaque string in it is the bootstrap token or a public SHA-256 of a download.
    const opaque = userData.match(/[A-Za-z0-9_+-]{32,}/g) ?? [];
    expect(new Set(opaque)).toEqual(
      new Set([input.bootstrapToken, input.agentSha256, input.nodeSha256, input.npmSha256]),
    );
  });

  it("downloads the arm64 agent for Ampere (cax) server types", () => {
    expect(archForServerType("cax21")).toBe("arm64");
    expect(archForServerType("cx33")).toBe("amd64");
    expect(renderCloudInit({ ...input, arch: archForServerType("cax11") })).toContain("arch=arm64");
  });

  it("refuses values that could break out of the YAML or the shell command", () => {
    expect(() => renderCloudInit({ ...input, appUrl: "http://x/'; rm -rf /" })).toThrow(/appUrl/);
    expect(() => renderCloudInit({ ...input, bootstrapToken: "short" })).toThrow(/bootstrapToken/);
    expect(() => renderCloudInit({ ...input, hostname: "a\nb" })).toThrow(/hostname/);
    expect(() => renderCloudInit({ ...input, agentSha256: "5".repeat(63) })).toThrow(/agentSha256/);
    expect(() => renderCloudInit({ ...input, nodeUrl: "https://x/a'b.tgz" })).toThrow(/nodeUrl/);
    expect(() => renderCloudInit({ ...input, npmSha256: "Z".repeat(64) })).toThrow(/npmSha256/);
    expect(() => renderCloudInit({ ...input, volumeId: 1.5 })).toThrow(/volumeId/);
    expect(() => renderCloudInit({ ...input, volumeId: -3 })).toThrow(/volumeId/);
  });
});
