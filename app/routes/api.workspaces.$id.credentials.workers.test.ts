import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "~/db/schema";
import { issueCallbackToken } from "~/security/agent-auth.server";
import { saveCredential } from "~/settings/credentials.server";
import type { Workspace } from "~/workspaces/workspaces.server";
import { callAgentRoute, config, db, newWorkspace, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { action } from "./api.workspaces.$id.credentials";

useFreshUser();

const apiKey = `sk-ant-api03-${"a".repeat(40)}wxyz`;
const oauthToken = `sk-ant-oat01-${"b".repeat(40)}oat1`;
const openaiKey = `sk-proj-${"c".repeat(40)}oai1`;
const running = () => newWorkspace({ status: "running", startedAt: new Date(Date.now() - 60_000) });
const call = (workspace: Workspace, body: unknown, token?: string) =>
  callAgentRoute(action, workspace, body, token).then(
    ({ response }) => response,
    (error: Response) => error,
  );
const deliveries = () =>
  db.query.auditLog.findMany({
    where: and(eq(schema.auditLog.userId, userId), eq(schema.auditLog.action, "credential.delivered")),
  });

describe("POST /api/workspaces/:id/credentials", () => {
  it("answers the owner's key for the agent, not cached, and audits the kind without the secret", async () => {
    const context = { db, config };
    await saveCredential(context as never, userId, "anthropic_api_key", apiKey);
    await saveCredential(context as never, userId, "openai_api_key", openaiKey);
    const workspace = await running();

    const claude = await call(workspace, { agent: "claude-code" });
    expect(claude.status).toBe(200);
    expect(claude.headers.get("Cache-Control")).toBe("no-store");
    expect(await claude.json()).toEqual({ agent: "claude-code", kind: "anthropic_api_key", secret: apiKey });

    const codex = await call(workspace, { agent: "codex" });
    expect(await codex.json()).toEqual({ agent: "codex", kind: "openai_api_key", secret: openaiKey });

    const audited = await deliveries();
    expect(audited.map((row) => row.details)).toEqual([
      { workspaceId: workspace.id, agent: "claude-code", kind: "anthropic_api_key" },
      { workspaceId: workspace.id, agent: "codex", kind: "openai_api_key" },
    ]);
    expect(JSON.stringify(audited)).not.toContain(apiKey.slice(-12));
  });

  it("prefers a Claude subscription token over an API key, and says which kind it is", async () => {
    await saveCredential({ db, config } as never, userId, "anthropic_api_key", apiKey);
    await saveCredential({ db, config } as never, userId, "claude_oauth_token", oauthToken);
    const response = await call(await running(), { agent: "claude-code" });
    expect(await response.json()).toMatchObject({ kind: "claude_oauth_token", secret: oauthToken });
  });

  it("names the credential to add in Settings when none is saved (and delivers nothing)", async () => {
    await saveCredential({ db, config } as never, userId, "openai_api_key", openaiKey);
    const response = await call(await running(), { agent: "claude-code" });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: string; code: string };
    expect(body.code).toBe("missing_credential");
    expect(body.error).toContain("Anthropic API key");
    expect(body.error).toContain("Settings");
    expect(await deliveries()).toEqual([]);
  });

  it("refuses outside a run: a creating or stopping workspace, another workspace's token, an unknown agent", async () => {
    await saveCredential({ db, config } as never, userId, "anthropic_api_key", apiKey);
    const creating = await newWorkspace({ status: "creating" });
    expect((await call(creating, { agent: "claude-code" })).status).toBe(409);
    const stopping = await newWorkspace({ status: "stopping", startedAt: new Date(Date.now() - 60_000) });
    expect((await call(stopping, { agent: "claude-code" })).status).toBe(409);
    const stopped = await newWorkspace({ status: "stopped" });
    expect((await call(stopped, { agent: "claude-code" })).status).toBe(401);

    const workspace = await running();
    const other = await running();
    const foreign = (await issueCallbackToken(config, other))!.callback_token;
    expect((await call(workspace, { agent: "claude-code" }, foreign)).status).toBe(401);
    expect((await call(workspace, { agent: "gemini" })).status).toBe(400);
    expect(await deliveries()).toEqual([]);
  });
});
