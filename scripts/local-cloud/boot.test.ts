// A server boots a real agent process from its cloud-init user-data; deleting it ends the whole process
// group and removes its directory. The edge proxies HTTP and WebSocket upgrades to that agent over verified
// TLS, on the port it stands for, through the server's firewall — and refuses what Cloudflare would refuse.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupAlive } from "./agent-process";
import { HOST_GO_ARCH } from "./runcmd";
import type { LocalCloud } from "./server";
import { call, CLOUDFLARE_TOKEN, HETZNER_TOKEN, startTestCloud, ZONE_ID } from "./test-support";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const realAgent = join(root, "agent/bin/vm-agent");
const ZONE = "sam.example.test";
const scratch = mkdtempSync(join(tmpdir(), "local-cloud-boot-"));
const certs = join(scratch, "certs");
mkdirSync(certs);

/**
 * A stand-in agent: serves HTTPS with the certificate the test put in certs/ for its SAM_HOSTNAME (the real
 * agent gets one from the Origin CA through bootstrap), echoes after an Upgrade, records its environment,
 * and starts a grandchild.
 */
const fakeAgentSource = `
import { createServer } from "node:https";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
const [host, port] = process.env.SAM_LISTEN_ADDR.split(":");
writeFileSync("fake-agent.json", JSON.stringify({ argv: process.argv.slice(2), env: process.env }));
const child = spawn("sleep", ["300"], { stdio: "ignore" });
writeFileSync("grandchild.pid", String(child.pid));
const hostname = /SAM_HOSTNAME=(\\S+)/.exec(readFileSync(process.argv[3], "utf8"))[1];
const tls = { key: readFileSync(${JSON.stringify(certs)} + "/" + hostname + ".key"), cert: readFileSync(${JSON.stringify(certs)} + "/" + hostname + ".crt") };
const server = createServer(tls, (req, res) => res.end("agent says hi to " + req.headers.host + " from " + req.headers["cf-connecting-ip"]));
server.on("upgrade", (req, socket) => {
  socket.write("HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n\\r\\n");
  socket.on("data", (data) => socket.write(Buffer.concat([Buffer.from("echo:"), data])));
});
server.listen(Number(port), host, () => console.log("fake agent listening"));
`;

/** A key and certificate for the fake agent serving `hostname`: from the local Origin CA, or self-signed. */
function certificateFor(hostname: string, signer: "origin-ca" | "self-signed", names = [hostname]) {
  const keyPath = join(certs, `${hostname}.key`);
  const common = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath];
  const certificate =
    signer === "self-signed"
      ? execFileSync(
          "openssl",
          ["req", "-x509", ...common, "-subj", `/CN=${hostname}`, "-addext", `subjectAltName=DNS:${hostname}`],
          { stdio: "pipe" },
        ).toString()
      : cloud.services.cloudflare.ca.sign(
          execFileSync("openssl", ["req", "-new", ...common, "-subj", `/CN=${hostname}`], { stdio: "pipe" }).toString(),
          names,
          90,
        ).certificate;
  writeFileSync(join(certs, `${hostname}.crt`), certificate);
}

function userData(downloadBase: string, workspace: string): string {
  // The shape app/workspaces/cloud-init.server.ts renders.
  return `#cloud-config
write_files:
  - path: /etc/sam/agent.env
    permissions: "0600"
    content: |
      SAM_WORKSPACE_ID=${workspace}
      SAM_CONTROL_PLANE_URL=http://127.0.0.1:9
      SAM_BOOTSTRAP_TOKEN=${"b".repeat(43)}
      SAM_HOSTNAME=ws-${workspace}.${ZONE}
runcmd:
  - [sh, -c, "curl -fsSL --retry 10 --retry-all-errors '${downloadBase}/api/agent/download?os=linux&arch=arm64' -o /usr/local/bin/vm-agent && chmod 755 /usr/local/bin/vm-agent"]
  - [systemctl, enable, --now, sam-agent]
`;
}

let cloud: LocalCloud;
let downloads: Server;
let downloadBase: string;
let served = "real";
const downloadUrls: string[] = [];

beforeAll(async () => {
  if (!existsSync(realAgent))
    await promisify(execFile)("make", ["-C", join(root, "agent"), "build"], { timeout: 170_000 });
  const fakeScript = join(scratch, "fake-agent.mjs");
  writeFileSync(fakeScript, fakeAgentSource);
  const fakeLauncher = `#!/bin/sh\nexec "${process.execPath}" "${fakeScript}" "$@"\n`;
  downloads = createServer((req, res) => {
    downloadUrls.push(req.url ?? "");
    if (!req.url?.startsWith("/api/agent/download?")) return void res.writeHead(404).end();
    if (served === "missing") return void res.writeHead(404).end("no such binary");
    res.end(served === "real" ? readFileSync(realAgent) : fakeLauncher);
  });
  await new Promise<void>((ok) => downloads.listen(0, "127.0.0.1", ok));
  downloadBase = `http://127.0.0.1:${(downloads.address() as { port: number }).port}`;
  cloud = await startTestCloud({ baseDomain: ZONE });
}, 180_000);

afterAll(async () => {
  await cloud?.close();
  await new Promise((ok) => downloads?.close(ok));
  rmSync(scratch, { recursive: true, force: true });
});

const hetzner = (method: string, path: string, body?: unknown) =>
  call(`${cloud.url}/hetzner/v1`, method, path, { token: HETZNER_TOKEN, body });
const cloudflare = (method: string, path: string, body?: unknown) =>
  call(`${cloud.url}/cloudflare/client/v4`, method, path, { token: CLOUDFLARE_TOKEN, body });

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

const agentOf = (id: number) => cloud.state().servers.find((s) => s.id === id)?.agent ?? undefined;
const startedAgent = (id: number) => {
  const agent = agentOf(id);
  return agent?.pid ? agent : undefined;
};
const failedAgent = (id: number) => {
  const agent = agentOf(id);
  return agent?.error ? agent : undefined;
};

function edgeGet(host: string, path = "/", via = cloud): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: "127.0.0.1", port: via.port, path, headers: { host: `${host}:${via.port}` } },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", fail);
    req.end();
  });
}

/** A server running the fake agent for `ws-<workspace>.<ZONE>` behind a proxied record, once it listens. */
async function fakeWorkspace(workspace: string, options: { via?: LocalCloud; firewalls?: number[] } = {}) {
  const via = options.via ?? cloud;
  served = "fake";
  const host = `ws-${workspace}.${ZONE}`;
  const created = await call(`${via.url}/hetzner/v1`, "POST", "/servers", {
    token: HETZNER_TOKEN,
    body: {
      name: workspace,
      server_type: "cx23",
      image: "ubuntu-24.04",
      user_data: userData(downloadBase, workspace),
      ...(options.firewalls ? { firewalls: options.firewalls.map((firewall) => ({ firewall })) } : {}),
    },
  });
  expect(created.status).toBe(201);
  const id = created.json.server.id as number;
  const ip = created.json.server.public_net.ipv4.ip as string;
  const agentIn = () => via.state().servers.find((s) => s.id === id)?.agent;
  await until("the fake agent to listen", () => agentIn()?.log_tail.includes("listening"));
  const record = await call(`${via.url}/cloudflare/client/v4`, "POST", `/zones/${ZONE_ID}/dns_records`, {
    token: CLOUDFLARE_TOKEN,
    body: { type: "A", name: host, content: ip, proxied: true },
  });
  expect(record.status).toBe(200);
  return { id, ip, host, pid: agentIn()!.pid! };
}

describe("booting servers", () => {
  it("starts the real agent from the user-data, keeps it running, and kills its process group on delete", async () => {
    served = "real";
    const created = await hetzner("POST", "/servers", {
      name: "boot-real",
      server_type: "cx23",
      image: "ubuntu-24.04",
      user_data: userData(downloadBase, "real1"),
    });
    expect(created.status).toBe(201);
    const id = created.json.server.id as number;
    const agent = await until("the agent to start", () => startedAgent(id));
    expect(agent.error).toBeNull();
    // The user-data asks for arm64; the local cloud downloads the host's architecture instead.
    expect(downloadUrls.at(-1)).toBe(`/api/agent/download?os=linux&arch=${HOST_GO_ARCH}`);
    const dir = agent.dir;
    expect(readFileSync(join(dir, "etc/sam/agent.env"), "utf8")).toContain("SAM_WORKSPACE_ID=real1");
    await until("the agent to write its log", () => agentOf(id)!.log_tail.length > 0);
    await new Promise((ok) => setTimeout(ok, 500));
    // Without a control plane the agent keeps retrying its bootstrap: it is still alive, the server running.
    expect(agentOf(id)!.alive).toBe(true);
    expect(groupAlive(agent.pid!)).toBe(true);
    expect((await hetzner("GET", `/servers/${id}`)).json.server.status).toBe("running");
    expect((await hetzner("DELETE", `/servers/${id}`)).status).toBe(200);
    await cloud.settled();
    expect(groupAlive(agent.pid!)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  }, 60_000);

  it("runs the agent on its server's own address and port 8443 with TLS, its own data, workspace and HOME, and a PATH of what Ubuntu ships; delete also ends its children", async () => {
    served = "fake";
    certificateFor(`ws-fake1.${ZONE}`, "origin-ca");
    const created = await hetzner("POST", "/servers", {
      name: "boot-fake",
      server_type: "cx23",
      image: "ubuntu-24.04",
      user_data: userData(downloadBase, "fake1"),
    });
    const id = created.json.server.id as number;
    const agent = await until("the fake agent to start", () => startedAgent(id));
    const recorded = await until(
      "the fake agent's record",
      () =>
        existsSync(join(agent.dir, "grandchild.pid")) &&
        JSON.parse(readFileSync(join(agent.dir, "fake-agent.json"), "utf8")),
    );
    expect(recorded.argv).toEqual(["--config-file", join(agent.dir, "etc/sam/agent.env")]);
    expect(recorded.env.SAM_TLS).toBeUndefined();
    expect(recorded.env).toMatchObject({
      SAM_LISTEN_ADDR: `${created.json.server.public_net.ipv4.ip}:8443`,
      SAM_DATA_DIR: join(agent.dir, "var/lib/sam-agent"),
      SAM_WORKSPACE_DIR: join(agent.dir, "workspace"),
      SAM_RUN_DIR: join(agent.dir, "run/sam-agent"),
      SAM_TOOLS_DIR: join(agent.dir, "opt/sam"),
      HOME: join(agent.dir, "root"),
      PATH: join(agent.dir, "usr/bin"),
    });
    // This user-data makes no session user, so the agent is told of none.
    expect(recorded.env.SAM_SESSION_USER).toBeUndefined();
    expect(existsSync(join(agent.dir, "usr/bin/git"))).toBe(true);
    expect(existsSync(join(agent.dir, "usr/bin/node"))).toBe(false);
    const grandchild = Number(readFileSync(join(agent.dir, "grandchild.pid"), "utf8"));
    expect(() => process.kill(grandchild, 0)).not.toThrow();
    await hetzner("DELETE", `/servers/${id}`);
    await cloud.settled();
    expect(() => process.kill(grandchild, 0)).toThrow();
    expect(existsSync(agent.dir)).toBe(false);
  }, 30_000);

  it("records a failed download and keeps the server running, like a VM whose cloud-init failed", async () => {
    served = "missing";
    const created = await hetzner("POST", "/servers", {
      name: "boot-missing",
      server_type: "cx23",
      image: "ubuntu-24.04",
      user_data: userData(downloadBase, "miss1"),
    });
    const id = created.json.server.id as number;
    const agent = await until("the failure to be recorded", () => failedAgent(id));
    expect(agent.error).toMatch(/404/);
    expect(agent.pid).toBeNull();
    expect((await hetzner("GET", `/servers/${id}`)).json.server.status).toBe("running");
    await hetzner("DELETE", `/servers/${id}`);
    await cloud.settled();
  }, 20_000);
});

describe("the edge", () => {
  it("answers 530 (1016) without a record, proxies HTTP and WebSocket upgrades over verified TLS with one, 522 once the server is gone", async () => {
    const host = `ws-edge1.${ZONE}`;
    const missing = await edgeGet(host);
    expect(missing.status).toBe(530);
    expect(missing.body).toContain("Error 1016");
    certificateFor(host, "origin-ca");
    const { id, pid } = await fakeWorkspace("edge1");
    const proxied = await edgeGet(host, "/health");
    expect(proxied.status).toBe(200);
    expect(proxied.body).toBe(`agent says hi to ${host}:${cloud.port} from 127.0.0.1`);

    const echoed = await new Promise<string>((ok, fail) => {
      const socket = connect(cloud.port, "127.0.0.1", () => {
        socket.write(
          `GET /terminal HTTP/1.1\r\nHost: ${host}:${cloud.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      let seen = "";
      socket.on("data", (data) => {
        seen += data.toString();
        if (seen.includes("\r\n\r\n") && !seen.includes("echo:")) socket.write("ping");
        if (seen.includes("echo:ping")) {
          socket.destroy();
          ok(seen);
        }
      });
      socket.on("error", fail);
      setTimeout(() => fail(new Error(`no echo: ${seen}`)), 5000);
    });
    expect(echoed).toMatch(/^HTTP\/1\.1 101/);

    await hetzner("DELETE", `/servers/${id}`);
    await cloud.settled();
    expect(groupAlive(pid)).toBe(false);
    // Nothing answers at the record's address any more: Cloudflare waits, then gives up.
    const gone = await edgeGet(host);
    expect(gone.status).toBe(522);
  }, 30_000);

  it("admits only what the server's firewall admits: Cloudflare on the port the browser used", async () => {
    const rules = (port: string, source: string) => [{ direction: "in", protocol: "tcp", port, source_ips: [source] }];
    const firewall = async (name: string, port: string, source: string) =>
      (await hetzner("POST", "/firewalls", { name, rules: rules(port, source) })).json.firewall.id as number;
    const cloudflareOnly = await firewall("edge-cf-8443", "8443", "162.158.0.0/15");
    const otherPort = await firewall("edge-cf-443", "443", "162.158.0.0/15");
    const otherSource = await firewall("edge-office-8443", "8443", "198.51.100.0/24");

    certificateFor(`ws-fwopen.${ZONE}`, "origin-ca");
    const open = await fakeWorkspace("fwopen", { firewalls: [cloudflareOnly] });
    expect((await edgeGet(open.host)).status).toBe(200);

    for (const [name, id] of [
      ["fwport", otherPort],
      ["fwsource", otherSource],
    ] as const) {
      certificateFor(`ws-${name}.${ZONE}`, "origin-ca");
      const closed = await fakeWorkspace(name, { firewalls: [id] });
      const refused = await edgeGet(closed.host);
      expect(refused.status).toBe(522);
      expect(refused.body).toContain("firewall drops TCP port 8443");
      await hetzner("DELETE", `/servers/${closed.id}`);
    }
    await hetzner("DELETE", `/servers/${open.id}`);
    await cloud.settled();
  }, 40_000);

  it("connects to the origin on the port its listener stands for: a browser on 443 never reaches an agent on 8443", async () => {
    const on443 = await startTestCloud({ baseDomain: ZONE, edgePort: 443 });
    try {
      const host = `ws-port443.${ZONE}`;
      certificateFor(host, "origin-ca");
      // No firewall: the connection reaches the server, where nothing listens on 443.
      const bare = await fakeWorkspace("port443", { via: on443 });
      const refused = await edgeGet(host, "/", on443);
      expect(refused.status).toBe(521);
      // SAM's firewall (8443 from Cloudflare only): the packets to 443 are dropped.
      const fw = await call(`${on443.url}/hetzner/v1`, "POST", "/firewalls", {
        token: HETZNER_TOKEN,
        body: {
          name: "sam-8443",
          rules: [{ direction: "in", protocol: "tcp", port: "8443", source_ips: ["162.158.0.0/15"] }],
          apply_to: [{ type: "server", server: { id: bare.id } }],
        },
      });
      expect(fw.status).toBe(201);
      const dropped = await edgeGet(host, "/", on443);
      expect(dropped.status).toBe(522);
      expect(dropped.body).toContain("firewall drops TCP port 443");
    } finally {
      await on443.close();
    }
  }, 40_000);

  it("verifies the origin's certificate (Full strict): self-signed or for another name answers 526", async () => {
    certificateFor(`ws-selfsig.${ZONE}`, "self-signed");
    const selfSigned = await fakeWorkspace("selfsig");
    const untrusted = await edgeGet(selfSigned.host);
    expect(untrusted.status).toBe(526);
    expect(untrusted.body).toContain("Invalid SSL certificate");

    certificateFor(`ws-othername.${ZONE}`, "origin-ca", [`ws-someone-else.${ZONE}`]);
    const wrongName = await fakeWorkspace("othername");
    const mismatch = await edgeGet(wrongName.host);
    expect(mismatch.status).toBe(526);
    expect(mismatch.body).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    await hetzner("DELETE", `/servers/${selfSigned.id}`);
    await hetzner("DELETE", `/servers/${wrongName.id}`);
    await cloud.settled();
  }, 30_000);

  it("has no edge certificate for a name two levels below the zone: the request fails before HTTP", async () => {
    certificateFor(`ws-deepfirst.${ZONE}`, "origin-ca");
    const server = await fakeWorkspace("deepfirst");
    const deep = `ws-deep.sam.${ZONE}`;
    const record = await cloudflare("POST", `/zones/${ZONE_ID}/dns_records`, {
      type: "A",
      name: deep,
      content: server.ip,
      proxied: true,
    });
    expect(record.status).toBe(200);
    await expect(edgeGet(deep)).rejects.toThrow(/socket hang up|ECONNRESET/);
    await hetzner("DELETE", `/servers/${server.id}`);
    await cloud.settled();
  }, 30_000);
});
