import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { generateKeys } from "../../scripts/keys.mjs";
import { parseConfig } from "../platform/config.server";
import { signToken, type PublishedKey } from "./jwt.server";
import { loader as jwksLoader } from "../routes/[.]well-known.jwks[.]json";
import { testEnv } from "../../tests/support/test-env";

async function fetchJwks(config: ReturnType<typeof parseConfig>) {
  const response = await jwksLoader({
    context: { config },
    request: new Request("http://localhost/.well-known/jwks.json"),
    params: {},
  } as never);
  return { response, json: () => response.json() as Promise<{ keys: PublishedKey[] }> };
}

describe("signing keys", () => {
  it("a token signed with the generated private key verifies against /.well-known/jwks.json", async () => {
    const config = parseConfig(testEnv());
    const { response, json } = await fetchJwks(config);
    expect(response.headers.get("Cache-Control")).toMatch(/max-age=\d+/);
    const jwks = await json();
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kty: "RSA", alg: "RS256", use: "sig", kid: config.JWT_KEY_ID }),
    ]);
    expect(JSON.stringify(jwks)).not.toMatch(/"d"|"p"|"q"/);

    const token = await signToken(config, {
      audience: "workspace-terminal",
      subject: "user-1",
      ttlSeconds: 300,
      claims: { workspace: "ws-1" },
    });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: config.APP_URL,
      audience: "workspace-terminal",
      algorithms: ["RS256"],
    });
    expect(protectedHeader.kid).toBe(config.JWT_KEY_ID);
    expect(payload).toMatchObject({ sub: "user-1", workspace: "ws-1" });
    expect(payload.exp! - payload.iat!).toBe(300);
  });

  it("publishes the previous key during rotation so older tokens still verify", async () => {
    const env = testEnv();
    const oldConfig = parseConfig(env);
    const oldToken = await signToken(oldConfig, { audience: "workspace-terminal", subject: "user-1", ttlSeconds: 60 });

    const next = generateKeys();
    const rotated = parseConfig({
      ...env,
      ...next,
      JWT_PREVIOUS_PUBLIC_KEY: env.JWT_PUBLIC_KEY,
      JWT_PREVIOUS_KEY_ID: env.JWT_KEY_ID,
    });
    const jwks = await (await fetchJwks(rotated)).json();
    expect(jwks.keys.map((key) => key.kid)).toEqual([next.JWT_KEY_ID, env.JWT_KEY_ID]);
    await expect(
      jwtVerify(oldToken, createLocalJWKSet(jwks), { audience: "workspace-terminal" }),
    ).resolves.toBeTruthy();
  });

  it("a token from a key that is not published is refused", async () => {
    const config = parseConfig(testEnv());
    const stranger = parseConfig({ ...testEnv(), ...generateKeys() });
    const token = await signToken(stranger, { audience: "workspace-terminal", subject: "user-1", ttlSeconds: 60 });
    const jwks = await (await fetchJwks(config)).json();
    await expect(jwtVerify(token, createLocalJWKSet(jwks))).rejects.toThrow();
  });
});
