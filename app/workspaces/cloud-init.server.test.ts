import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { archForServerType, MAX_USER_DATA_BYTES, renderCloudInit } from "./cloud-init.server";
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
};

describe("cloud-init user-data", () => {
  it("is #cloud-config YAML that writes the agent env file and unit, then downloads and starts the agent", () => {
    const userData = renderCloudInit(input);
    expect(userData.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(userData);
    const env = doc.write_files.find((file: { path: string }) => file.path === "/etc/sam/agent.env");
    expect(env.permissions).toBe("0600");
    expect(env.content).toBe(
      `SAM_WORKSPACE_ID=abcdefgh2345\nSAM_CONTROL_PLANE_URL=${config.APP_URL}\nSAM_BOOTSTRAP_TOKEN=${input.bootstrapToken}\nSAM_HOSTNAME=${input.hostname}\n`,
    );
    const unit = doc.write_files.find(
      (file: { path: string }) => file.path === "/etc/systemd/system/sam-agent.service",
    );
    expect(unit.content).toContain("ExecStart=/usr/local/bin/vm-agent --config-file /etc/sam/agent.env");
    expect(unit.content).toContain("Restart=on-failure");
    expect(doc.runcmd[0]).toEqual([
      "sh",
      "-c",
      `curl -fsSL --retry 10 --retry-all-errors '${config.APP_URL}/api/agent/download?os=linux&arch=amd64' -o /usr/local/bin/vm-agent && chmod 755 /usr/local/bin/vm-agent`,
    ]);
    expect(doc.runcmd[1]).toEqual(["systemctl", "enable", "--now", "sam-agent"]);
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
    // Every long opaque string in it is the bootstrap token.
    const opaque = userData.match(/[A-Za-z0-9_+-]{32,}/g) ?? [];
    expect(opaque).toEqual([input.bootstrapToken]);
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
  });
});
