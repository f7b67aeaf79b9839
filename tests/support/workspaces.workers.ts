/** Shared set-up for the workers tests of workspaces: real D1, a fresh user per test and in-memory clouds. */
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { beforeEach } from "vitest";
import { parseConfig } from "../../app/platform/config.server";
import * as schema from "../../app/db/schema";
import { ProviderError } from "../../app/providers/http.server";
import { action as readyAction } from "../../app/routes/api.workspaces.$id.ready";
import { workspaceIdOf } from "../../app/../app/workspaces/url";
import { issueCallbackToken } from "../../app/security/agent-auth.server";
import type { Clouds, CloudsFactory } from "../../app/../app/workspaces/clouds.server";
import { newWorkspaceId, type Workspace } from "../../app/../app/workspaces/workspaces.server";
export const db = drizzle(env.DB, { schema });
export const config = parseConfig(env as unknown as Record<string, unknown>);
/** The agent's SHA-256s as `npm run deploy:agent` uploads them beside the binaries; provisioning reads them. */
export const AGENT_SHA256 = { "linux-amd64": "a".repeat(64), "linux-arm64": "b".repeat(64) };
export const deps = {
  db,
  config,
  cloudflare: { env: env as unknown as Env, ctx: { waitUntil: () => {}, passThroughOnException: () => {} } },
};

/** A Hetzner action as the fake answers it: finished at once, or failed when a test asks. */
const fakeAction = (id: number, command: string, status: "success" | "running" | "error" = "success") => ({
  id,
  command,
  status,
  progress: status === "success" ? 100 : 0,
  started: "",
  finished: status === "running" ? null : "",
  resources: [],
  error: status === "error" ? { code: "action_failed", message: `${command} failed` } : null,
});

export interface FakeVolume {
  id: number;
  name: string;
  size: number;
  location: string;
  labels: Record<string, string>;
  server: number | null;
}

/**
 * An in-memory Hetzner project and Cloudflare zone, with a way to make the next call of a kind fail. Volumes
 * behave as Hetzner's do: unique names, attached at server create, detached when their server is deleted,
 * refused deletion while attached; a server's ACPI shutdown leaves it `off`. `failedActions` makes the next
 * action of a command (e.g. "attach_volume") end in error.
 */
export function fakeClouds() {
  let nextId = 100;
  const servers = new Map<
    number,
    { id: number; labels: Record<string, string>; status: "initializing" | "running" | "off"; volumes: number[] }
  >();
  const volumes = new Map<number, FakeVolume>();
  const failedActions = new Set<string>();
  const actions = new Map<number, ReturnType<typeof fakeAction>>();
  const newAction = (command: string) => {
    const action = fakeAction(nextId++, command, failedActions.delete(command) ? "error" : "success");
    actions.set(action.id, action);
    return action;
  };
  const volumeJson = (volume: FakeVolume) => ({
    ...volume,
    status: "available" as const,
    location: { name: volume.location },
    linux_device: `/dev/disk/by-id/scsi-0HC_Volume_${volume.id}`,
    format: "ext4",
    created: "",
    protection: { delete: false },
  });
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
      listImages: async () => [],
      createFirewall: async (input) => {
        maybeFail("createFirewall");
        const firewall = { id: nextId++, labels: input.labels };
        firewalls.set(firewall.id, firewall);
        return {
          firewall: { ...firewall, name: input.name, created: "", rules: input.rules, applied_to: [] },
          actions: [],
        };
      },
      createServer: async (input) => {
        maybeFail("createServer");
        for (const volumeId of input.volumes ?? []) {
          const volume = volumes.get(volumeId);
          if (!volume)
            throw new ProviderError({ provider: "hetzner", status: 404, code: "not_found", message: "no volume" });
          if (volume.server !== null)
            throw new ProviderError({
              provider: "hetzner",
              status: 422,
              code: "volume_already_attached",
              message: `volume ${volumeId} is attached to server ${volume.server}`,
            });
        }
        const server = {
          id: nextId++,
          labels: input.labels,
          status: "running" as const,
          volumes: [...(input.volumes ?? [])],
        };
        servers.set(server.id, server);
        for (const volumeId of server.volumes) volumes.get(volumeId)!.server = server.id;
        const attaches = server.volumes.map(() => newAction("attach_volume"));
        return {
          server: {
            id: server.id,
            labels: server.labels,
            name: input.name,
            status: "initializing",
            created: "",
            public_net: { ipv4: { ip: `10.0.0.${server.id % 250}` }, ipv6: null },
            server_type: { id: 1, name: input.serverType },
            location: { id: 1, name: input.location },
          },
          action: {
            id: 1,
            command: "create_server",
            status: "running",
            progress: 0,
            started: "",
            finished: null,
            resources: [],
            error: null,
          },
          nextActions: attaches,
        };
      },
      getServer: async (id) => {
        const server = servers.get(id);
        return server ? ({ ...server, created: "", name: `server-${id}` } as never) : null;
      },
      shutdownServer: async (id) => {
        maybeFail("shutdownServer");
        const server = servers.get(id);
        if (!server)
          throw new ProviderError({ provider: "hetzner", status: 404, code: "not_found", message: "no server" });
        server.status = "off";
        return newAction("shutdown_server");
      },
      listServers: async (filter = {}) =>
        [...servers.values()].filter((server) => matches(server.labels, filter.labelSelector)) as never,
      listFirewalls: async (filter = {}) =>
        [...firewalls.values()]
          .filter((firewall) => matches(firewall.labels, filter.labelSelector))
          .map((firewall) => ({ ...firewall, applied_to: [] })) as never,
      deleteServer: async (id) => {
        maybeFail("deleteServer");
        servers.delete(id);
        // "Any resources attached to the server (like Volumes …) are detached while the server is deleted."
        for (const volume of volumes.values()) if (volume.server === id) volume.server = null;
        return null;
      },
      deleteFirewall: async (id) => {
        firewalls.delete(id);
      },
      createVolume: async (input) => {
        maybeFail("createVolume");
        if ([...volumes.values()].some((volume) => volume.name === input.name))
          throw new ProviderError({
            provider: "hetzner",
            status: 409,
            code: "uniqueness_error",
            message: "name in use",
          });
        const volume: FakeVolume = {
          id: nextId++,
          name: input.name,
          size: input.sizeGb,
          location: input.location,
          labels: input.labels,
          server: null,
        };
        volumes.set(volume.id, volume);
        return { volume: volumeJson(volume), action: newAction("create_volume"), nextActions: [] };
      },
      getVolume: async (id) => {
        maybeFail("getVolume");
        const volume = volumes.get(id);
        return volume ? volumeJson(volume) : null;
      },
      listVolumes: async (filter = {}) =>
        [...volumes.values()]
          .filter((volume) => matches(volume.labels, filter.labelSelector))
          .filter((volume) => !filter.name || volume.name === filter.name)
          .map(volumeJson),
      detachVolume: async (id) => {
        maybeFail("detachVolume");
        const volume = volumes.get(id);
        if (!volume) return null;
        if (volume.server !== null) servers.get(volume.server)?.volumes.splice(0);
        volume.server = null;
        return newAction("detach_volume");
      },
      deleteVolume: async (id) => {
        maybeFail("deleteVolume");
        const volume = volumes.get(id);
        if (volume?.server)
          throw new ProviderError({
            provider: "hetzner",
            status: 422,
            code: "volume_attached",
            message: "detach the volume first",
          });
        volumes.delete(id);
      },
      getPricing: async () => {
        maybeFail("getPricing");
        return { volumePerGbMonthGross: "0.0440", volumePerGbMonthNet: "0.0370", currency: "EUR", vatRate: "19.00" };
      },
      waitForAction: async (id) => {
        const action = actions.get(id);
        if (!action)
          throw new ProviderError({ provider: "hetzner", status: 404, code: "not_found", message: "no action" });
        if (action.status === "error")
          throw new ProviderError({
            provider: "hetzner",
            status: 200,
            code: "action_failed",
            message: action.error!.message,
          });
        return action;
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
      findRecords: async (name) =>
        [...records.values()].filter((record) => record.name === name).map((record) => record.id),
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
  return { clouds, factory, servers, firewalls, records, certificates, volumes, failures, failedActions };
}

/** The user each test's workspaces belong to: a fresh one per test, once useFreshUser() is called. */
export let userId: string;

export function useFreshUser() {
  beforeEach(async () => {
    await env.AGENTS.put(
      "version.json",
      JSON.stringify({
        version: "test",
        binaries: Object.fromEntries(Object.entries(AGENT_SHA256).map(([key, sha256]) => [key, { sha256 }])),
      }),
    );
    const [user] = await db
      .insert(schema.users)
      .values({ githubId: Math.floor(Math.random() * 1e9), login: `user-${crypto.randomUUID().slice(0, 8)}` })
      .returning();
    userId = user!.id;
  });
}

export async function newWorkspace(values: Partial<typeof schema.workspaces.$inferInsert> = {}): Promise<Workspace> {
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

export const reload = async (id: string) =>
  (await db.query.workspaces.findFirst({ where: eq(schema.workspaces.id, id) })) ?? null;
/** Calls an agent callback route's action as the VM agent would, with a callback token for the workspace. */
export async function callAgentRoute(handler: typeof readyAction, workspace: Workspace, body: unknown, token?: string) {
  const waits: Promise<unknown>[] = [];
  const bearer = token ?? (await issueCallbackToken(config, workspace))!.callback_token;
  const response = await handler({
    request: new Request("http://localhost/", {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    }),
    context: {
      db,
      config,
      cloudflare: { env, ctx: { waitUntil: (promise: Promise<unknown>) => waits.push(promise) } },
    } as never,
    params: { id: workspace.id },
  });
  return { response, waits };
}
