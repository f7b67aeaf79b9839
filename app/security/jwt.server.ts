import { exportJWK, importPKCS8, importSPKI, SignJWT, type JWK } from "jose";
import type { Config } from "../platform/config.server";

export const JWT_ALG = "RS256";

export interface PublishedKey extends JWK {
  kid: string;
  alg: typeof JWT_ALG;
  use: "sig";
}

/** The JWKS the agents verify terminal tokens with: the current key and, during rotation, the previous one. */
export async function publicJwks(config: Config): Promise<{ keys: PublishedKey[] }> {
  const entries: Array<[string, string]> = [[config.JWT_KEY_ID, config.JWT_PUBLIC_KEY]];
  if (config.JWT_PREVIOUS_PUBLIC_KEY && config.JWT_PREVIOUS_KEY_ID) {
    entries.push([config.JWT_PREVIOUS_KEY_ID, config.JWT_PREVIOUS_PUBLIC_KEY]);
  }
  const keys = await Promise.all(
    entries.map(async ([kid, pem]) => {
      const { n, e, kty } = await exportJWK(await importSPKI(pem, JWT_ALG, { extractable: true }));
      return { kty, n, e, kid, alg: JWT_ALG, use: "sig" } as PublishedKey;
    }),
  );
  return { keys };
}

let signingKey: { pem: string; key: CryptoKey } | undefined;

async function privateKey(config: Config): Promise<CryptoKey> {
  if (signingKey?.pem !== config.JWT_PRIVATE_KEY) {
    signingKey = { pem: config.JWT_PRIVATE_KEY, key: await importPKCS8(config.JWT_PRIVATE_KEY, JWT_ALG) };
  }
  return signingKey.key;
}

/** Signs a short-lived token issued by this control plane (terminal and callback tokens). */
export async function signToken(
  config: Config,
  {
    audience,
    subject,
    ttlSeconds,
    claims = {},
  }: { audience: string; subject: string; ttlSeconds: number; claims?: Record<string, unknown> },
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: JWT_ALG, kid: config.JWT_KEY_ID, typ: "JWT" })
    .setIssuer(config.APP_URL)
    .setAudience(audience)
    .setSubject(subject)
    .setIssuedAt()
    .setNotBefore("0s")
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(crypto.randomUUID())
    .sign(await privateKey(config));
}
