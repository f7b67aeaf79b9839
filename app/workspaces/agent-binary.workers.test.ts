import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { provision } from "./provision.server";
import {
  AGENT_SHA256,
  deps,
  fakeClouds,
  newWorkspace,
  reload,
  useFreshUser,
} from "../../tests/support/workspaces.workers";

useFreshUser();

/** Provisions with the fake clouds and returns the user-data the server was created with. */
async function provisionedUserData(serverType: string): Promise<string> {
  const fake = fakeClouds();
  let userData = "";
  const original = fake.clouds.hetzner.createServer;
  fake.clouds.hetzner.createServer = async (input) => {
    userData = input.userData;
    return original(input);
  };
  const workspace = await newWorkspace({ serverType });
  await provision(deps, workspace, { clouds: fake.factory });
  return userData;
}

describe("the agent's checksum in cloud-init", () => {
  it.each([
    ["cx23", "amd64"],
    ["cax11", "arm64"],
  ] as const)("a %s server checks the %s agent against the SHA-256 uploaded with it", async (serverType, arch) => {
    const userData = await provisionedUserData(serverType);
    const install = parse(userData).runcmd[0][2] as string;
    expect(install).toContain(`arch=${arch}`);
    expect(install).toContain(`echo '${AGENT_SHA256[`linux-${arch}`]}  /usr/local/bin/vm-agent.part' | sha256sum -c -`);
  });

  it("without an uploaded version.json no server is made and the error says to upload the agent", async () => {
    await env.AGENTS.delete("version.json");
    const fake = fakeClouds();
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(row!.status).toBe("error");
    expect(row!.error).toMatch(/No agent binaries have been uploaded.*run npm run deploy:agent/);
    expect(fake.servers.size + fake.firewalls.size + fake.records.size).toBe(0);
  });

  it("a version.json without the server's architecture is refused the same way", async () => {
    await env.AGENTS.put(
      "version.json",
      JSON.stringify({ version: "x", binaries: { "linux-amd64": { sha256: "c".repeat(64) } } }),
    );
    const fake = fakeClouds();
    const workspace = await newWorkspace({ serverType: "cax11" });
    await provision(deps, workspace, { clouds: fake.factory });
    expect((await reload(workspace.id))!.error).toMatch(/no linux-arm64 binary with a SHA-256/);
    expect(fake.servers.size).toBe(0);
  });
});
