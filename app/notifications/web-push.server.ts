import { importJWK, SignJWT } from "jose";

/**
 * Web Push from the Worker: the message encrypted for the browser (RFC 8291, `aes128gcm` of RFC 8188) and the
 * application server identified with VAPID (RFC 8292), both with Web Crypto and jose. A summary of the three
 * RFCs is in ../shared/api-reference/web-push.md; the RFC 8291 Appendix A example is the unit test's vector.
 */

/** What the browser's PushSubscription gives us: the push service's URL and the browser's keys. */
export interface PushTarget {
  endpoint: string;
  /** The browser's P-256 ECDH public key, uncompressed (65 octets), base64url. */
  p256dh: string;
  /** The 16-octet authentication secret, base64url. */
  auth: string;
}

/** The instance's long-lived VAPID signing key (not the per-message ECDH key). */
export interface VapidKeys {
  /** Uncompressed P-256 public key (65 octets), base64url: the browser's applicationServerKey. */
  publicKey: string;
  /** The private scalar d (32 octets), base64url. */
  privateKey: string;
  /** A contact for the push service's operator: `mailto:` or `https:`; none is sent when unset. */
  subject?: string;
}

/** The largest plaintext one 4096-octet record carries (RFC 8291 §4). */
export const MAX_PUSH_PLAINTEXT = 3993;
const RECORD_SIZE = 4096;

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const text = (value: string) => new TextEncoder().encode(value);

/** A P-256 public key from its uncompressed form; throws unless it is one. */
function p256Jwk(publicKey: Uint8Array, d?: Uint8Array): JsonWebKey {
  if (publicKey.length !== 65 || publicKey[0] !== 4) throw new Error("not an uncompressed P-256 public key");
  return {
    kty: "EC",
    crv: "P-256",
    x: base64url(publicKey.slice(1, 33)),
    y: base64url(publicKey.slice(33)),
    ...(d ? { d: base64url(d) } : {}),
  };
}

async function hkdf(
  salt: Uint8Array<ArrayBuffer>,
  ikm: Uint8Array<ArrayBuffer>,
  info: Uint8Array<ArrayBuffer>,
  bytes: number,
) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

/** Fixed inputs for the RFC's worked example; a real message draws a fresh key pair and salt. */
export interface EncryptOverrides {
  salt?: Uint8Array<ArrayBuffer>;
  senderKeys?: { publicKey: Uint8Array<ArrayBuffer>; privateKey: Uint8Array<ArrayBuffer> };
}

/** The `aes128gcm` body for one message: header (salt, rs, the sender's ephemeral key) and one record. */
export async function encryptPushMessage(
  target: Pick<PushTarget, "p256dh" | "auth">,
  plaintext: Uint8Array<ArrayBuffer>,
  overrides: EncryptOverrides = {},
): Promise<Uint8Array<ArrayBuffer>> {
  if (plaintext.length > MAX_PUSH_PLAINTEXT)
    throw new Error(`a push message carries at most ${MAX_PUSH_PLAINTEXT} bytes`);
  const uaPublic = fromBase64url(target.p256dh);
  const authSecret = fromBase64url(target.auth);
  if (authSecret.length !== 16) throw new Error("the subscription's auth secret is not 16 bytes");
  const uaKey = await crypto.subtle.importKey(
    "jwk",
    p256Jwk(uaPublic),
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );

  let senderPrivate: CryptoKey;
  let senderPublic: Uint8Array<ArrayBuffer>;
  if (overrides.senderKeys) {
    senderPublic = overrides.senderKeys.publicKey;
    senderPrivate = await crypto.subtle.importKey(
      "jwk",
      p256Jwk(senderPublic, overrides.senderKeys.privateKey),
      { name: "ECDH", namedCurve: "P-256" },
      false,
      ["deriveBits"],
    );
  } else {
    const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ])) as CryptoKeyPair;
    senderPrivate = pair.privateKey;
    senderPublic = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  }
  const ecdhSecret = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: uaKey } as EcdhKeyDeriveParams, senderPrivate, 256),
  );
  const salt = overrides.salt ?? crypto.getRandomValues(new Uint8Array(16));

  // RFC 8291 §3.3–3.4: the auth secret and both public keys go into the input keying material.
  const ikm = await hkdf(authSecret, ecdhSecret, concat(text("WebPush: info\0"), uaPublic, senderPublic), 32);
  const cek = await hkdf(salt, ikm, text("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, text("Content-Encoding: nonce\0"), 12);

  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  // One record, so it is the last: its data ends with the delimiter 0x02 and carries no padding.
  const record = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, key, concat(plaintext, new Uint8Array([2]))),
  );
  const header = new Uint8Array(16 + 4 + 1);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, RECORD_SIZE);
  header[20] = senderPublic.length;
  return concat(header, senderPublic, record);
}

/** `Authorization: vapid t=…, k=…` for a message to `endpoint` (RFC 8292 §2–3); `exp` stays under 24 h. */
export async function vapidAuthorization(endpoint: string, vapid: VapidKeys, now = Date.now()): Promise<string> {
  const publicKey = fromBase64url(vapid.publicKey);
  const signingKey = await importJWK(
    { ...p256Jwk(publicKey, fromBase64url(vapid.privateKey)), alg: "ES256" } as Parameters<typeof importJWK>[0],
    "ES256",
  );
  const token = await new SignJWT(vapid.subject ? { sub: vapid.subject } : {})
    .setProtectedHeader({ alg: "ES256", typ: "JWT" })
    .setAudience(new URL(endpoint).origin)
    .setExpirationTime(Math.floor(now / 1000) + 12 * 3600)
    .sign(signingKey);
  return `vapid t=${token}, k=${vapid.publicKey}`;
}

export type PushOutcome =
  | { kind: "sent" }
  /** The subscription is over (404/410, RFC 8030 §7.3): forget it. */
  | { kind: "gone"; status: number }
  | { kind: "failed"; status: number; message: string };

/** Encrypts `payload` (JSON) for one subscription and POSTs it to its push service. */
export async function sendPush(
  target: PushTarget,
  payload: unknown,
  vapid: VapidKeys,
  options: { ttlSeconds?: number; urgency?: "very-low" | "low" | "normal" | "high"; topic?: string } = {},
): Promise<PushOutcome> {
  const body = await encryptPushMessage(target, text(JSON.stringify(payload)));
  const headers: Record<string, string> = {
    "Content-Encoding": "aes128gcm",
    "Content-Type": "application/octet-stream",
    TTL: String(options.ttlSeconds ?? 3600),
    Urgency: options.urgency ?? "normal",
    Authorization: await vapidAuthorization(target.endpoint, vapid),
  };
  if (options.topic) headers.Topic = options.topic;
  let response: Response;
  try {
    response = await fetch(target.endpoint, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    return { kind: "failed", status: 0, message: error instanceof Error ? error.message : String(error) };
  }
  if (response.status === 404 || response.status === 410) return { kind: "gone", status: response.status };
  if (!response.ok) return { kind: "failed", status: response.status, message: (await response.text()).slice(0, 200) };
  return { kind: "sent" };
}
