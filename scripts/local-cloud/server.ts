// startLocalCloud: one HTTP server on 127.0.0.1 serving Hetzner, Cloudflare, GitHub, the edge and the
// admin API (see docs/local-cloud.md).
import { mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { homedir } from "node:os";
import { resolve } from "node:path";
import type { Socket } from "node:net";
import { Cloudflare } from "./cloudflare";
import type { LocalCloudOptions } from "./config";
import type { CloudContext, Request } from "./context";
import { Edge, edgeHost } from "./edge";
import { type ActionFaultKind, Faults, hetznerErrorFault, SERVICES, type FaultKind, type Service } from "./faults";
import { GitHub } from "./github";
import { Hetzner } from "./hetzner";
import { BodyTooLargeError, readBody, sendJson } from "./http";
import { AnthropicApi } from "./anthropic";
import { PushService } from "./push";
import { AGENT_PORT, killNow, logTail } from "./agent-process";
import { destroyMachine, type Machine } from "./machines";
import { handleNpmRegistry } from "./npm-registry";
import { killLeftoverAgents } from "./leftovers";

export interface LocalCloud {
  url: string;
  port: number;
  /** A snapshot of everything the cloud holds (the same as GET /_local/state). */
  state(): LocalCloudState;
  /** Resolves when background work started so far (boots, deletions) has finished. */
  settled(): Promise<void>;
  services: {
    hetzner: Hetzner;
    cloudflare: Cloudflare;
    github: GitHub;
    faults: Faults;
    anthropic: AnthropicApi;
    push: PushService;
  };
  close(): Promise<void>;
}

export type LocalCloudState = ReturnType<typeof snapshot>;

/**
 * The credentials the Anthropic stand-in accepts: save one of them in SAM's Settings and a chat's model proxy
 * sends it upstream (any other key gets the API's 401). They match the Settings form's formats.
 */
export const LOCAL_ANTHROPIC_API_KEY = "sk-ant-api03-local-cloud-test-key-000000000000";
export const LOCAL_CLAUDE_OAUTH_TOKEN = "sk-ant-oat01-local-cloud-test-token-0000000000";

const PREFIXES: Array<
  [string, Service | "github-web" | "admin" | "npm-registry" | "anthropic" | "anthropic-admin" | "push" | "push-admin"]
> = [
  ["/hetzner/v1", "hetzner"],
  ["/cloudflare/client/v4", "cloudflare"],
  ["/github-api", "github"],
  ["/github", "github-web"],
  // The Anthropic Messages API stand-in local servers' chats talk to (SAM_ANTHROPIC_URL), and its test controls.
  ["/anthropic", "anthropic"],
  ["/_local/anthropic", "anthropic-admin"],
  // A Web Push service (push/index.ts): browsers' subscriptions point here; tests read what SAM sent.
  ["/push", "push"],
  ["/_local/push", "push-admin"],
  ["/_local", "admin"],
  // Node.js and npm archives for cloud-init on the local servers (npm-registry.ts).
  ["/npm-registry", "npm-registry"],
];

function guardDir(dir: string): string {
  const absolute = resolve(dir);
  const forbidden = new Set(["/", homedir(), resolve("."), "/tmp", "/var", "/usr", "/etc", "/home"]);
  if (forbidden.has(absolute) || absolute.split("/").filter(Boolean).length < 2) {
    throw new Error(
      `local cloud: refusing to wipe ${absolute}; set LOCAL_CLOUD_DIR to a dedicated directory such as .local-cloud/start`,
    );
  }
  return absolute;
}

function machineState(machine: Machine | undefined) {
  if (!machine) return null;
  const { agent } = machine;
  return { ...agent, dir: machine.dir, log_tail: logTail(machine.dir) };
}

function snapshot(
  hetzner: Hetzner,
  cloudflare: Cloudflare,
  github: GitHub,
  machines: Map<number, Machine>,
  faults: Faults,
  anthropic: AnthropicApi,
  push: PushService,
) {
  const hetznerState = hetzner.state();
  return {
    servers: hetznerState.servers.map((server) => ({ ...server, agent: machineState(machines.get(server.id)) })),
    firewalls: hetznerState.firewalls,
    images: hetznerState.images,
    volumes: hetznerState.volumes,
    cloudflare: cloudflare.state(),
    github: github.state(),
    faults: faults.describe(),
    anthropic: { pending_replies: anthropic.pending(), requests: anthropic.requests().length },
    push: push.state(),
  };
}

export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const dir = guardDir(options.dir);
  killLeftoverAgents(resolve(dir, "servers"), options.log);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(resolve(dir, "servers"), { recursive: true });
  const pending = new Set<Promise<unknown>>();
  const machines = new Map<number, Machine>();
  const faults = new Faults();
  const cloud: CloudContext = {
    options,
    dir,
    url: "",
    faults,
    machines,
    track(work) {
      const tracked = work
        .catch((error) => options.log(`local cloud: background task failed: ${(error as Error).stack ?? error}`))
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
  };
  const hetzner = new Hetzner(cloud);
  const cloudflare = new Cloudflare(cloud);
  const github = new GitHub(cloud);
  const anthropic = new AnthropicApi({ apiKeys: [LOCAL_ANTHROPIC_API_KEY], oauthTokens: [LOCAL_CLAUDE_OAUTH_TOKEN] });
  const push = new PushService(() => cloud.url);
  const edge = new Edge(cloud, hetzner, cloudflare, options.edgePort ?? AGENT_PORT);
  const settled = async () => {
    while (pending.size) await Promise.allSettled([...pending]);
  };

  const initialBootDelayMs = options.bootDelayMs;
  const resetAll = async () => {
    faults.clear();
    options.bootDelayMs = initialBootDelayMs;
    await settled();
    await Promise.all([...machines.values()].map((machine) => destroyMachine(machine)));
    machines.clear();
    hetzner.reset();
    cloudflare.reset();
    github.reset();
    anthropic.reset();
    push.reset();
  };

  async function admin(r: Request): Promise<void> {
    const json = async () => {
      const raw = (await r.body()).toString("utf8");
      return (raw.trim() ? JSON.parse(raw) : {}) as Record<string, unknown>;
    };
    const bad = (message: string) => sendJson(r.res, 400, { error: message });
    try {
      switch (`${r.method} ${r.path}`) {
        case "GET /health":
          return sendJson(r.res, 200, { ok: true, url: cloud.url, servers: hetzner.serverCount });
        case "GET /state":
          return sendJson(r.res, 200, snapshot(hetzner, cloudflare, github, machines, faults, anthropic, push));
        case "GET /faults":
          return sendJson(r.res, 200, { faults: faults.describe() });
        case "POST /faults": {
          const body = await json();
          if (!SERVICES.includes(body.service as Service)) return bad(`service must be one of ${SERVICES.join(", ")}`);
          const times = typeof body.times === "number" ? body.times : 1;
          if (body.action !== undefined) {
            // A Hetzner action (attach_volume, create_volume, …) that runs longer or ends in error.
            const fault = body.fault as ActionFaultKind | undefined;
            const valid =
              fault &&
              typeof fault === "object" &&
              (("action_delay_ms" in fault && typeof fault.action_delay_ms === "number") ||
                ("action_error" in fault && typeof fault.action_error === "object"));
            if (body.service !== "hetzner" || typeof body.action !== "string" || !valid)
              return bad(
                'an action fault is {service: "hetzner", action: "<command>", times?, fault: {action_delay_ms} | {action_error: {code?, message?}}}',
              );
            return sendJson(r.res, 201, { id: faults.addAction({ command: body.action, times, fault: fault! }).id });
          }
          if (typeof body.path !== "string")
            return bad("path (a regular expression on the path after the service prefix) is required");
          const shorthand = (body.fault as { hetzner_error?: unknown; message?: unknown } | undefined)?.hetzner_error;
          if (shorthand !== undefined) {
            const message = (body.fault as { message?: unknown }).message;
            const expanded =
              typeof shorthand === "string"
                ? hetznerErrorFault(shorthand, typeof message === "string" ? message : undefined)
                : undefined;
            if (!expanded)
              return bad(`hetzner_error must be a documented Hetzner error code, e.g. "resource_unavailable"`);
            body.fault = expanded;
          }
          const fault = body.fault as FaultKind | undefined;
          const valid =
            fault &&
            typeof fault === "object" &&
            (("status" in fault && Number.isInteger(fault.status)) ||
              "delay_ms" in fault ||
              "hang" in fault ||
              "reset" in fault);
          if (!valid)
            return bad(
              "fault must be {status, body?, headers?} | {hetzner_error, message?} | {delay_ms} | {hang: true} | {reset: true}",
            );
          try {
            new RegExp(body.path);
          } catch (error) {
            return bad(`path is not a valid regular expression: ${(error as Error).message}`);
          }
          const added = faults.add({
            service: body.service as Service,
            method: typeof body.method === "string" ? body.method : undefined,
            path: body.path,
            times,
            fault: fault!,
          });
          return sendJson(r.res, 201, { id: added.id });
        }
        case "DELETE /faults":
          faults.clear();
          return sendJson(r.res, 200, { ok: true });
        case "POST /users":
          return sendJson(r.res, 201, github.createUser(await json()));
        case "POST /webhooks":
          return sendJson(r.res, 200, await github.adminEvent(await json()));
        case "POST /github/installations": {
          const installation = await github.adminInstall(await json());
          return sendJson(r.res, 201, github.installationJson(installation));
        }
        case "POST /cloudflare/tokens": {
          const body = await json();
          if (typeof body.token !== "string" || !/^[A-Za-z0-9_\-.]{8,}$/.test(body.token))
            return bad("token (8+ characters of A-Z a-z 0-9 _ - .) is required");
          if (!Array.isArray(body.permissions)) return bad('permissions must be a list, e.g. ["dns_records:edit"]');
          if (body.owner !== undefined && body.owner !== "user" && body.owner !== "account")
            return bad('owner must be "user" (the default) or "account" (an account-owned token)');
          return sendJson(
            r.res,
            201,
            cloudflare.addToken(body.token, body.permissions.map(String), (body.owner as "user" | "account") ?? "user"),
          );
        }
        case "PUT /cloudflare/r2": {
          const body = await json();
          if (typeof body.enabled !== "boolean") return bad("enabled must be true or false");
          cloudflare.setR2Enabled(body.enabled);
          return sendJson(r.res, 200, { r2_enabled: body.enabled });
        }
        case "POST /hetzner/tokens": {
          const body = await json();
          if (typeof body.token !== "string" || !/^[A-Za-z0-9]{64}$/.test(body.token))
            return bad("token (64 letters and digits, like a Hetzner token) is required");
          if (body.read_only !== true)
            return bad("read_only must be true: the Read & Write token is LOCAL_HETZNER_TOKEN");
          hetzner.addReadOnlyToken(body.token);
          return sendJson(r.res, 201, { token: body.token, read_only: true });
        }
        case "PUT /rate-limit": {
          const body = await json();
          const limit = body.limit;
          if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0)
            return bad("limit must be a whole number");
          if (body.service === "hetzner") hetzner.limiter.setLimit(limit);
          else if (body.service === "cloudflare") cloudflare.limiter.setLimit(limit);
          else if (body.service === "github") {
            github.limiter.setLimit(limit);
            github.anonymousLimiter.setLimit(Math.min(limit, 60));
          } else return bad("service must be hetzner, cloudflare or github");
          return sendJson(r.res, 200, { service: body.service, limit });
        }
        case "PUT /boot-delay": {
          // How long a new server stays initializing (its create action running), e.g. to stop one mid-create.
          const { ms } = await json();
          if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0)
            return bad("ms must be a number of milliseconds");
          options.bootDelayMs = ms;
          return sendJson(r.res, 200, { boot_delay_ms: ms });
        }
        case "POST /reset":
          await resetAll();
          return sendJson(r.res, 200, { ok: true });
        case "POST /settle":
          await settled();
          return sendJson(r.res, 200, { ok: true });
        default:
          return sendJson(r.res, 404, { error: `no admin route ${r.method} ${r.path}` });
      }
    } catch (error) {
      if (error instanceof SyntaxError) return bad(`invalid JSON: ${error.message}`);
      return bad((error as Error).message);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const host = edgeHost(req.headers.host, options.baseDomain);
    if (host) {
      const fault = faults.take("edge", req.method ?? "GET", url.pathname);
      if (fault && (await faults.apply(fault, req, res)) === "handled") return;
      return edge.handleHttp(req, res, host);
    }
    const match = PREFIXES.find(([prefix]) => url.pathname === prefix || url.pathname.startsWith(`${prefix}/`));
    if (!match)
      return sendJson(res, 404, {
        error:
          "not found: the local cloud serves /hetzner/v1, /cloudflare/client/v4, /github, /github-api, /npm-registry, /anthropic, /push and /_local",
      });
    const [prefix, service] = match;
    const path = url.pathname.slice(prefix.length) || "/";
    let body: Promise<Buffer> | undefined;
    const r: Request = { req, res, method: req.method ?? "GET", path, url, body: () => (body ??= readBody(req)) };
    if (service === "npm-registry") return handleNpmRegistry(r);
    // The stand-in reads its own (up to 32 MB) body and has no faults of its own: scripted errors cover that.
    if (service === "anthropic") return anthropic.handle(r);
    if (service === "anthropic-admin") return anthropic.handleAdmin(r);
    if (service === "push") return push.handle(r);
    if (service === "push-admin") return push.handleAdmin(r);
    if (service !== "admin") {
      const fault = faults.take(service === "github-web" ? "github" : service, r.method, path);
      if (fault && (await faults.apply(fault, req, res)) === "handled") return;
    }
    switch (service) {
      case "hetzner":
        return hetzner.handle(r);
      case "cloudflare":
        return cloudflare.handle(r);
      case "github":
        return github.handleApi(r);
      case "github-web":
        return github.handleWeb(r);
      case "admin":
        return admin(r);
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (error instanceof BodyTooLargeError) {
        if (!res.headersSent) sendJson(res, 413, { error: error.message });
        return;
      }
      options.log(`local cloud: ${req.method} ${req.url}: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) sendJson(res, 500, { error: "local cloud internal error" });
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const host = edgeHost(req.headers.host, options.baseDomain);
    if (!host) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    edge.handleUpgrade(req, socket, head, host).catch(() => socket.destroy());
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolveListen());
  });
  const port = (server.address() as { port: number }).port;
  cloud.url = `http://127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      faults.clear();
      server.close();
      for (const socket of sockets) socket.destroy();
      await settled();
      await Promise.all([...machines.values()].map((machine) => destroyMachine(machine).catch(() => killNow(machine))));
      machines.clear();
    })());

  return {
    url: cloud.url,
    port,
    state: () => snapshot(hetzner, cloudflare, github, machines, faults, anthropic, push),
    settled,
    services: { hetzner, cloudflare, github, faults, anthropic, push },
    close,
  };
}
