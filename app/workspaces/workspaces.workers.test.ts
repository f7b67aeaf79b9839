import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { consumeBootstrapToken, mintBootstrapToken, peekBootstrapToken, purgeExpiredBootstrapTokens } from "./bootstrap.server";
import { parseConfig } from "../platform/config.server";
import * as schema from "../db/schema";
import { ProviderError } from "../providers/http.server";
import { action as bootstrapAction } from "../routes/api.bootstrap.$token";
import { action as heartbeatAction } from "../routes/api.workspaces.$id.heartbeat";
import { action as readyAction } from "../routes/api.workspaces.$id.ready";
import { runSweep } from "./sweep.server";
import { workspaceHostname, workspaceIdOf } from "./url";
import { issueCallbackToken } from "../security/agent-auth.server";
import type { Clouds, CloudsFactory } from "./clouds.server";
import { provision } from "./provision.server";
import { finishStop } from "./teardown.server";
import { claimDelete, claimRestart, claimStop, keepAlive, listEvents, newWorkspaceId, type Workspace } from "./workspaces.server";

const db = drizzle(env.DB, { schema });
const config = parseConfig(env as unknown as Record<string, unknown>);
const deps = { db, config };

/** An in-memory Hetzner project and Cloudflare zone, with a way to make the next call of a kind fail. */
function fakeClouds() {
  let nextId = 100;
  const servers = new Map<number, { id: number; labels: Record<string, string> }>();
  const firewalls = new Map<number, { id: number; labels: Record<string, string> }>();
  const records = new Map<string, { id: string; name: string; content: string }>();
  const certificates = new Map<string, { id: string; hostname: string; revoked: boolean }>();
  const failures = new Map<string, ProviderError>();
  const maybeFail = (call: string) => {
    const error = failures.get(call);
    if (error) {
      failures.delete(call);
      throw error;
    }
  };
  const matches = (labels: Record<string, string>, selector?: string) =>
    !selector || selector.split(",").every((term) => labels[term.split("=")[0]!] === term.split("=")[1]);
  const clouds: Clouds = {
    hetzner: {
      createFirewall: async (input) => {
        maybeFail("createFirewall");
        const firewall = { id: nextId++, labels: input.labels };
        firewalls.set(firewall.id, firewall);
        return { firewall: { ...firewall, name: input.name, created: "", rules: input.rules, applied_to: [] }, actions: [] };
      },
      createServer: async (input) => {
        maybeFail("createServer");
        const server = { id: nextId++, labels: input.labels };
        servers.set(server.id, server);
        return {
          server: {
            ...server,
            name: input.name,
            status: "initializing",
            created: "",
            public_net: { ipv4: { ip: `10.0.0.${server.id % 250}` }, ipv6: null },
            server_type: { id: 1, name: input.serverType },
            location: { id: 1, name: input.location },
          },
          action: { id: 1, command: "create_server", status: "running", progress: 0, started: "", finished: null, resources: [], error: null },
          nextActions: [],
        };
      },
      listServers: async (filter = {}) => [...servers.values()].filter((server) => matches(server.labels, filter.labelSelector)) as never,
      listFirewalls: async (filter = {}) =>
        [...firewalls.values()].filter((firewall) => matches(firewall.labels, filter.labelSelector)).map((firewall) => ({ ...firewall, applied_to: [] })) as never,
      deleteServer: async (id) => {
        maybeFail("deleteServer");
        servers.delete(id);
        return null;
      },
      deleteFirewall: async (id) => {
        firewalls.delete(id);
      },
    },
    zone: {
      createRecord: async (name, content) => {
        maybeFail("createRecord");
        const record = { id: crypto.randomUUID().replace(/-/g, ""), name, content };
        records.set(record.id, record);
        return record.id;
      },
      deleteRecord: async (id) => {
        maybeFail("deleteRecord");
        records.delete(id);
      },
      findRecords: async (name) => [...records.values()].filter((record) => record.name === name).map((record) => record.id),
      listManaged: async () =>
        [...records.values()].flatMap((record) => {
          const workspaceId = workspaceIdOf(config, record.name);
          return workspaceId ? [{ id: record.id, workspaceId }] : [];
        }),
      issueCertificate: async (hostname) => {
        const certificate = { id: `cert-${nextId++}`, hostname, revoked: false };
        certificates.set(certificate.id, certificate);
        return { id: certificate.id, certificate: "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----" };
      },
      revokeCertificate: async (id) => {
        maybeFail("revokeCertificate");
        const certificate = certificates.get(id);
        if (certificate) certificate.revoked = true;
      },
    },
  };
  const factory: CloudsFactory = async () => clouds;
  return { clouds, factory, servers, firewalls, records, certificates, failures };
}

let userId: string;

beforeEach(async () => {
  const [user] = await db
    .insert(schema.users)
    .values({ githubId: Math.floor(Math.random() * 1e9), login: `user-${crypto.randomUUID().slice(0, 8)}` })
    .returning();
  userId = user!.id;
});

async function newWorkspace(values: Partial<typeof schema.workspaces.$inferInsert> = {}): Promise<Workspace> {
  const [row] = await db
    .insert(schema.workspaces)
    .values({
      id: newWorkspaceId(),
      userId,
      name: "test",
      status: "creating",
      repository: "sam-dev/hello-world",
      branch: "main",
      installationId: 1,
      size: "small",
      serverType: "cx23",
      location: "fsn1",
      agentCli: "codex",
      hourlyPrice: "0.0053",
      startedAt: new Date(),
      ...values,
    })
    .returning();
  return row!;
}

const reload = async (id: string) => (await db.query.workspaces.findFirst({ where: eq(schema.workspaces.id, id) })) ?? null;

describe("bootstrap tokens", () => {
  it("redeemed twice concurrently: exactly one wins", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id);
    const peek = await peekBootstrapToken(db, token);
    expect(peek.kind).toBe("redeemable");
    const results = await Promise.all(Array.from({ length: 8 }, () => consumeBootstrapToken(db, (peek as { tokenHash: string }).tokenHash)));
    expect(results.filter((result) => result === workspace.id)).toHaveLength(1);
    expect(results.filter((result) => result === null)).toHaveLength(7);
    expect((await peekBootstrapToken(db, token)).kind).toBe("gone");
  });

  it("the endpoint answers 200 once, then 410; 404 for unknown and 401 for malformed tokens", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id);
    const call = (value: string) =>
      bootstrapAction({
        request: new Request(`http://localhost/api/bootstrap/${value}`, { method: "POST", body: "{}" }),
        context: { db, config } as never,
        params: { token: value },
      });
    const responses = await Promise.all([call(token), call(token), call(token)]);
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 410, 410]);
    const winner = responses.find((response) => response.status === 200)!;
    const body = (await winner.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      workspace_id: workspace.id,
      repository: { clone_url: `${config.GITHUB_URL}/sam-dev/hello-world.git`, branch: "main", full_name: "sam-dev/hello-world" },
      agent_cli: "codex",
      certificate: null,
    });
    expect(typeof body.callback_token).toBe("string");
    expect((await call("x".repeat(43))).status).toBe(404);
    expect((await call("not-a-token")).status).toBe(401);
  });

  it("with a CSR: the winner's certificate is recorded for revocation, every other one is revoked at once", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id);
    const issued: string[] = [];
    const revoked: string[] = [];
    const cloudflareApi = new URL(config.CLOUDFLARE_API_URL);
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (url.host !== cloudflareApi.host) throw new Error(`unexpected fetch ${request.url}`);
      const envelope = (result: unknown) => Response.json({ success: true, errors: [], messages: [], result });
      if (request.method === "POST" && url.pathname.endsWith("/certificates")) {
        const id = `cert-${issued.length + 1}`;
        issued.push(id);
        return envelope({ id, certificate: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----", expires_on: "2027-02-21 00:00:00 +0000 UTC" });
      }
      if (request.method === "DELETE" && url.pathname.includes("/certificates/")) {
        const id = url.pathname.split("/").pop()!;
        revoked.push(id);
        return envelope({ id });
      }
      throw new Error(`unexpected ${request.method} ${request.url}`);
    });
    try {
      const csr = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----";
      const call = () =>
        bootstrapAction({
          request: new Request(`http://localhost/api/bootstrap/${token}`, { method: "POST", body: JSON.stringify({ csr }) }),
          context: { db, config } as never,
          params: { token },
        });
      const responses = await Promise.all([call(), call(), call()]);
      expect(responses.map((response) => response.status).sort()).toEqual([200, 410, 410]);
      const winner = (await responses.find((response) => response.status === 200)!.json()) as { certificate: string };
      expect(winner.certificate).toContain("BEGIN CERTIFICATE");
      const kept = (await reload(workspace.id))!.certificateId;
      expect(issued.length).toBeGreaterThan(1); // the redemptions overlapped, so losers had certificates too
      expect(issued).toContain(kept);
      expect(revoked.sort()).toEqual(issued.filter((id) => id !== kept).sort());
    } finally {
      spy.mockRestore();
    }
  });

  it("expires after 15 minutes and is purged", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id, Date.now() - 16 * 60 * 1000);
    expect((await peekBootstrapToken(db, token)).kind).toBe("gone");
    expect(await purgeExpiredBootstrapTokens(db)).toBeGreaterThanOrEqual(1);
    expect((await peekBootstrapToken(db, token)).kind).toBe("unknown");
  });
});

describe("provisioning", () => {
  it("creates a firewall, a server and a proxied DNS record, and logs each step", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(row).toMatchObject({ status: "creating", error: null });
    expect(row!.serverId).toBe([...fake.servers.keys()][0]);
    expect(fake.servers.get(row!.serverId!)!.labels).toEqual({ "managed-by": "sam", instance: "localhost-8788", workspace: workspace.id, user: userId });
    expect([...fake.records.values()]).toEqual([expect.objectContaining({ name: `ws-${workspace.id}.${config.BASE_DOMAIN}` })]);
    const events = await listEvents(db, workspace.id);
    expect(events.map((event) => `${event.step}:${event.status}`)).toEqual([
      "cloud-init:ok",
      "firewall:started",
      "firewall:ok",
      "server:started",
      "server:ok",
      "dns:started",
      "dns:ok",
      "boot:started",
    ]);
  });

  it.each([
    ["createServer", new ProviderError({ provider: "hetzner", status: 412, code: "resource_unavailable", message: "no capacity" }), /no capacity for cx23 in fsn1/],
    ["createServer", new ProviderError({ provider: "hetzner", status: 401, code: "unauthorized", message: "unable to authenticate" }), /rejected the token/],
    ["createRecord", new ProviderError({ provider: "cloudflare", status: 500, message: "Internal server error" }), /Cloudflare had an internal error/],
  ])("a failing %s leaves nothing behind and an error to act on", async (call, error, message) => {
    const fake = fakeClouds();
    fake.failures.set(call, error);
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(row!.status).toBe("error");
    expect(row!.error).toMatch(message);
    expect({ servers: fake.servers.size, firewalls: fake.firewalls.size, records: fake.records.size }).toEqual({ servers: 0, firewalls: 0, records: 0 });
    expect(row).toMatchObject({ serverId: null, firewallId: null, dnsRecordId: null });
  });

  it("a server created by a request whose answer was lost is found by its label and deleted", async () => {
    const fake = fakeClouds();
    const original = fake.clouds.hetzner.createServer;
    fake.clouds.hetzner.createServer = async (input) => {
      await original(input);
      throw new ProviderError({ provider: "hetzner", status: 0, code: "timeout", message: "Hetzner did not answer within 15 s" });
    };
    const workspace = await newWorkspace();
    await provision(deps, workspace, { clouds: fake.factory });
    expect((await reload(workspace.id))!.error).toMatch(/did not answer in time/);
    expect(fake.servers.size).toBe(0);
  });

  it("stopped while provisioning: what was made is removed and the stop wins", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace();
    const original = fake.clouds.hetzner.createServer;
    fake.clouds.hetzner.createServer = async (input) => {
      await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
      return original(input);
    };
    await provision(deps, workspace, { clouds: fake.factory });
    expect(fake.servers.size + fake.firewalls.size + fake.records.size).toBe(0);
    expect((await reload(workspace.id))!.status).toBe("stopping");
  });
});

describe("teardown", () => {
  it("a DNS failure on stop does not keep the server: it goes, and the workspace says what is left", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));
    fake.failures.set("deleteRecord", new ProviderError({ provider: "cloudflare", status: 500, message: "Internal server error" }));

    const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
    await finishStop(deps, stopping!, { clouds: fake.factory });
    expect(fake.servers.size + fake.firewalls.size).toBe(0);
    expect(fake.records.size).toBe(1);
    expect(await reload(workspace.id)).toMatchObject({ status: "error", error: expect.stringMatching(/Cloudflare/) });
  });

  it("stop revokes the run's certificate; a revocation Cloudflare refuses is noted and the stop still completes", async () => {
    const fake = fakeClouds();
    for (const refuse of [false, true]) {
      const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
      await provision(deps, workspace, { clouds: fake.factory });
      const { id: certificateId } = await fake.clouds.zone.issueCertificate(`ws-${workspace.id}.${config.BASE_DOMAIN}`, "csr");
      await db.update(schema.workspaces).set({ status: "running", certificateId }).where(eq(schema.workspaces.id, workspace.id));
      if (refuse) fake.failures.set("revokeCertificate", new ProviderError({ provider: "cloudflare", status: 403, code: "10000", message: "Authentication error" }));

      const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
      await finishStop(deps, stopping!, { clouds: fake.factory });
      expect((await reload(workspace.id))!.status).toBe("stopped");
      expect(fake.certificates.get(certificateId)!.revoked).toBe(!refuse);
      expect((await reload(workspace.id))!.certificateId).toBe(refuse ? certificateId : null);
      const noted = (await listEvents(db, workspace.id)).filter((event) => event.step === "certificate" && event.status === "error");
      expect(noted.map((event) => event.message)).toEqual(refuse ? [expect.stringContaining("Authentication error")] : []);
    }
  });
});

describe("a run overtaken by stop and restart", () => {
  it("a late answer to the old run neither writes into the new run nor removes its server", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    const original = fake.clouds.hetzner.createServer;
    let restarted: Workspace | null = null;
    fake.clouds.hetzner.createServer = async (input) => {
      if (!restarted) {
        // While the first run waits for Hetzner, the user stops and restarts; the second run provisions fully.
        const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
        await finishStop(deps, stopping!, { clouds: fake.factory });
        restarted = await claimRestart(deps, { id: workspace.id, userId });
        await provision(deps, restarted!, { clouds: fake.factory });
      }
      return original(input);
    };
    await provision(deps, workspace, { clouds: fake.factory });

    const row = await reload(workspace.id);
    expect(row!.status).toBe("creating");
    expect(row!.startedAt!.getTime()).toBe(restarted!.startedAt!.getTime());
    // Exactly the new run's server and record are left, and the row points at them.
    expect([...fake.servers.keys()]).toEqual([row!.serverId]);
    expect([...fake.records.keys()]).toEqual([row!.dnsRecordId]);
  });
});

describe("state transitions", () => {
  it("a double stop acts once; stop deletes the cloud side, keeps the row and adds the billed time", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 3600_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));

    const [first, second] = await Promise.all([claimStop(deps, { id: workspace.id, userId }, "Stopped by you"), claimStop(deps, { id: workspace.id, userId }, "Stopped by you")]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    await finishStop(deps, (first ?? second)!, { clouds: fake.factory });
    const row = await reload(workspace.id);
    expect(row).toMatchObject({ status: "stopped", serverId: null, startedAt: null });
    expect(row!.billedSeconds).toBeGreaterThanOrEqual(3599);
    expect(fake.servers.size + fake.firewalls.size + fake.records.size).toBe(0);
    expect(await claimStop(deps, { id: workspace.id, userId }, "again")).toBeNull();
  });

  it("keep-alive counts as activity now, only for the owner and only while running", async () => {
    const workspace = await newWorkspace({ status: "running", lastActivityAt: new Date(Date.now() - 20 * 60_000) });
    expect(await keepAlive(db, { id: workspace.id, userId: "someone-else" })).toBe(false);
    expect(await keepAlive(db, { id: workspace.id, userId })).toBe(true);
    expect(Date.now() - (await reload(workspace.id))!.lastActivityAt!.getTime()).toBeLessThan(5_000);
    const stopped = await newWorkspace({ status: "stopped" });
    expect(await keepAlive(db, { id: stopped.id, userId })).toBe(false);
  });

  it("another user's id matches nothing", async () => {
    const workspace = await newWorkspace({ status: "running" });
    expect(await claimStop(deps, { id: workspace.id, userId: "someone-else" }, "x")).toBeNull();
    expect(await claimDelete(deps, { id: workspace.id, userId: "someone-else" })).toBeNull();
    expect((await reload(workspace.id))!.status).toBe("running");
  });

  it("restart only from stopped or error, once; delete removes the row", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ status: "stopped", startedAt: null });
    const [a, b] = await Promise.all([claimRestart(deps, { id: workspace.id, userId }), claimRestart(deps, { id: workspace.id, userId })]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await claimRestart(deps, { id: workspace.id, userId })).toBeNull();
    await provision(deps, (a ?? b)!, { clouds: fake.factory });
    const claimed = await claimDelete(deps, { id: workspace.id, userId });
    await finishStop(deps, claimed!, { remove: true, clouds: fake.factory });
    expect(await reload(workspace.id)).toBeNull();
    expect(fake.servers.size + fake.records.size).toBe(0);
  });
});

describe("agent callbacks", () => {
  const call = async (handler: typeof readyAction, workspace: Workspace, body: unknown, token?: string) => {
    const waits: Promise<unknown>[] = [];
    const bearer = token ?? (await issueCallbackToken(config, workspace.id)).callback_token;
    const response = await handler({
      request: new Request("http://localhost/", { method: "POST", headers: { Authorization: `Bearer ${bearer}` }, body: JSON.stringify(body) }),
      context: { db, config, cloudflare: { env, ctx: { waitUntil: (promise: Promise<unknown>) => waits.push(promise) } } } as never,
      params: { id: workspace.id },
    });
    return { response, waits };
  };

  it("ready moves creating → running once", async () => {
    const workspace = await newWorkspace();
    expect((await call(readyAction, workspace, {})).response.status).toBe(200);
    expect((await reload(workspace.id))!.status).toBe("running");
    expect((await call(readyAction, (await reload(workspace.id))!, {})).response.status).toBe(200);
  });

  it("a heartbeat refreshes the token; an idle workspace is told to stop", async () => {
    const workspace = await newWorkspace({ status: "running", startedAt: new Date(Date.now() - 3600_000), idleTimeoutSeconds: 900 });
    const idle = { last_input_at: null, last_output_at: new Date(Date.now() - 20 * 60_000).toISOString(), attached_clients: 0, sessions: 1, agent_running: false };
    const { response } = await call(heartbeatAction, workspace, idle);
    const body = (await response.json()) as { action: string; callback_token: string };
    expect(body.action).toBe("stop");
    expect(body.callback_token).toMatch(/^ey/);
    expect((await reload(workspace.id))!.status).toBe("stopping");
  });

  it("a busy workspace goes on; a malformed body is a 400 naming the field; a wrong token is a 401", async () => {
    const workspace = await newWorkspace({ status: "running", startedAt: new Date(Date.now() - 3600_000), idleTimeoutSeconds: 900 });
    const busy = { last_input_at: new Date().toISOString(), last_output_at: null, attached_clients: 1, sessions: 1, agent_running: false };
    expect(await (await call(heartbeatAction, workspace, busy)).response.json()).toMatchObject({ action: "continue" });
    const bad = await call(heartbeatAction, workspace, { ...busy, sessions: "many" }).catch((error: Response) => ({ response: error }));
    expect(bad.response.status).toBe(400);
    expect(await bad.response.text()).toContain("sessions");
    const other = await newWorkspace();
    const wrong = await call(heartbeatAction, workspace, busy, (await issueCallbackToken(config, other.id)).callback_token).catch((error: Response) => ({ response: error }));
    expect(wrong.response.status).toBe(401);
  });
});

describe("sweep", () => {
  it("provisioning past 10 minutes is cleaned up and set to error; a silent agent's workspace is stopped; orphans go", async () => {
    const fake = fakeClouds();
    await db.insert(schema.credentials).values({ userId, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
    const late = await newWorkspace({ startedAt: new Date(Date.now() - 11 * 60_000) });
    await provision(deps, late, { clouds: fake.factory });
    const silent = await newWorkspace({ status: "running", lastHeartbeatAt: new Date(Date.now() - 5 * 60_000) });
    const orphan = await fake.clouds.hetzner.createServer({ name: "x", serverType: "cx23", location: "fsn1", image: "ubuntu-24.04", userData: "", labels: { "managed-by": "sam", instance: "localhost-8788", workspace: "gonegonegone" } });
    // Another SAM instance sharing the Hetzner project: its servers are not this instance's orphans.
    const neighbour = await fake.clouds.hetzner.createServer({ name: "y", serverType: "cx23", location: "fsn1", image: "ubuntu-24.04", userData: "", labels: { "managed-by": "sam", instance: "staging.example.com", workspace: "notminenotmi" } });

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone });
    expect(report.provisioningTimedOut).toContain(late.id);
    expect((await reload(late.id))).toMatchObject({ status: "error", error: expect.stringContaining("10 minutes") });
    // Its timeline says what happened: it never came up and was cleaned up, not that someone stopped it.
    const lateSteps = (await listEvents(db, late.id)).map((event) => `${event.step}:${event.status}`);
    expect(lateSteps).toEqual(expect.arrayContaining(["boot:error", "cleanup:ok"]));
    expect(lateSteps).not.toContain("stop:ok");
    expect(report.stopped).toContainEqual({ id: silent.id, reason: "heartbeat" });
    expect((await reload(silent.id))!.status).toBe("stopped");
    expect(report.orphanServersDeleted).toContain(orphan.server.id);
    expect(report.orphanServersDeleted).not.toContain(neighbour.server.id);
    expect([...fake.servers.keys()]).toEqual([neighbour.server.id]);
    expect(fake.records.size).toBe(0);
    const audit = await db.query.auditLog.findMany({ where: eq(schema.auditLog.userId, userId) });
    expect(audit.map((entry) => entry.action)).toEqual(expect.arrayContaining(["workspace.provisioning_timed_out", "workspace.stopped", "orphan.server_deleted"]));
  });

  it("DNS records whose workspace is gone, stopped or re-recorded go; a live workspace's record and foreign names stay", async () => {
    const fake = fakeClouds();
    const running = await newWorkspace({ status: "running", lastHeartbeatAt: new Date() });
    const current = await fake.clouds.zone.createRecord(workspaceHostname(config, running.id), "10.0.0.1");
    const stale = await fake.clouds.zone.createRecord(workspaceHostname(config, running.id), "10.0.0.9");
    await db.update(schema.workspaces).set({ dnsRecordId: current }).where(eq(schema.workspaces.id, running.id));
    const creating = await newWorkspace({ status: "creating" });
    const inFlight = await fake.clouds.zone.createRecord(workspaceHostname(config, creating.id), "10.0.0.2");
    const stopped = await newWorkspace({ status: "stopped" });
    const leftOver = await fake.clouds.zone.createRecord(workspaceHostname(config, stopped.id), "10.0.0.3");
    const rowGone = await fake.clouds.zone.createRecord(workspaceHostname(config, newWorkspaceId()), "10.0.0.4");
    const foreign = await fake.clouds.zone.createRecord(`ws-${newWorkspaceId()}.other.example`, "10.0.0.5");

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone });
    expect(report.orphanDnsRecordsDeleted.sort()).toEqual([stale, leftOver, rowGone].sort());
    expect([...fake.records.keys()].sort()).toEqual([current, inFlight, foreign].sort());
    const audit = await db.query.auditLog.findMany({ where: eq(schema.auditLog.action, "orphan.dns_record_deleted") });
    expect(audit.map((entry) => (entry.details as { recordId: string }).recordId)).toEqual(expect.arrayContaining([stale, leftOver, rowGone]));
  });

  it("stops idle and over-age workspaces (not one whose activity may not be reported yet), finishes stuck stops, retries failed cleanups, deletes orphan firewalls", async () => {
    const fake = fakeClouds();
    await db.insert(schema.credentials).values({ userId, kind: "hetzner", ciphertext: "x", iv: "x", keyVersion: 1, last4: "0000" });
    const now = Date.now();
    // Fully provisioned (a DNS record recorded), or the sweep would judge them as provisioning cut off.
    const running = { status: "running" as const, startedAt: new Date(now - 3600_000), lastHeartbeatAt: new Date(now), idleTimeoutSeconds: 900, dnsRecordId: "recorded" };
    const idle = await newWorkspace({ ...running, lastActivityAt: new Date(now - 20 * 60_000) });
    const busy = await newWorkspace({ ...running, lastActivityAt: new Date(now - 60_000) });
    // Past the timeout by 20 s: a heartbeat due within 1.5 intervals could still report newer activity.
    const barelyIdle = await newWorkspace({ ...running, lastActivityAt: new Date(now - 900_000 - 20_000) });
    const overAge = await newWorkspace({ ...running, startedAt: new Date(now - 13 * 3600_000), lastActivityAt: new Date(now), maxLifetimeSeconds: 12 * 3600 });
    const stuck = await newWorkspace({ status: "stopping", updatedAt: new Date(now - 6 * 60_000) });
    const leftover = await fake.clouds.hetzner.createServer({ name: "l", serverType: "cx23", location: "fsn1", image: "ubuntu-24.04", userData: "", labels: {} });
    const failed = await newWorkspace({ status: "error", serverId: leftover.server.id, startedAt: null });
    const { firewall } = await fake.clouds.hetzner.createFirewall({ name: "f", labels: { "managed-by": "sam", instance: "localhost-8788", workspace: "gonegonegone" }, rules: [] });

    const report = await runSweep({ db, config }, { clouds: fake.factory, zone: fake.clouds.zone, now });
    expect(report.stopped).toEqual(expect.arrayContaining([{ id: idle.id, reason: "idle" }, { id: overAge.id, reason: "lifetime" }]));
    expect(report.stopped.map((entry) => entry.id)).not.toContain(busy.id);
    expect(report.stopped.map((entry) => entry.id)).not.toContain(barelyIdle.id);
    expect((await reload(idle.id))!.status).toBe("stopped");
    expect((await reload(busy.id))!.status).toBe("running");
    expect((await reload(barelyIdle.id))!.status).toBe("running");
    expect(report.stuckStopsFinished).toContain(stuck.id);
    expect((await reload(stuck.id))!.status).toBe("stopped");
    expect(report.leftoversCleaned).toContain(failed.id);
    expect(await reload(failed.id)).toMatchObject({ status: "error", serverId: null });
    expect(fake.servers.has(leftover.server.id)).toBe(false);
    expect(report.orphanFirewallsDeleted).toContain(firewall.id);
    expect(fake.firewalls.has(firewall.id)).toBe(false);
  });
});
