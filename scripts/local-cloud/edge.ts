// The edge: requests for <name>.<BASE_DOMAIN> are proxied, like Cloudflare's proxied DNS, to the agent of
// the server whose public IPv4 is the content of the proxied A record for that name.
import { randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Cloudflare } from "./cloudflare";
import type { CloudContext } from "./context";
import type { Hetzner } from "./hetzner";
import { escapeHtml, sleep } from "./http";

export type EdgeTarget =
  | { kind: "no-record"; host: string }
  | { kind: "no-origin"; host: string; ip: string }
  | { kind: "origin"; host: string; ip: string; port: number };

/** The host name without port when it is a strict subdomain of the zone; otherwise undefined. */
export function edgeHost(hostHeader: string | undefined, baseDomain: string): string | undefined {
  if (!hostHeader) return undefined;
  const host = hostHeader.replace(/:\d+$/, "").toLowerCase().replace(/\.$/, "");
  return host.endsWith(`.${baseDomain.toLowerCase()}`) ? host : undefined;
}

export class Edge {
  constructor(
    private readonly cloud: CloudContext,
    private readonly hetzner: Hetzner,
    private readonly cloudflare: Cloudflare,
  ) {}

  resolve(host: string): EdgeTarget {
    const record = this.cloudflare.proxiedRecord(host);
    if (!record) return { kind: "no-record", host };
    const server = this.hetzner.serverByIpv4(record.content);
    const agent = server ? this.cloud.machines.get(server.id)?.agent : undefined;
    if (!server || server.status !== "running" || !agent?.alive || !agent.port)
      return { kind: "no-origin", host, ip: record.content };
    return { kind: "origin", host, ip: record.content, port: agent.port };
  }

  private errorPage(target: EdgeTarget): { status: number; body: string } {
    const ray = randomBytes(8).toString("hex");
    if (target.kind === "no-record") {
      return {
        status: 530,
        body: page(
          `Error 1016`,
          "Origin DNS error",
          `You've requested a page on a website (${target.host}) that is on the Cloudflare network. Cloudflare is currently unable to resolve your requested domain (${target.host}): there is no proxied A record for it.`,
          ray,
        ),
      };
    }
    return {
      status: 502,
      body: page(
        "Error 502",
        "Bad gateway",
        `The web server reported a bad gateway error: nothing answers at ${target.kind === "no-origin" ? target.ip : target.host} (no live agent for that server).`,
        ray,
      ),
    };
  }

  private forwardedHeaders(req: IncomingMessage): Record<string, string> {
    const ip = req.socket.remoteAddress ?? "127.0.0.1";
    return {
      "cf-connecting-ip": ip,
      "x-forwarded-for": req.headers["x-forwarded-for"] ? `${String(req.headers["x-forwarded-for"])}, ${ip}` : ip,
      "x-forwarded-proto": "http",
      "cf-ray": `${randomBytes(8).toString("hex")}-LCL`,
      "cdn-loop": "cloudflare",
    };
  }

  async handleHttp(req: IncomingMessage, res: ServerResponse, host: string): Promise<void> {
    const target = this.resolve(host);
    if (target.kind !== "origin") {
      const { status, body } = this.errorPage(target);
      res.writeHead(status, {
        "Content-Type": "text/html; charset=UTF-8",
        "Content-Length": Buffer.byteLength(body),
        Server: "cloudflare",
      });
      res.end(body);
      return;
    }
    const upstream = httpRequest(
      {
        host: "127.0.0.1",
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...this.forwardedHeaders(req) },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, { ...answer.headers, server: "cloudflare" });
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) {
        const { status, body } = this.errorPage({ kind: "no-origin", host, ip: target.ip });
        res.writeHead(status, { "Content-Type": "text/html; charset=UTF-8", Server: "cloudflare" });
        res.end(body);
      } else res.destroy();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }

  /** WebSocket (any Upgrade) requests: a raw TCP tunnel once the request head is forwarded. */
  async handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, host: string): Promise<void> {
    const fault = this.cloud.faults.take("edge", req.method ?? "GET", new URL(req.url ?? "/", "http://edge").pathname);
    if (fault) {
      if ("delay_ms" in fault) await sleep(fault.delay_ms);
      else if ("reset" in fault) return void socket.destroy();
      else if ("hang" in fault) return;
      else {
        const body =
          fault.body === undefined ? "" : typeof fault.body === "string" ? fault.body : JSON.stringify(fault.body);
        socket.end(
          `HTTP/1.1 ${fault.status} Injected\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
        return;
      }
    }
    const target = this.resolve(host);
    if (target.kind !== "origin") {
      const { status, body } = this.errorPage(target);
      socket.end(
        `HTTP/1.1 ${status} ${status === 530 ? "Origin DNS error" : "Bad Gateway"}\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nServer: cloudflare\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    const upstream = connect(target.port, "127.0.0.1");
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    for (const [name, value] of Object.entries(this.forwardedHeaders(req))) lines.push(`${name}: ${value}`);
    upstream.once("connect", () => {
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => {
      if (upstream.bytesRead === 0 && socket.writable) {
        const { body } = this.errorPage({ kind: "no-origin", host, ip: target.ip });
        socket.end(
          `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nServer: cloudflare\r\nConnection: close\r\n\r\n${body}`,
        );
      } else socket.destroy();
    });
    socket.on("error", () => upstream.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
  }
}

function page(code: string, title: string, text: string, ray: string): string {
  return `<!DOCTYPE html>
<html lang="en-US"><head><title>${escapeHtml(title)} | ${escapeHtml(code)}</title><meta charset="UTF-8"></head>
<body><div id="cf-wrapper"><h1><span class="cf-error-type">${escapeHtml(code)}</span> <span>${escapeHtml(title)}</span></h1>
<p>${escapeHtml(text)}</p>
<p>Cloudflare Ray ID: <strong>${ray}</strong> &bull; local cloud edge</p></div></body></html>
`;
}
