import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { smokeTokens, workspaces } from "../db/schema";
import { action, loader } from "../routes/api.smoke.workspace";
import { hashToken } from "../workspaces/bootstrap.server";
import { config, db, newWorkspace, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { createSmokeToken, SMOKE_TOKEN_TTL_MS } from "./smoke.server";

useFreshUser();

function context() {
  const waits: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void waits.push(p.catch(() => undefined)),
    passThroughOnException() {},
  };
  return { context: { db, config, cloudflare: { env, ctx } } as never, settled: () => Promise.all(waits) };
}

const request = (method: string, token: string) =>
  new Request("http://localhost/api/smoke/workspace", { method, headers: { Authorization: `Bearer ${token}` } });

async function answer(response: Response | Promise<Response>) {
  const settled = await Promise.resolve(response).catch((thrown) => thrown as Response);
  return { status: settled.status, body: (await settled.json()) as Record<string, unknown> };
}

describe("smoke tokens", () => {
  it("are stored only as their SHA-256 and last 15 minutes", async () => {
    const { context: ctx } = context();
    const now = Date.now();
    const { token, expiresAt } = await createSmokeToken(ctx, new Request("http://localhost/admin/smoke"), userId, now);
    expect(expiresAt.getTime()).toBe(now + SMOKE_TOKEN_TTL_MS);
    const rows = await db.select().from(smokeTokens).where(eq(smokeTokens.userId, userId));
    expect(rows.map((row) => row.tokenHash)).toEqual([await hashToken(token)]);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it("an expired, unknown or missing token is a 401 that says where to get one", async () => {
    const { context: ctx } = context();
    const { token } = await createSmokeToken(
      ctx,
      new Request("http://localhost/"),
      userId,
      Date.now() - SMOKE_TOKEN_TTL_MS - 1,
    );
    for (const given of [token, "x".repeat(43), ""]) {
      const { status, body } = await answer(loader({ request: request("GET", given), context: ctx, params: {} }));
      expect(status).toBe(401);
      expect(body.error).toMatch(/make a new one in \/admin\/smoke/);
    }
  });

  it("make one workspace, the smallest with no repository or agent, and see only it", async () => {
    const { context: ctx, settled } = context();
    const other = await newWorkspace({ status: "running" });
    const { token } = await createSmokeToken(ctx, new Request("http://localhost/"), userId);
    const created = await answer(action({ request: request("POST", token), context: ctx, params: {} }));
    expect(created.status).toBe(201);
    const row = await db.query.workspaces.findFirst({ where: eq(workspaces.id, created.body.id as string) });
    expect(row).toMatchObject({ userId, size: "small", serverType: "cx23", repository: null, agentCli: "none" });
    const again = await answer(action({ request: request("POST", token), context: ctx, params: {} }));
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/already made workspace/);
    await settled();
    const status = await answer(loader({ request: request("GET", token), context: ctx, params: {} }));
    expect(status.body.id).toBe(created.body.id);
    expect(status.body.id).not.toBe(other.id);
  });
});
