import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "./schema";

describe("migrations", () => {
  it("create every table of the schema in an empty database", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name",
    ).all<{ name: string }>();
    expect(results.map((row) => row.name)).toEqual([
      "audit_log",
      "bootstrap_tokens",
      "credentials",
      "ended_sessions",
      "github_installations",
      "github_login_pins",
      "github_webhook_deliveries",
      "instance_settings",
      "notifications",
      "pending_permission_answers",
      "permission_answer_tokens",
      "push_subscriptions",
      "rate_limits",
      "smoke_tokens",
      "sweep_cursors",
      "tasks",
      "users",
      "workspace_env_vars",
      "workspace_events",
      "workspaces",
    ]);
  });

  it("enforce the schema's constraints: one row per GitHub id, and rows go with their user", async () => {
    const db = drizzle(env.DB, { schema });
    const [user] = await db.insert(schema.users).values({ githubId: 42, login: "octocat" }).returning();
    await expect(db.insert(schema.users).values({ githubId: 42, login: "again" })).rejects.toMatchObject({
      cause: expect.objectContaining({ message: expect.stringMatching(/UNIQUE constraint failed: users.github_id/) }),
    });

    const [workspace] = await db
      .insert(schema.workspaces)
      .values({ userId: user!.id, name: "demo", size: "small", serverType: "cx23", location: "fsn1" })
      .returning();
    expect(workspace).toMatchObject({ status: "creating", idleTimeoutSeconds: 1800, agentCli: "none" });
    expect(workspace!.createdAt).toBeInstanceOf(Date);

    await db.insert(schema.workspaceEvents).values({ workspaceId: workspace!.id, step: "create", status: "started" });
    await db.delete(schema.users).where(eq(schema.users.id, user!.id));
    expect(await db.select().from(schema.workspaces)).toEqual([]);
    expect(await db.select().from(schema.workspaceEvents)).toEqual([]);
  });
});
