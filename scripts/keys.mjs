// Key material for a SAM instance. Plain Node (no dependencies) so it runs before `npm install`.
import { createECDH, generateKeyPairSync, randomBytes, createHash, createPublicKey } from "node:crypto";

/** The signing key pair for terminal and callback tokens, the Web Push (VAPID) key pair, and the symmetric secrets. */
export function generateKeys() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    JWT_PRIVATE_KEY: privateKey,
    JWT_PUBLIC_KEY: publicKey,
    JWT_KEY_ID: keyId(publicKey),
    ...vapidKeys(),
  };
}

/** The P-256 key pair that signs Web Push requests (RFC 8292), base64url as browsers take it. */
export function vapidKeys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return {
    VAPID_PUBLIC_KEY: ecdh.getPublicKey().toString("base64url"),
    VAPID_PRIVATE_KEY: ecdh.getPrivateKey().toString("base64url"),
  };
}

/** A stable key id: the first 16 hex digits of the SHA-256 of the DER public key, with the date. */
export function keyId(publicKeyPem) {
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "");
  return `sam-${day}-${createHash("sha256").update(der).digest("hex").slice(0, 16)}`;
}

/** One dotenv line; multi-line values are double-quoted with `\n` escapes (read by wrangler and dotenv). */
export function dotenvLine(name, value) {
  if (/[\n"#\s]/.test(value)) return `${name}="${value.trim().replaceAll("\n", "\\n")}"`;
  return `${name}=${value}`;
}

/** Parses dotenv text as wrangler does for `.dev.vars`, enough for the values this project writes. */
export function parseDotenv(text) {
  const values = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2];
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replaceAll("\\n", "\n");
    else if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    values[match[1]] = value;
  }
  return values;
}
