// A Web Push service stand-in (RFC 8030 message delivery, RFC 8291 encryption, RFC 8292 VAPID). No real push
// service is reachable offline and Chromium cannot subscribe to one here, so the tests make a subscription
// with this service (it keeps the browser's private key), give it to SAM as a browser would, and read the
// messages SAM sent — checked for VAPID and decrypted like a browser would — to hand them to the page's
// service worker through the DevTools protocol. See docs/local-cloud.md, "Web Push".
import { createDecipheriv, createECDH, hkdfSync, randomBytes, randomUUID } from "node:crypto";
import { importJWK, jwtVerify } from "jose";
import type { Request } from "../context";
import { sendJson } from "../http";

interface Subscription {
  id: string;
  /** The browser's ECDH key pair and auth secret (what a browser keeps to itself). */
  privateKey: Buffer;
  publicKey: Buffer;
  auth: Buffer;
  /** A restricted subscription (applicationServerKey): only messages signed by this VAPID key are taken. */
  applicationServerKey: string | null;
}

export interface PushMessage {
  id: string;
  subscription: string;
  /** The decrypted payload, as text. */
  payload: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  /** The VAPID JWT's claims the service checked. */
  vapid: { aud: string; sub: string | null; exp: number; k: string };
  received_at: string;
}

const URGENCIES = new Set(["very-low", "low", "normal", "high"]);
/** RFC 8030 §7.2: a push service must take bodies of at least 4096 octets. */
const MAX_BODY = 4096;

export class PushService {
  private subscriptions = new Map<string, Subscription>();
  private messages: PushMessage[] = [];

  constructor(private readonly baseUrl: () => string) {}

  reset(): void {
    this.subscriptions.clear();
    this.messages = [];
  }

  state() {
    return { subscriptions: this.subscriptions.size, messages: this.messages.length };
  }

  /** What a browser's PushSubscription.toJSON() would give the page. */
  subscribe(applicationServerKey: string | null) {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const subscription: Subscription = {
      id: randomUUID(),
      privateKey: ecdh.getPrivateKey(),
      publicKey: ecdh.getPublicKey(),
      auth: randomBytes(16),
      applicationServerKey,
    };
    this.subscriptions.set(subscription.id, subscription);
    return {
      endpoint: `${this.baseUrl()}/push/${subscription.id}`,
      expirationTime: null,
      keys: { p256dh: subscription.publicKey.toString("base64url"), auth: subscription.auth.toString("base64url") },
    };
  }

  /** POST /push/<id>: one message for a subscription (RFC 8030 §5). */
  async handle(r: Request): Promise<void> {
    const id = /^\/([0-9a-f-]{36})$/.exec(r.path)?.[1];
    if (r.method !== "POST" || !id) return sendJson(r.res, 404, { error: "no such push resource" });
    const subscription = this.subscriptions.get(id);
    // An expired or unsubscribed subscription (RFC 8030 §7.3): the application server should drop it.
    if (!subscription) return sendJson(r.res, 404, { error: "subscription expired" });
    const header = (name: string) => r.req.headers[name];

    const ttl = header("ttl");
    if (typeof ttl !== "string" || !/^\d+$/.test(ttl)) return sendJson(r.res, 400, { error: "TTL header required" });
    const urgency = header("urgency") ?? "normal";
    if (typeof urgency !== "string" || !URGENCIES.has(urgency))
      return sendJson(r.res, 400, { error: "Urgency must be one of very-low, low, normal, high" });
    const topic = header("topic");
    if (topic !== undefined && (typeof topic !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(topic)))
      return sendJson(r.res, 400, { error: "Topic must be at most 32 base64url characters" });
    if (header("content-encoding") !== "aes128gcm")
      return sendJson(r.res, 400, { error: "Content-Encoding must be aes128gcm" });

    const vapid = await this.checkVapid(header("authorization"), subscription);
    if ("error" in vapid) return sendJson(r.res, vapid.status, { error: vapid.error });

    const body = await r.body();
    if (body.length > MAX_BODY) return sendJson(r.res, 413, { error: `payload over ${MAX_BODY} bytes` });
    let payload: string;
    try {
      payload = decryptPushMessage(body, subscription).toString("utf8");
    } catch (error) {
      return sendJson(r.res, 400, { error: `cannot decrypt: ${(error as Error).message}` });
    }
    const message: PushMessage = {
      id: randomUUID(),
      subscription: id,
      payload,
      ttl: Number(ttl),
      urgency,
      topic: topic ?? null,
      vapid: vapid.claims,
      received_at: new Date().toISOString(),
    };
    this.messages.push(message);
    r.res.writeHead(201, { Location: `${this.baseUrl()}/push/messages/${message.id}`, TTL: ttl }).end();
  }

  private async checkVapid(
    authorization: string | string[] | undefined,
    subscription: Subscription,
  ): Promise<{ claims: PushMessage["vapid"] } | { status: number; error: string }> {
    if (typeof authorization !== "string" || !authorization.startsWith("vapid "))
      return { status: 401, error: "Authorization: vapid t=…, k=… required" };
    const params = Object.fromEntries(
      authorization
        .slice("vapid ".length)
        .split(",")
        .map((part) => part.trim().split("=", 2) as [string, string]),
    );
    const { t, k } = params;
    if (!t || !k) return { status: 401, error: "vapid needs t and k" };
    if (subscription.applicationServerKey && k !== subscription.applicationServerKey)
      return { status: 403, error: "signed by another key than the subscription's applicationServerKey" };
    const point = Buffer.from(k, "base64url");
    if (point.length !== 65 || point[0] !== 4) return { status: 403, error: "k is not an uncompressed P-256 key" };
    if (point.equals(subscription.publicKey)) return { status: 400, error: "the VAPID key is the ECDH key" };
    const audience = new URL(this.baseUrl()).origin;
    try {
      const key = await importJWK(
        {
          kty: "EC",
          crv: "P-256",
          x: point.subarray(1, 33).toString("base64url"),
          y: point.subarray(33).toString("base64url"),
        },
        "ES256",
      );
      const { payload } = await jwtVerify(t, key, { algorithms: ["ES256"], audience });
      const now = Math.floor(Date.now() / 1000);
      if (typeof payload.exp !== "number") return { status: 403, error: "the JWT has no exp" };
      if (payload.exp > now + 24 * 3600) return { status: 403, error: "exp is more than 24 hours away" };
      const sub = typeof payload.sub === "string" ? payload.sub : null;
      if (sub !== null && !/^(mailto:|https:)/.test(sub))
        return { status: 403, error: "sub must be a mailto: or https: URI" };
      return { claims: { aud: audience, sub, exp: payload.exp, k } };
    } catch (error) {
      return { status: 403, error: `invalid VAPID JWT: ${(error as Error).message}` };
    }
  }

  /** The test controls: GET/POST /_local/push/subscriptions, DELETE …/<id>, GET /_local/push/messages. */
  async handleAdmin(r: Request): Promise<void> {
    if (r.method === "POST" && r.path === "/subscriptions") {
      const raw = (await r.body()).toString("utf8");
      const body = (raw.trim() ? JSON.parse(raw) : {}) as { application_server_key?: unknown };
      const key = body.application_server_key;
      if (key !== undefined && (typeof key !== "string" || Buffer.from(key, "base64url").length !== 65))
        return sendJson(r.res, 400, { error: "application_server_key must be a base64url P-256 public key" });
      return sendJson(r.res, 201, this.subscribe((key as string | undefined) ?? null));
    }
    const unsubscribe = /^\/subscriptions\/([0-9a-f-]{36})$/.exec(r.path)?.[1];
    if (r.method === "DELETE" && unsubscribe) {
      this.subscriptions.delete(unsubscribe);
      return sendJson(r.res, 200, { ok: true });
    }
    if (r.method === "GET" && r.path === "/messages") return sendJson(r.res, 200, { messages: this.messages });
    return sendJson(r.res, 404, { error: `no push admin route ${r.method} ${r.path}` });
  }
}

/** RFC 8291 decryption with node:crypto (a second implementation, so the app's Web Crypto one is checked). */
export function decryptPushMessage(
  body: Buffer,
  keys: { privateKey: Buffer; publicKey: Buffer; auth: Buffer },
): Buffer {
  if (body.length < 86 + 17) throw new Error("body shorter than the aes128gcm header and one record");
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20];
  if (idLength !== 65) throw new Error(`keyid is ${idLength} octets, not a P-256 key's 65`);
  const senderPublic = body.subarray(21, 86);
  const record = body.subarray(86);
  if (record.length > recordSize) throw new Error("more than one record");
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(keys.privateKey);
  const secret = ecdh.computeSecret(senderPublic);
  const info = Buffer.concat([Buffer.from("WebPush: info\0"), keys.publicKey, senderPublic]);
  const ikm = Buffer.from(hkdfSync("sha256", secret, keys.auth, info, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("the last record does not end with the 0x02 delimiter");
  return padded.subarray(0, end);
}
