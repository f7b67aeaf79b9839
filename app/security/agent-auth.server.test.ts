import { importPKCS8, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { generateKeys } from "../../scripts/keys.mjs";
import {
  CALLBACK_AUDIENCE,
  callbackRefusal,
  issueCallbackToken,
  requireCallbackToken,
  STOPPING_GRACE_SECONDS,
} from "./agent-auth.server";
import { parseConfig } from "../platform/config.server";
import { signToken } from "./jwt.server";
import { testEnv } from "../../tests/support/test-env";

const config = parseConfig(testEnv());
const workspaceId = "abcdefgh2345";
const run = (id = workspaceId) => ({ id, startedAt: new Date(), serverId: 42, maxLifetimeSeconds: 12 * 3600 });
const request = (token: string) =>
  new Request(`http://localhost/api/workspaces/${workspaceId}/heartbeat`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
  });

async function status(token: string, id = workspaceId, cfg = config): Promise<number> {
  try {
    await requireCallbackToken(request(token), cfg, id);
    return 200;
  } catch (error) {
    if (error instanceof Response) return error.status;
    throw error;
  }
}

describe("callback tokens", () => {
  it("a token issued for the workspace is accepted, with about an hour of life", async () => {
    const issued = (await issueCallbackToken(config, run()))!;
    expect(await status(issued.callback_token)).toBe(200);
    const lifetime = Date.parse(issued.callback_token_expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(55 * 60 * 1000);
    expect(lifetime).toBeLessThanOrEqual(60 * 60 * 1000);
  });

  it("refuses a token for another workspace", async () => {
    const { callback_token } = (await issueCallbackToken(config, run("zzzzzzzzzzzz")))!;
    expect(await status(callback_token)).toBe(401);
  });

  it("refuses a token whose workspace claim differs from its subject", async () => {
    const token = await signToken(config, {
      audience: CALLBACK_AUDIENCE,
      subject: workspaceId,
      ttlSeconds: 60,
      claims: { workspace: "zzzzzzzzzzzz" },
    });
    expect(await status(token)).toBe(401);
  });

  it("refuses a terminal token (wrong audience)", async () => {
    const token = await signToken(config, {
      audience: "workspace-terminal",
      subject: workspaceId,
      ttlSeconds: 60,
      claims: { workspace: workspaceId },
    });
    expect(await status(token)).toBe(401);
  });

  it("refuses an expired token", async () => {
    const token = await signToken(config, {
      audience: CALLBACK_AUDIENCE,
      subject: workspaceId,
      ttlSeconds: -120,
      claims: { workspace: workspaceId },
    });
    expect(await status(token)).toBe(401);
  });

  it("refuses a token signed by a key that is not ours, even under our kid", async () => {
    const foreign = parseConfig({ ...testEnv(), ...generateKeys(), JWT_KEY_ID: config.JWT_KEY_ID });
    const token = await signToken(foreign, {
      audience: CALLBACK_AUDIENCE,
      subject: workspaceId,
      ttlSeconds: 60,
      claims: { workspace: workspaceId },
    });
    expect(await status(token)).toBe(401);
  });

  it("refuses an unsigned token and a missing header", async () => {
    const none = await new SignJWT({ workspace: workspaceId })
      .setProtectedHeader({ alg: "HS256", kid: config.JWT_KEY_ID })
      .setAudience(CALLBACK_AUDIENCE)
      .setSubject(workspaceId)
      .setIssuer(config.APP_URL)
      .setExpirationTime("1m")
      .sign(new Uint8Array(32));
    expect(await status(none)).toBe(401);
    await expect(
      requireCallbackToken(new Request("http://localhost/", { method: "POST" }), config, workspaceId),
    ).rejects.toMatchObject({ status: 401 });
  });

  it("accepts tokens signed with the previous key during a rotation", async () => {
    const oldToken = (await issueCallbackToken(config, run()))!.callback_token;
    const next = generateKeys();
    const rotated = parseConfig({
      ...testEnv(),
      ...next,
      JWT_PREVIOUS_PUBLIC_KEY: config.JWT_PUBLIC_KEY,
      JWT_PREVIOUS_KEY_ID: config.JWT_KEY_ID,
    });
    expect(await status(oldToken, workspaceId, rotated)).toBe(200);
  });

  it("refuses a token without an expiry, and a kid that names a property of every object", async () => {
    const key = await importPKCS8(config.JWT_PRIVATE_KEY, "RS256");
    const forever = await new SignJWT({ workspace: workspaceId })
      .setProtectedHeader({ alg: "RS256", kid: config.JWT_KEY_ID })
      .setAudience(CALLBACK_AUDIENCE)
      .setSubject(workspaceId)
      .setIssuer(config.APP_URL)
      .setIssuedAt()
      .sign(key);
    expect(await status(forever)).toBe(401);
    for (const kid of ["__proto__", "constructor", "toString"]) {
      const token = await new SignJWT({ workspace: workspaceId })
        .setProtectedHeader({ alg: "RS256", kid })
        .setAudience(CALLBACK_AUDIENCE)
        .setSubject(workspaceId)
        .setIssuer(config.APP_URL)
        .setIssuedAt()
        .setExpirationTime("1m")
        .sign(key);
      expect(await status(token)).toBe(401);
    }
  });

  it("the refresh chain ends at the run's maximum lifetime (plus the grace a stop needs)", async () => {
    const lifetime = 2 * 3600;
    const startedAt = new Date(Date.now() - lifetime * 1000);
    const nearEnd = (await issueCallbackToken(config, { ...run(), startedAt, maxLifetimeSeconds: lifetime }))!;
    const end = startedAt.getTime() + (lifetime + STOPPING_GRACE_SECONDS) * 1000;
    expect(Date.parse(nearEnd.callback_token_expires_at)).toBeLessThanOrEqual(end);
    const pastEnd = new Date(Date.now() - (lifetime + STOPPING_GRACE_SECONDS) * 1000);
    expect(await issueCallbackToken(config, { ...run(), startedAt: pastEnd, maxLifetimeSeconds: lifetime })).toBeNull();
    expect(await issueCallbackToken(config, { ...run(), startedAt: null })).toBeNull();
  });

  it("a token acts only on its own run and server, while that run is live and its access not revoked", async () => {
    const current = run();
    const { callback_token } = (await issueCallbackToken(config, current))!;
    const payload = await requireCallbackToken(request(callback_token), config, workspaceId);
    const row = { status: "running" as const, startedAt: current.startedAt, serverId: 42, callbacksRevokedAt: null };
    expect(callbackRefusal(payload, row)).toBeNull();
    expect(callbackRefusal(payload, { ...row, status: "stopping" })).toBeNull();
    expect(callbackRefusal(payload, { ...row, status: "stopped" })).toMatch(/stopped/);
    expect(callbackRefusal(payload, { ...row, status: "error" })).toMatch(/error/);
    expect(callbackRefusal(payload, { ...row, startedAt: new Date(current.startedAt.getTime() + 1) })).toMatch(
      /earlier run/,
    );
    expect(callbackRefusal(payload, { ...row, serverId: 43 })).toMatch(/another server/);
    expect(callbackRefusal(payload, { ...row, callbacksRevokedAt: new Date(Date.now() + 1000) })).toMatch(/ended/);
    expect(callbackRefusal(payload, { ...row, callbacksRevokedAt: new Date(Date.now() - 60_000) })).toBeNull();
  });
});
