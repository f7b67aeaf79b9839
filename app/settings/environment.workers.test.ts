import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { auditLog, githubInstallations, users, workspaceEnvVars } from "../db/schema";
import { currentKeyVersion, encrypt } from "../security/crypto.server";
import { saveCredential } from "./credentials.server";
import { ENV_VARS_PER_USER } from "./environment-schema";
import {
  environmentAction,
  listEnvironmentVariables,
  removeEnvironmentVariable,
  resolveWorkspaceEnvironment,
  saveEnvironmentVariable,
} from "./environment.server";
import { testContext } from "../../tests/support/context.workers";

async function newUser(login = `user-${crypto.randomUUID().slice(0, 8)}`) {
  const { context } = testContext();
  const [user] = await context.db
    .insert(users)
    .values({ githubId: Math.floor(Math.random() * 1e9), login })
    .returning();
  return user!;
}

const variable = (name: string, value: string, options: { secret?: boolean; scope?: string } = {}) => ({
  name,
  value,
  secret: options.secret ?? true,
  scope: options.scope ?? "",
});

afterEach(() => vi.restoreAllMocks());

describe("stored workspace variables", () => {
  it("are encrypted in D1; the list shows a plain value, and a secret only by its last 4", async () => {
    const { context } = testContext();
    const user = await newUser();
    await saveEnvironmentVariable(context, user.id, variable("TOKEN", "super-secret-value-wxyz"));
    await saveEnvironmentVariable(context, user.id, variable("SHORT", "abc123"));
    await saveEnvironmentVariable(context, user.id, variable("GREETING", "hello there", { secret: false }));

    const { results } = await env.DB.prepare("SELECT * FROM workspace_env_vars WHERE user_id = ?").bind(user.id).all();
    expect(JSON.stringify(results)).not.toContain("super-secret");
    expect(JSON.stringify(results)).not.toContain("hello there");

    const listed = await listEnvironmentVariables(context, user.id);
    expect(listed.map(({ name, secret, value, last4, scope }) => ({ name, secret, value, last4, scope }))).toEqual([
      { name: "GREETING", secret: false, value: "hello there", last4: "", scope: "" },
      { name: "SHORT", secret: true, value: null, last4: "", scope: "" },
      { name: "TOKEN", secret: true, value: null, last4: "wxyz", scope: "" },
    ]);
    expect(JSON.stringify(listed)).not.toContain("super-secret");
    expect(JSON.stringify(listed)).not.toContain("abc123");
  });

  it("are replaced by name within a scope, removable only by their owner", async () => {
    const { context } = testContext();
    const alice = await newUser();
    const mallory = await newUser();
    expect(await saveEnvironmentVariable(context, alice.id, variable("TOKEN", "first-value-1111"))).toEqual({
      kind: "saved",
      created: true,
    });
    expect(await saveEnvironmentVariable(context, alice.id, variable("TOKEN", "plain now", { secret: false }))).toEqual(
      { kind: "saved", created: false },
    );
    await saveEnvironmentVariable(context, alice.id, variable("TOKEN", "scoped", { scope: "sam-dev/hello-world" }));
    const listed = await listEnvironmentVariables(context, alice.id);
    expect(listed.map(({ scope, value }) => ({ scope, value }))).toEqual([
      { scope: "", value: "plain now" },
      { scope: "sam-dev/hello-world", value: null },
    ]);

    expect(await removeEnvironmentVariable(context, mallory.id, listed[0]!.id)).toBeNull();
    expect(await listEnvironmentVariables(context, mallory.id)).toEqual([]);
    expect(await removeEnvironmentVariable(context, alice.id, listed[0]!.id)).toEqual({ name: "TOKEN", scope: "" });
    expect((await listEnvironmentVariables(context, alice.id)).map((row) => row.scope)).toEqual([
      "sam-dev/hello-world",
    ]);
  });

  it(`stop at ${ENV_VARS_PER_USER} per user, while an existing one can still be replaced`, async () => {
    const { context } = testContext();
    const user = await newUser();
    const sealed = await encrypt(context.config, "v", user.id);
    const rows = Array.from({ length: ENV_VARS_PER_USER }, (_, index) => ({
      userId: user.id,
      name: `VAR_${index}`,
      scope: "",
      ...sealed,
      last4: "",
    }));
    // D1 takes at most 100 bound values per statement.
    for (let start = 0; start < rows.length; start += 10)
      await context.db.insert(workspaceEnvVars).values(rows.slice(start, start + 10));
    expect(await saveEnvironmentVariable(context, user.id, variable("ONE_MORE", "x"))).toEqual({ kind: "limit" });
    expect(await saveEnvironmentVariable(context, user.id, variable("VAR_7", "replaced"))).toEqual({
      kind: "saved",
      created: false,
    });
    expect(await listEnvironmentVariables(context, user.id)).toHaveLength(ENV_VARS_PER_USER);
  });

  it("written under the previous encryption key stay readable and are re-encrypted under the current one", async () => {
    const { context } = testContext();
    const user = await newUser();
    await saveEnvironmentVariable(context, user.id, variable("OLD", "from-before-rotation"));
    const key = new Uint8Array(32);
    crypto.getRandomValues(key);
    const rotated = {
      ...context,
      config: {
        ...context.config,
        ENCRYPTION_KEY: btoa(String.fromCharCode(...key)),
        ENCRYPTION_KEY_PREVIOUS: context.config.ENCRYPTION_KEY,
      },
    };
    expect(await resolveWorkspaceEnvironment(rotated, { userId: user.id, repository: null })).toEqual([
      { name: "OLD", value: "from-before-rotation" },
    ]);
    const row = await context.db.query.workspaceEnvVars.findFirst({ where: eq(workspaceEnvVars.userId, user.id) });
    expect(row!.keyVersion).toBe(await currentKeyVersion(rotated.config));
  });

  it("resolve for a workspace: a repository's variable wins over the one for all repositories, names sorted", async () => {
    const { context } = testContext();
    const user = await newUser();
    await saveEnvironmentVariable(context, user.id, variable("b", "all"));
    await saveEnvironmentVariable(context, user.id, variable("B", "all"));
    await saveEnvironmentVariable(context, user.id, variable("B", "repo", { scope: "Sam-Dev/Hello-World" }));
    await saveEnvironmentVariable(context, user.id, variable("A", "other", { scope: "sam-dev/other" }));
    expect(await resolveWorkspaceEnvironment(context, { userId: user.id, repository: "sam-dev/hello-world" })).toEqual([
      { name: "B", value: "repo" },
      { name: "b", value: "all" },
    ]);
  });
});

describe("Settings → Environment", () => {
  const post = (fields: Record<string, string>) =>
    new Request("http://localhost/settings/environment", {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { Origin: "http://localhost:8788" },
    });
  /** A user with an installation, whose GitHub token lists the given repositories. */
  async function userWithRepositories(repositories: string[]) {
    const { context } = testContext();
    const user = await newUser();
    await saveCredential(context, user.id, "github_user_token", "ghu_environment_test");
    await context.db.insert(githubInstallations).values({
      userId: user.id,
      installationId: 4242,
      accountLogin: "sam-dev",
      accountType: "User",
      repositorySelection: "all",
    });
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (!url.pathname.endsWith("/user/installations/4242/repositories")) return new Response("{}", { status: 404 });
      return Response.json({
        total_count: repositories.length,
        repositories: repositories.map((fullName, index) => ({
          id: index + 1,
          name: fullName.split("/")[1],
          full_name: fullName,
          owner: { login: fullName.split("/")[0], id: 1 },
          private: false,
          html_url: `https://github.test/${fullName}`,
        })),
      });
    });
    return { context, user };
  }
  const resultOf = async (response: unknown) =>
    JSON.stringify(response instanceof Response ? await response.text() : response);

  it("saves a secret for a repository the user can see, under its exact name, audited without the value", async () => {
    const { context, user } = await userWithRepositories(["sam-dev/hello-world"]);
    const response = await environmentAction(
      post({
        intent: "save-variable",
        name: "TOKEN",
        value: "secret-value-9876",
        secret: "on",
        scope: "SAM-DEV/hello-world",
      }),
      context,
      user,
    );
    expect(response, JSON.stringify(response)).toBeInstanceOf(Response);
    expect((response as Response).status).toBe(302);
    expect((response as Response).headers.get("Location")).toBe("/settings/environment");
    const [saved] = await listEnvironmentVariables(context, user.id);
    expect(saved).toMatchObject({ name: "TOKEN", scope: "sam-dev/hello-world", secret: true, last4: "9876" });
    const audited = await context.db.query.auditLog.findMany({
      where: and(eq(auditLog.userId, user.id), eq(auditLog.action, "environment.saved")),
    });
    expect(audited.map((row) => row.details)).toEqual([
      { name: "TOKEN", scope: "sam-dev/hello-world", secret: true, created: true },
    ]);
    expect(JSON.stringify(audited)).not.toContain("secret-value");
  });

  it("answers a refused name with 400 and the reason beside the field, without echoing the secret", async () => {
    const { context, user } = await userWithRepositories([]);
    const response = await environmentAction(
      post({ intent: "save-variable", name: "SAM_X", value: "do-not-echo-me", secret: "on" }),
      context,
      user,
    );
    expect((response as { init: ResponseInit }).init?.status).toBe(400);
    const body = await resultOf(response);
    expect(body).toContain("SAM_X cannot be used");
    expect(body).not.toContain("do-not-echo-me");
    expect(await listEnvironmentVariables(context, user.id)).toEqual([]);
  });

  it("refuses a repository the user's installations cannot see, beside the scope", async () => {
    const { context, user } = await userWithRepositories(["sam-dev/hello-world"]);
    const response = await environmentAction(
      post({ intent: "save-variable", name: "TOKEN", value: "x", scope: "sam-other/other-repo" }),
      context,
      user,
    );
    expect((response as { init: ResponseInit }).init?.status).toBe(400);
    expect(await resultOf(response)).toContain("The GitHub App cannot see this repository");
    expect(await listEnvironmentVariables(context, user.id)).toEqual([]);
  });

  it("deletes the user's own variable (audited), and leaves another user's alone", async () => {
    const { context, user } = await userWithRepositories([]);
    const stranger = await newUser();
    await saveEnvironmentVariable(context, stranger.id, variable("THEIRS", "x"));
    const [theirs] = await listEnvironmentVariables(context, stranger.id);
    await saveEnvironmentVariable(context, user.id, variable("MINE", "x"));
    const [mine] = await listEnvironmentVariables(context, user.id);

    await environmentAction(post({ intent: "remove-variable", id: theirs!.id }), context, user);
    expect(await listEnvironmentVariables(context, stranger.id)).toHaveLength(1);
    const removed = await environmentAction(post({ intent: "remove-variable", id: mine!.id }), context, user);
    expect((removed as Response).status).toBe(302);
    expect(await listEnvironmentVariables(context, user.id)).toEqual([]);
    const audited = await context.db.query.auditLog.findMany({
      where: and(eq(auditLog.userId, user.id), eq(auditLog.action, "environment.removed")),
    });
    expect(audited.map((row) => row.details)).toEqual([{ name: "MINE", scope: "" }]);
  });
});
