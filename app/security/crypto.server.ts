import type { Config } from "../platform/config.server";

/**
 * AES-256-GCM for secrets at rest. Each write gets a fresh 12-byte IV; the owner's user id is the
 * additional authenticated data, so a ciphertext copied to another user's row does not decrypt.
 * The key version is a fingerprint of the key, so ENCRYPTION_KEY can be rotated while rows written
 * under ENCRYPTION_KEY_PREVIOUS stay readable (and are re-encrypted when next read).
 */

export interface Sealed {
  ciphertext: string;
  iv: string;
  keyVersion: number;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

interface VersionedKey {
  version: number;
  key: CryptoKey;
}

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<VersionedKey>>();

function fromBase64(value: string): Uint8Array<ArrayBuffer> {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function importKey(base64: string): Promise<VersionedKey> {
  let cached = keyCache.get(base64);
  if (!cached) {
    cached = (async () => {
      const raw = fromBase64(base64);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
      const version = new DataView(digest.buffer).getUint32(0) >>> 1;
      const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
      return { version, key };
    })();
    keyCache.set(base64, cached);
  }
  return cached;
}

type KeyConfig = Pick<Config, "ENCRYPTION_KEY" | "ENCRYPTION_KEY_PREVIOUS">;

export async function currentKeyVersion(config: KeyConfig): Promise<number> {
  return (await importKey(config.ENCRYPTION_KEY)).version;
}

export async function encrypt(config: KeyConfig, plaintext: string, userId: string): Promise<Sealed> {
  const { version, key } = await importKey(config.ENCRYPTION_KEY);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(userId) },
    key,
    encoder.encode(plaintext),
  );
  return { ciphertext: toBase64(new Uint8Array(sealed)), iv: toBase64(iv), keyVersion: version };
}

export async function decrypt(config: KeyConfig, sealed: Sealed, userId: string): Promise<string> {
  const candidates = [config.ENCRYPTION_KEY, config.ENCRYPTION_KEY_PREVIOUS].filter((key): key is string =>
    Boolean(key),
  );
  for (const candidate of candidates) {
    const { version, key } = await importKey(candidate);
    if (version !== sealed.keyVersion) continue;
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: encoder.encode(userId) },
        key,
        fromBase64(sealed.ciphertext),
      );
      return new TextDecoder().decode(plain);
    } catch {
      throw new DecryptionError("stored secret failed authentication: it was altered or belongs to another user");
    }
  }
  throw new DecryptionError(
    `stored secret was written with key version ${sealed.keyVersion}, which is neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS`,
  );
}
