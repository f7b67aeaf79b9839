// The edge: requests for <name>.<zone> are proxied, like Cloudflare's proxied DNS, to the server whose public
// IPv4 is the content of the proxied A record for that name — on the port the browser used, over TLS that is
// verified against the Origin CA (SSL mode "Full (strict)"), and only when the server's Hetzner firewalls
// admit Cloudflare on that port. What the real edge would refuse, this one refuses (docs/local-cloud.md).
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Cloudflare } from "./cloudflare";
import type { CloudContext } from "./context";
import type { Hetzner } from "./hetzner";
import { escapeHtml, sleep } from "./http";

/** The address the edge's connections to origins come from: one inside Cloudflare's published 162.158.0.0/15. */
export const EDGE_SOURCE_IPV4 = "162.158.0.1";

/** Cloudflare's own status codes for origin failures (5xx "Cloudflare errors"). */
type OriginFailure = 521 | 522 | 525 | 526;

export type EdgeTarget =
  | { kind: "no-certificate"; host: string }
  | { kind: "no-record"; host: string }
  | { kind: "unreachable"; host: string; ip: string; why: string }
  | { kind: "origin"; host: string; ip: string; port: number };

/** The host name without port when it is a strict subdomain of the zone; otherwise undefined. */
export function edgeHost(hostHeader: string | undefined, baseDomain: string): string | undefined {
  if (!hostHeader) return undefined;
  const host = hostHeader.replace(/:\d+$/, "").toLowerCase().replace(/\.$/, "");
  return host.endsWith(`.${baseDomain.toLowerCase()}`) ? host : undefined;
}

const failures: Record<OriginFailure, { title: string; text: (host: string, why: string) => string }> = {
  521: {
    title: "Web server is down",
    text: (host, why) => `The web server is not returning a connection (${host}): ${why}.`,
  },
  522: {
    title: "Connection timed out",
    text: (host, why) =>
      `The initial connection between Cloudflare's network and the origin web server (${host}) timed out: ${why}.`,
  },
  525: {
    title: "SSL handshake failed",
    text: (host, why) => `Cloudflare is unable to establish an SSL connection to the origin server (${host}): ${why}.`,
  },
  526: {
    title: "Invalid SSL certificate",
    text: (host, why) =>
      `Cloudflare is unable to validate the SSL certificate on the origin web server (${host}), as the SSL mode Full (strict) requires: ${why}.`,
  },
};

/** How Cloudflare reports a failed connection to the origin. */
function originFailure(error: NodeJS.ErrnoException, handshakeDone: boolean): { status: OriginFailure; why: string } {
  const code = error.code ?? "";
  if (code === "ECONNREFUSED") return { status: 521, why: "nothing listens on the port (connection refused)" };
  if (code === "ETIMEDOUT" || code === "EHOSTUNREACH") return { status: 522, why: error.message };
  if (!handshakeDone && /CERT|SIGNATURE|ISSUER/.test(code)) return { status: 526, why: `${code}: ${error.message}` };
  return { status: 525, why: `${code || "error"}: ${error.message}` };
}

export class Edge {
  /**
   * @param publicPort the Cloudflare port the local listener stands for; the edge connects to the origin on
   *   this port, as Cloudflare connects on the port the browser used.
   */
  constructor(
    private readonly cloud: CloudContext,
    private readonly hetzner: Hetzner,
    private readonly cloudflare: Cloudflare,
    private readonly publicPort: number,
  ) {}

  resolve(host: string): EdgeTarget {
    // Universal SSL covers the zone apex and one level of wildcard; a name deeper than that has no edge
    // certificate unless one is bought (Advanced Certificate Manager), so browsers never get as far as HTTP.
    const zone = this.cloudflare.zoneName;
    const label = host.endsWith(`.${zone}`) ? host.slice(0, -zone.length - 1) : host;
    if (label.includes(".")) return { kind: "no-certificate", host };
    const record = this.cloudflare.proxiedRecord(host);
    if (!record) return { kind: "no-record", host };
    const server = this.hetzner.serverByIpv4(record.content);
    if (!server) return { kind: "unreachable", host, ip: record.content, why: "no server has that address" };
    if (server.status !== "running")
      return { kind: "unreachable", host, ip: record.content, why: `the server is ${server.status}` };
    if (!this.hetzner.admitsTcp(server, this.publicPort, EDGE_SOURCE_IPV4))
      return {
        kind: "unreachable",
        host,
        ip: record.content,
        why: `the server's firewall drops TCP port ${this.publicPort} from Cloudflare (${EDGE_SOURCE_IPV4})`,
      };
    return { kind: "origin", host, ip: record.content, port: this.publicPort };
  }

  private errorPage(target: Exclude<EdgeTarget, { kind: "origin" | "no-certificate" }>): {
    status: number;
    statusText: string;
    body: string;
  } {
    const ray = randomBytes(8).toString("hex");
    if (target.kind === "no-record") {
      return {
        status: 530,
        statusText: "Origin DNS error",
        body: page(
          `Error 1016`,
          "Origin DNS error",
          `You've requested a page on a website (${target.host}) that is on the Cloudflare network. Cloudflare is currently unable to resolve your requested domain (${target.host}): there is no proxied A record for it.`,
          ray,
        ),
      };
    }
    return this.failurePage(522, target.host, `${target.ip}:${this.publicPort}: ${target.why}`, ray);
  }

  private failurePage(status: OriginFailure, host: string, why: string, ray = randomBytes(8).toString("hex")) {
    const { title, text } = failures[status];
    return { status, statusText: title, body: page(`Error ${status}`, title, text(host, why), ray) };
  }

  /** Browsers find no certificate for the name and end the TLS handshake; locally the connection just ends. */
  private refuseWithoutCertificate(host: string, socket: Socket | null | undefined): void {
    this.cloud.options.log(
      `edge: no edge certificate for ${host}: Universal SSL covers only names one level below the zone ${this.cloudflare.zoneName}`,
    );
    socket?.destroy();
  }

  /** TLS options for the connection to the origin: SNI and verification against the Origin CA, as Full (strict). */
  private originTls(target: Extract<EdgeTarget, { kind: "origin" }>) {
    return { host: target.ip, port: target.port, servername: target.host, ca: [this.cloudflare.ca.certificate] };
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
    if (target.kind === "no-certificate") return this.refuseWithoutCertificate(host, res.socket);
    const send = ({ status, statusText, body }: { status: number; statusText: string; body: string }) => {
      res.writeHead(status, statusText, {
        "Content-Type": "text/html; charset=UTF-8",
        "Content-Length": Buffer.byteLength(body),
        Server: "cloudflare",
      });
      res.end(body);
    };
    if (target.kind !== "origin") return send(this.errorPage(target));
    let handshakeDone = false;
    const upstream = httpsRequest(
      {
        ...this.originTls(target),
        agent: false,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, ...this.forwardedHeaders(req) },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, { ...answer.headers, server: "cloudflare" });
        answer.pipe(res);
      },
    );
    upstream.on("socket", (socket) => socket.once("secureConnect", () => (handshakeDone = true)));
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      const { status, why } = originFailure(error, handshakeDone);
      send(this.failurePage(status, host, `${target.ip}:${target.port}: ${why}`));
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
    if (target.kind === "no-certificate") return this.refuseWithoutCertificate(host, socket);
    const refuse = ({ status, statusText, body }: { status: number; statusText: string; body: string }) =>
      socket.end(
        `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nServer: cloudflare\r\nConnection: close\r\n\r\n${body}`,
      );
    if (target.kind !== "origin") return void refuse(this.errorPage(target));
    const upstream = tlsConnect(this.originTls(target));
    let handshakeDone = false;
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    for (const [name, value] of Object.entries(this.forwardedHeaders(req))) lines.push(`${name}: ${value}`);
    upstream.once("secureConnect", () => {
      handshakeDone = true;
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (upstream.bytesRead === 0 && socket.writable) {
        const { status, why } = originFailure(error, handshakeDone);
        refuse(this.failurePage(status, host, `${target.ip}:${target.port}: ${why}`));
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
