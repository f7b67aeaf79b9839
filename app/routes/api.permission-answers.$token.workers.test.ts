import { eq } from "drizzle-orm";
import { jwtVerify, importSPKI } from "jose";
import { describe, expect, it } from "vitest";
import * as schema from "~/db/schema";
import type { AgentPoster } from "~/tasks/agent-call.server";
import { mintPermissionAnswerTokens, redeemPermissionAnswer } from "~/tasks/permission-answers.server";
import { config, db, newWorkspace, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { action } from "./api.permission-answers.$token";

useFreshUser();

const context = { db, config };
const running = () => newWorkspace({ status: "running", startedAt: new Date() });
const mint = (workspaceId: string, requestId = "req-1") =>
  mintPermissionAnswerTokens(context, { userId, workspaceId, chatSessionId: "chat-1", requestId });

/** An agent that records what it was sent and answers `status`. */
function agent(status = 200) {
  const calls: Array<{ workspaceId: string; path: string; body: unknown; bearer: string }> = [];
  const post: AgentPoster = async (_config, workspaceId, path, body, bearer) => {
    calls.push({ workspaceId, path, body, bearer });
    return { status, body: status === 200 ? '{"ok":true}' : '{"error":"no such request"}' };
  };
  return { calls, post };
}

const callRoute = async (token: string) => {
  const response = await action({
    request: new Request(`http://localhost/api/permission-answers/${token}`, { method: "POST" }),
    context: context as never,
    params: { token },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe("permission answers", () => {
  it("delivers the decision to the agent at once, with a token the agent accepts for the owner", async () => {
    const workspace = await running();
    const tokens = await mint(workspace.id);
    const fake = agent();
    expect(await redeemPermissionAnswer(context, tokens.deny, { post: fake.post })).toEqual({
      kind: "delivered",
      decision: "deny",
    });
    expect(fake.calls).toHaveLength(1);
    const [call] = fake.calls;
    expect(call).toMatchObject({
      workspaceId: workspace.id,
      path: "/api/chats/chat-1/permissions/req-1",
      body: { decision: "deny" },
    });
    const { payload } = await jwtVerify(call!.bearer, await importSPKI(config.JWT_PUBLIC_KEY, "RS256"), {
      audience: "workspace-terminal",
      issuer: config.APP_URL,
    });
    expect(payload).toMatchObject({ sub: userId, workspace: workspace.id });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
  });

  it("answers once: the same token again, or the request's other button, is 410", async () => {
    const workspace = await running();
    const tokens = await mint(workspace.id);
    const fake = agent();
    expect((await redeemPermissionAnswer(context, tokens.allow, { post: fake.post })).kind).toBe("delivered");
    expect(await redeemPermissionAnswer(context, tokens.allow, { post: fake.post })).toMatchObject({ kind: "gone" });
    expect(await redeemPermissionAnswer(context, tokens.deny, { post: fake.post })).toMatchObject({ kind: "gone" });
    expect(fake.calls).toHaveLength(1);
    expect(await callRoute(tokens.allow)).toEqual({
      status: 410,
      body: { error: "This request has already been answered." },
    });
  });

  it("racing redemptions of one token deliver once", async () => {
    const workspace = await running();
    const tokens = await mint(workspace.id);
    const fake = agent();
    const results = await Promise.all(
      [1, 2, 3].map(() => redeemPermissionAnswer(context, tokens.allow, { post: fake.post })),
    );
    expect(results.filter((result) => result.kind === "delivered")).toHaveLength(1);
    expect(fake.calls).toHaveLength(1);
  });

  it("an hour later the token has expired (410), and another request's token answers only its own", async () => {
    const workspace = await running();
    const first = await mint(workspace.id, "req-1");
    const second = await mint(workspace.id, "req-2");
    const fake = agent();
    const later = Date.now() + 60 * 60 * 1000 + 1;
    expect(await redeemPermissionAnswer(context, first.allow, { post: fake.post, now: later })).toMatchObject({
      kind: "gone",
      why: expect.stringContaining("expired"),
    });
    expect((await redeemPermissionAnswer(context, second.allow, { post: fake.post })).kind).toBe("delivered");
    expect(fake.calls.map((call) => call.path)).toEqual(["/api/chats/chat-1/permissions/req-2"]);
  });

  it("an agent that cannot be reached keeps the answer for later and says so (502)", async () => {
    const workspace = await running();
    const tokens = await mint(workspace.id);
    const down: AgentPoster = async () => {
      throw new Error("connection refused");
    };
    const result = await redeemPermissionAnswer(context, tokens.allow, { post: down });
    expect(result).toMatchObject({ kind: "queued", decision: "allow" });
    const pending = await db.query.pendingPermissionAnswers.findMany({
      where: eq(schema.pendingPermissionAnswers.workspaceId, workspace.id),
    });
    expect(pending).toMatchObject([
      { chatSessionId: "chat-1", requestId: "req-1", decision: "allow", deliveredAt: null },
    ]);
  });

  it("through the route: an unreachable agent is a 502 with a sentence; an unknown token 404", async () => {
    const workspace = await running();
    const tokens = await mint(workspace.id);
    const answer = await callRoute(tokens.allow);
    expect(answer.status).toBe(502);
    expect(answer.body.error).toMatch(/^Your answer \(allow\) is saved, but the workspace could not be reached/);
    expect((await callRoute("A".repeat(43))).status).toBe(404);
    expect((await callRoute("short")).status).toBe(404);
  });

  it("an agent that says the request is no longer waiting: 410, nothing kept", async () => {
    const workspace = await running();
    const tokens = await mint(workspace.id);
    const result = await redeemPermissionAnswer(context, tokens.allow, { post: agent(404).post });
    expect(result).toMatchObject({ kind: "gone", why: expect.stringContaining("no longer waiting") });
    expect(
      await db.query.pendingPermissionAnswers.findMany({
        where: eq(schema.pendingPermissionAnswers.workspaceId, workspace.id),
      }),
    ).toEqual([]);
  });
});
