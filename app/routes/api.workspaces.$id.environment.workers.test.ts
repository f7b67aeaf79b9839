import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as schema from "~/db/schema";
import { issueCallbackToken } from "~/security/agent-auth.server";
import { saveEnvironmentVariable } from "~/settings/environment.server";
import type { Workspace } from "~/workspaces/workspaces.server";
import { config, db, newWorkspace, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { action, loader } from "./api.workspaces.$id.environment";

useFreshUser();

const context = { db, config, cloudflare: { env, ctx: { waitUntil: () => {} } } } as never;
const running = (values: Partial<typeof schema.workspaces.$inferInsert> = {}) =>
  newWorkspace({ status: "running", startedAt: new Date(Date.now() - 60_000), ...values });
const save = (owner: string, name: string, value: string, options: { scope?: string; secret?: boolean } = {}) =>
  saveEnvironmentVariable(context, owner, { name, value, secret: options.secret ?? true, scope: options.scope ?? "" });

/** GETs the environment as the VM agent does: with a callback token for the workspace (or the one given). */
async function fetchEnvironment(workspace: Workspace, token?: string | null, id = workspace.id) {
  const bearer = token === undefined ? (await issueCallbackToken(config, workspace))!.callback_token : token;
  const request = new Request(`http://localhost/api/workspaces/${id}/environment`, {
    headers: bearer === null ? {} : { Authorization: `Bearer ${bearer}` },
  });
  return loader({ request, context, params: { id } }).then(
    (response) => response,
    (error: Response) => error,
  );
}
const deliveries = () =>
  db.query.auditLog.findMany({
    where: and(eq(schema.auditLog.userId, userId), eq(schema.auditLog.action, "environment.delivered")),
  });

describe("GET /api/workspaces/:id/environment", () => {
  it("answers every repository's variables overridden by the workspace repository's, sorted, decrypted, not cached", async () => {
    await save(userId, "GREETING", "hi", { secret: false });
    await save(userId, "TOKEN", "all-repositories-secret");
    await save(userId, "TOKEN", "hello-world-secret", { scope: "sam-dev/hello-world" });
    await save(userId, "API_URL", "https://example.test", { scope: "sam-dev/hello-world", secret: false });
    await save(userId, "ELSEWHERE", "other", { scope: "sam-dev/private-notes" });
    const workspace = await running();

    const response = await fetchEnvironment(workspace);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({
      variables: [
        { name: "API_URL", value: "https://example.test" },
        { name: "GREETING", value: "hi" },
        { name: "TOKEN", value: "hello-world-secret" },
      ],
    });

    const audited = await deliveries();
    expect(audited.map((row) => row.details)).toEqual([
      { workspaceId: workspace.id, names: ["API_URL", "GREETING", "TOKEN"] },
    ]);
    expect(JSON.stringify(audited)).not.toContain("secret");
    expect(JSON.stringify(audited)).not.toContain("example.test");
  });

  it("gives a workspace of another repository, or of none, only the variables for every repository", async () => {
    await save(userId, "SHARED", "everywhere");
    await save(userId, "SHARED", "only hello-world", { scope: "sam-dev/hello-world" });
    const other = await running({ repository: "sam-dev/private-notes" });
    expect(await (await fetchEnvironment(other)).json()).toEqual({
      variables: [{ name: "SHARED", value: "everywhere" }],
    });
    const bare = await running({ repository: null, installationId: null });
    expect(await (await fetchEnvironment(bare)).json()).toEqual({
      variables: [{ name: "SHARED", value: "everywhere" }],
    });
  });

  it("answers only the workspace owner's variables, and an empty list when they have none", async () => {
    const [stranger] = await db
      .insert(schema.users)
      .values({ githubId: Math.floor(Math.random() * 1e9), login: `stranger-${crypto.randomUUID().slice(0, 8)}` })
      .returning();
    await save(stranger!.id, "STRANGERS_OWN", "not yours");
    await save(stranger!.id, "REPO_SCOPED", "not yours either", { scope: "sam-dev/hello-world" });
    const response = await fetchEnvironment(await running());
    expect(await response.json()).toEqual({ variables: [] });
  });

  it("refuses a stranger's token, another workspace's token, a missing token and a workspace that is gone", async () => {
    await save(userId, "SECRET", "never-delivered-value");
    const workspace = await running();

    const missing = await fetchEnvironment(workspace, null);
    expect(missing.status).toBe(401);
    const [header, claims] = (await issueCallbackToken(config, workspace))!.callback_token.split(".");
    const forged = await fetchEnvironment(workspace, `${header}.${claims}.${"A".repeat(342)}`);
    expect(forged.status).toBe(401);

    // A token for the caller's own workspace, used on this one's address (another user's workspace included).
    const other = await newWorkspace({ status: "running", startedAt: new Date(Date.now() - 30_000) });
    const foreign = (await issueCallbackToken(config, other))!.callback_token;
    const refused = await fetchEnvironment(workspace, foreign);
    expect(refused.status).toBe(401);
    expect(JSON.stringify(await refused.json())).not.toContain("never-delivered-value");

    const token = (await issueCallbackToken(config, workspace))!.callback_token;
    await db.delete(schema.workspaces).where(eq(schema.workspaces.id, workspace.id));
    const gone = await fetchEnvironment(workspace, token);
    expect(gone.status).toBe(404);
    expect(await deliveries()).toEqual([]);
  });

  it("refuses outside a run: stopping (409), stopped, an earlier run's token, revoked access (401 revoked)", async () => {
    await save(userId, "SECRET", "never-delivered-value");
    const stopping = await newWorkspace({ status: "stopping", startedAt: new Date(Date.now() - 60_000) });
    const whileStopping = await fetchEnvironment(stopping);
    expect(whileStopping.status).toBe(409);
    expect(whileStopping.headers.get("Cache-Control")).toBe("no-store");

    const stopped = await newWorkspace({ status: "stopped" });
    expect((await fetchEnvironment(stopped)).status).toBe(401);

    const workspace = await running();
    const earlier = (await issueCallbackToken(config, workspace))!.callback_token;
    await db.update(schema.workspaces).set({ startedAt: new Date() }).where(eq(schema.workspaces.id, workspace.id));
    const earlierRun = await fetchEnvironment(workspace, earlier);
    expect(earlierRun.status).toBe(401);
    expect(await earlierRun.json()).toMatchObject({ code: "revoked" });

    const revokedWorkspace = await running();
    const beforeRevocation = (await issueCallbackToken(config, revokedWorkspace))!.callback_token;
    await db
      .update(schema.workspaces)
      .set({ callbacksRevokedAt: new Date(Date.now() + 1000) })
      .where(eq(schema.workspaces.id, revokedWorkspace.id));
    const revoked = await fetchEnvironment(revokedWorkspace, beforeRevocation);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ code: "revoked" });
    expect(await deliveries()).toEqual([]);
  });

  it("answers while the workspace is still creating (the setup script runs before it is ready)", async () => {
    await save(userId, "FOR_SETUP", "setup-value", { secret: false });
    const creating = await newWorkspace({ status: "creating" });
    const response = await fetchEnvironment(creating);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ variables: [{ name: "FOR_SETUP", value: "setup-value" }] });
  });

  it("answers a workspace at most 120 times a minute (a loop, or its token used elsewhere), then 429", async () => {
    const workspace = await running();
    const token = (await issueCallbackToken(config, workspace))!.callback_token;
    const statuses = [];
    for (let count = 0; count < 121; count++) statuses.push((await fetchEnvironment(workspace, token)).status);
    expect(statuses.slice(0, 120).every((status) => status === 200)).toBe(true);
    const refused = await fetchEnvironment(workspace, token);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ error: expect.stringMatching(/^Too many credential or environment/) });
  });

  it("takes GET only", async () => {
    const response = action();
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("GET, HEAD");
  });
});
