// `npm run smoke -- --url https://app.example.com`: checks a deployed instance end to end, right after a deploy.
//
//   1. /api/health answers ok            2. the JWKS publishes an RS256 key
//   3. a workspace is created            (with a one-time smoke token an admin makes in /admin/smoke)
//   4. it boots and its agent checks in  5. its ws-* name resolves through Cloudflare with a valid edge
//                                           certificate on the port browsers use
//   6. a terminal opens and runs a command
//   7. it is deleted, and no server, firewall, DNS record or certificate is left
//
// The token comes from SAM_SMOKE_TOKEN (or --token). Each failure names its step and what to change; a workspace
// the run made is deleted even when a later step fails. Exit code 0 when every step passed, 1 otherwise.
import { lookup as dnsLookup } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIPv4, type LookupFunction } from "node:net";
import { connect as tlsConnect } from "node:tls";
import WebSocket from "ws";
import { CLOUDFLARE_IP_RANGES } from "../app/workspaces/clouds.server";

export class StepFailed extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

interface Options {
  url: string;
  token: string;
  log: (line: string) => void;
  /** How long the workspace may take to boot, and to go (ms). */
  bootTimeoutMs?: number;
  pollMs?: number;
}

/** `*.localhost` is this machine (the local cloud's edge), as browsers treat it; everything else goes to DNS. */
const lookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === "localhost" || hostname.endsWith(".localhost")) {
    if (options.all)
      return (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: "127.0.0.1", family: 4 },
      ]);
    return callback(null, "127.0.0.1", 4);
  }
  return dnsLookup(hostname, options, callback);
};

interface HttpAnswer {
  status: number;
  body: string;
  json: () => unknown;
}

function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: init.method ?? "GET", headers: init.headers, lookup, timeout: 30_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            json: () => {
              try {
                return JSON.parse(body);
              } catch {
                return null;
              }
            },
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${target.host} within 30 s`)));
    req.on("error", reject);
    req.end(init.body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cloudflareRanges = new BlockList();
for (const range of CLOUDFLARE_IP_RANGES) {
  const [address, prefix] = range.split("/") as [string, string];
  cloudflareRanges.addSubnet(address, Number(prefix), isIPv4(address) ? "ipv4" : "ipv6");
}

export async function smoke(options: Options): Promise<void> {
  const app = options.url.replace(/\/+$/, "");
  const { log } = options;
  const pollMs = options.pollMs ?? 3000;
  const auth = { Authorization: `Bearer ${options.token}` };
  const origin = new URL(app).origin;
  let step = "";
  const ok = (message: string) => log(`✓ ${step}: ${message}`);
  const at = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    step = name;
    try {
      return await work();
    } catch (error) {
      if (error instanceof StepFailed) throw error;
      throw new StepFailed(name, (error as Error).message);
    }
  };
  const fail = (message: string): never => {
    throw new StepFailed(step, message);
  };

  await at("1 health", async () => {
    const answer = await call(`${app}/api/health`).catch((error: Error) =>
      fail(
        `${app} cannot be reached (${error.message}): check the URL, and that the app is deployed (npm run deploy).`,
      ),
    );
    const body = answer.json() as { status?: string; version?: string } | null;
    if (answer.status !== 200 || body?.status !== "ok")
      fail(
        `/api/health answered ${answer.status} ${answer.body.slice(0, 200)}: check the deployment's configuration (npx wrangler pages deployment tail shows why).`,
      );
    ok(`ok, version ${body!.version}`);
  });

  await at("2 jwks", async () => {
    const answer = await call(`${app}/.well-known/jwks.json`);
    const keys = (
      (answer.json() as { keys?: Array<{ kty?: string; kid?: string; alg?: string }> } | null)?.keys ?? []
    ).filter((key) => key.kty === "RSA" && key.kid);
    if (answer.status !== 200 || keys.length === 0)
      fail(
        `/.well-known/jwks.json answered ${answer.status} without an RSA key: set JWT_PUBLIC_KEY and JWT_KEY_ID (npm run generate-keys -- --env) and deploy again.`,
      );
    ok(`${keys.length} key(s): ${keys.map((key) => key.kid).join(", ")}`);
  });

  const created = await at("3 create workspace", async () => {
    if (!options.token) fail("no smoke token: make one in /admin/smoke and pass it as SAM_SMOKE_TOKEN.");
    const answer = await call(`${app}/api/smoke/workspace`, { method: "POST", headers: auth });
    const body = answer.json() as { id?: string; serverType?: string; location?: string; url?: string; error?: string };
    if (answer.status !== 201 || !body?.id)
      fail(`the app answered ${answer.status}: ${body?.error ?? answer.body.slice(0, 200)}`);
    ok(`${body.id} (${body.serverType} in ${body.location})`);
    return body as { id: string; url: string };
  });

  let deleted = false;
  const remove = async () => {
    if (deleted) return;
    deleted = true;
    await call(`${app}/api/smoke/workspace`, { method: "DELETE", headers: auth });
  };
  try {
    const running = await at("4 boot", async () => {
      const deadline = Date.now() + (options.bootTimeoutMs ?? 10 * 60_000);
      for (;;) {
        const answer = await call(`${app}/api/smoke/workspace`, { headers: auth });
        const body = answer.json() as {
          status?: string;
          error?: string | null;
          hostname?: string;
          terminalToken?: string | null;
          events?: Array<{ step: string; status: string; message: string }>;
        };
        if (answer.status !== 200) fail(`the app answered ${answer.status}: ${answer.body.slice(0, 200)}`);
        if (body.status === "running" && body.terminalToken) {
          ok(`running after ${body.events?.length ?? 0} steps`);
          return body as { hostname: string; terminalToken: string };
        }
        if (body.status === "error") fail(`the workspace failed: ${body.error}`);
        if (Date.now() > deadline) {
          const last = body.events?.at(-1);
          fail(
            `not running after ${Math.round((options.bootTimeoutMs ?? 600_000) / 1000)} s (last step: ${last ? `${last.step} ${last.status}: ${last.message}` : "none"}): check that the server can reach ${app} (its agent downloads from /api/agent/download and calls back).`,
          );
        }
        await sleep(pollMs);
      }
    });

    await at("5 edge", async () => {
      const url = new URL(created.url);
      if (url.protocol !== "https:") {
        ok(`${url.host} is plain http: the local cloud's edge, no certificate to check`);
        return;
      }
      const port = Number(url.port || 443);
      const addresses = await new Promise<Array<{ address: string }>>((resolve, reject) =>
        dnsLookup(url.hostname, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
      ).catch((error: Error) =>
        fail(
          `${url.hostname} does not resolve (${error.message}): the app makes a proxied A record per workspace in the BASE_DOMAIN zone; check CLOUDFLARE_ZONE_ID and the token's Zone · DNS · Edit.`,
        ),
      );
      const outside = addresses.filter(
        ({ address }) => !cloudflareRanges.check(address, isIPv4(address) ? "ipv4" : "ipv6"),
      );
      if (outside.length)
        fail(
          `${url.hostname} resolves to ${outside.map((a) => a.address).join(", ")}, not Cloudflare: the record must be proxied (orange cloud), and the zone's nameservers Cloudflare's.`,
        );
      await new Promise<void>((resolve, reject) => {
        const socket = tlsConnect({ host: url.hostname, port, servername: url.hostname, timeout: 15_000 }, () => {
          socket.end();
          resolve();
        });
        socket.on("timeout", () => socket.destroy(new Error("no TLS answer within 15 s")));
        socket.on("error", reject);
      }).catch((error: Error) =>
        fail(
          `no valid edge certificate for ${url.hostname} on port ${port} (${error.message}): Cloudflare's Universal SSL covers ws-<id>.<zone> only when BASE_DOMAIN is the zone apex, and port ${port} must be one Cloudflare proxies (docs/self-hosting.md, DNS and SSL).`,
        ),
      );
      ok(
        `${url.hostname} resolves to Cloudflare (${addresses.map((a) => a.address).join(", ")}), valid certificate on ${port}`,
      );
    });

    await at("6 terminal", async () => {
      const agent = created.url.replace(/\/+$/, "");
      const headers = {
        Authorization: `Bearer ${running.terminalToken}`,
        Origin: origin,
        "Content-Type": "application/json",
      };
      const made = await call(`${agent}/api/sessions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ name: "smoke" }),
      });
      const session = made.json() as { id?: string; error?: string } | null;
      if (made.status !== 201 || !session?.id)
        fail(
          `the workspace's agent answered ${made.status} ${session?.error ?? made.body.slice(0, 200)} to a new terminal: a 5xx from Cloudflare (52x) means it cannot reach the agent on its port; check the server's firewall and the Cloudflare SSL mode (Full (strict)).`,
        );
      const wsUrl = `${agent.replace(/^http/, "ws")}/api/sessions/${session!.id}/attach`;
      const output = await new Promise<string>((resolve, reject) => {
        const socket = new WebSocket(wsUrl, ["sam.terminal.v1", `bearer.${running.terminalToken}`], {
          origin,
          lookup,
          handshakeTimeout: 15_000,
        });
        let seen = "";
        const timer = setTimeout(() => {
          socket.terminate();
          reject(
            new Error(`the command's output did not arrive within 20 s (saw ${JSON.stringify(seen.slice(-200))})`),
          );
        }, 20_000);
        socket.on("message", (data, isBinary) => {
          if (!isBinary) {
            if (JSON.parse(data.toString()).type === "hello") socket.send(Buffer.from("echo smoke-$((6*7))\r"));
            return;
          }
          seen += data.toString();
          if (seen.includes("smoke-42")) {
            clearTimeout(timer);
            socket.close(1000);
            resolve(seen);
          }
        });
        socket.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
      }).catch((error: Error) => fail(`the terminal did not work: ${error.message}`));
      await call(`${agent}/api/sessions/${session!.id}`, { method: "DELETE", headers });
      ok(`ran \`echo smoke-$((6*7))\` and read ${output.includes("smoke-42") ? "smoke-42" : "its output"} back`);
    });
  } finally {
    if (!deleted) await remove().catch(() => undefined);
  }

  await at("7 delete and clean up", async () => {
    const deadline = Date.now() + (options.bootTimeoutMs ?? 10 * 60_000);
    for (;;) {
      const answer = await call(`${app}/api/smoke/workspace`, { headers: auth });
      const body = answer.json() as {
        status?: string;
        error?: string | null;
        leftovers?: Record<"servers" | "firewalls" | "dnsRecords" | "certificates", Array<string | number>>;
      };
      if (body.status === "deleted" && body.leftovers) {
        const left = Object.entries(body.leftovers).filter(([, ids]) => ids.length > 0);
        if (left.length)
          fail(
            `still there after the delete: ${left.map(([kind, ids]) => `${kind} ${ids.join(", ")}`).join("; ")}. Delete them in the Hetzner console / Cloudflare dashboard; SAM's sweep also retries every 5 minutes.`,
          );
        ok("deleted; no server, firewall, DNS record or certificate left");
        return;
      }
      if (body.status === "error")
        fail(`the delete failed: ${body.error}. SAM's sweep retries it; check the workspace in /admin.`);
      if (Date.now() > deadline) fail(`the workspace was still ${body.status} after the timeout.`);
      await sleep(pollMs);
    }
  });
}

function parseArgs(argv: string[]): { url: string; token: string } {
  let url = "";
  let token = process.env.SAM_SMOKE_TOKEN ?? "";
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const value = inline ?? argv[++i] ?? "";
    if (flag === "--url") url = value;
    else if (flag === "--token") token = value;
    else throw new Error(`unknown argument ${argv[i]}: use --url https://app.example.com [--token <smoke token>]`);
  }
  if (!/^https?:\/\/[^/]+/.test(url)) throw new Error("--url https://app.example.com is required");
  return { url, token };
}

if (process.argv[1] && /scripts[/\\]smoke\.ts$/.test(process.argv[1])) {
  let args: { url: string; token: string };
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  smoke({ ...args, log: (line) => console.log(line) }).then(
    () => {
      console.log("Smoke test passed.");
      process.exit(0);
    },
    (error: Error) => {
      const step = error instanceof StepFailed ? error.step : "unexpected";
      console.error(`✗ step ${step}: ${error.message}`);
      process.exit(1);
    },
  );
}
