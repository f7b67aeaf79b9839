import { parseWithZod } from "@conform-to/zod/v4";
import { data, type AppLoadContext } from "@remix-run/cloudflare";
import { and, asc, count, eq, or, sql } from "drizzle-orm";
import type { User } from "../auth/auth.server";
import { workspaceEnvVars } from "../db/schema";
import { listInstallations } from "../github/installations.server";
import { audit } from "../platform/audit.server";
import { readForm } from "../platform/responses.server";
import { redirectWithToast } from "../platform/toast.server";
import { github } from "../providers/github.server";
import { ProviderError } from "../providers/http.server";
import { currentKeyVersion, decrypt, encrypt } from "../security/crypto.server";
import { readCredential } from "./credentials.server";
import {
  ALL_REPOSITORIES,
  ENV_VARS_PER_USER,
  removeEnvironmentVariableSchema,
  saveEnvironmentVariableSchema,
  type EnvironmentVariableForm,
} from "./environment-schema";

/**
 * Workspace environment variables: the user's own values, given to their workspaces on purpose. Stored like
 * the credentials (AES-256-GCM, the user id as additional data, a key version for rotation), secrets and
 * plain values alike; a secret's value never goes back to a browser, only to the workspace's agent.
 */

type Deps = Pick<AppLoadContext, "db" | "config">;
type Row = typeof workspaceEnvVars.$inferSelect;

export interface EnvironmentVariableSummary {
  id: string;
  name: string;
  /** "" for every repository, else the repository's `owner/name`. */
  scope: string;
  secret: boolean;
  /** A plain variable's value; null for a secret, which the page shows only by `last4`. */
  value: string | null;
  /** A secret's last 4 characters, or "" when it is too short to show any of it. */
  last4: string;
  updatedAt: Date;
}

/** A secret shorter than this shows none of its characters: 4 of 8 would give half of it away. */
const SHOW_LAST4_FROM_LENGTH = 12;

/** Decrypts a row; a row written under the previous key is re-encrypted under the current one. */
async function openRow(deps: Deps, row: Row): Promise<string> {
  const value = await decrypt(deps.config, row, row.userId);
  if (row.keyVersion !== (await currentKeyVersion(deps.config))) {
    await deps.db
      .update(workspaceEnvVars)
      .set(await encrypt(deps.config, value, row.userId))
      .where(and(eq(workspaceEnvVars.id, row.id), eq(workspaceEnvVars.userId, row.userId)));
  }
  return value;
}

/** What the settings page may show, sorted by scope then name: a plain variable's value, a secret's last 4 only. */
export async function listEnvironmentVariables(deps: Deps, userId: string): Promise<EnvironmentVariableSummary[]> {
  const rows = await deps.db
    .select()
    .from(workspaceEnvVars)
    .where(eq(workspaceEnvVars.userId, userId))
    .orderBy(asc(workspaceEnvVars.scope), asc(workspaceEnvVars.name));
  return Promise.all(
    rows.map(async (row) => ({
      id: row.id,
      name: row.name,
      scope: row.scope,
      secret: row.secret,
      value: row.secret ? null : await openRow(deps, row),
      last4: row.secret ? row.last4 : "",
      updatedAt: row.updatedAt,
    })),
  );
}

export type SaveResult = { kind: "saved"; created: boolean } | { kind: "limit" };

/**
 * Adds a variable, or replaces the value, secrecy and time of the one with the same scope and name. A new
 * one past ENV_VARS_PER_USER is refused; the scope must already have been checked (`reachableRepositories`).
 */
export async function saveEnvironmentVariable(
  deps: Deps,
  userId: string,
  input: Pick<EnvironmentVariableForm, "name" | "value" | "secret" | "scope">,
): Promise<SaveResult> {
  const { name, value, secret, scope } = input;
  const ofUser = eq(workspaceEnvVars.userId, userId);
  const existing = await deps.db.query.workspaceEnvVars.findFirst({
    columns: { id: true },
    where: and(ofUser, eq(workspaceEnvVars.scope, scope), eq(workspaceEnvVars.name, name)),
  });
  const countOwn = async () =>
    (await deps.db.select({ total: count() }).from(workspaceEnvVars).where(ofUser))[0]?.total ?? 0;
  if (!existing && (await countOwn()) >= ENV_VARS_PER_USER) return { kind: "limit" };

  const values = {
    ...(await encrypt(deps.config, value, userId)),
    secret,
    last4: value.length >= SHOW_LAST4_FROM_LENGTH ? value.slice(-4) : "",
    updatedAt: new Date(),
  };
  const [row] = await deps.db
    .insert(workspaceEnvVars)
    .values({ userId, scope, name, ...values })
    .onConflictDoUpdate({
      target: [workspaceEnvVars.userId, workspaceEnvVars.scope, workspaceEnvVars.name],
      set: values,
    })
    .returning({ id: workspaceEnvVars.id });
  // Two adds racing past the count above: the later one steps back.
  if (!existing && (await countOwn()) > ENV_VARS_PER_USER) {
    await deps.db.delete(workspaceEnvVars).where(and(ofUser, eq(workspaceEnvVars.id, row!.id)));
    return { kind: "limit" };
  }
  return { kind: "saved", created: !existing };
}

/** Removes one of the user's variables; null when it is not theirs or already gone. */
export async function removeEnvironmentVariable(
  deps: Pick<AppLoadContext, "db">,
  userId: string,
  id: string,
): Promise<{ name: string; scope: string } | null> {
  const [removed] = await deps.db
    .delete(workspaceEnvVars)
    .where(and(eq(workspaceEnvVars.userId, userId), eq(workspaceEnvVars.id, id)))
    .returning({ name: workspaceEnvVars.name, scope: workspaceEnvVars.scope });
  return removed ?? null;
}

/**
 * The variables a workspace gets: the owner's variables for every repository, overridden by those scoped to
 * the workspace's repository (same name: the repository's wins), sorted by name. Decrypted: for the
 * workspace's agent only.
 */
export async function resolveWorkspaceEnvironment(
  deps: Deps,
  { userId, repository }: { userId: string; repository: string | null },
): Promise<Array<{ name: string; value: string }>> {
  // GitHub treats owner/name case-insensitively; a scope saved as listed matches a workspace made as typed.
  const repositoryScope = repository ? sql`lower(${workspaceEnvVars.scope}) = lower(${repository})` : sql`0`;
  const rows = await deps.db
    .select()
    .from(workspaceEnvVars)
    .where(and(eq(workspaceEnvVars.userId, userId), or(eq(workspaceEnvVars.scope, ALL_REPOSITORIES), repositoryScope)));
  const chosen = new Map<string, Row>();
  for (const row of rows) {
    if (row.scope === ALL_REPOSITORIES && chosen.has(row.name)) continue;
    chosen.set(row.name, row);
  }
  const names = [...chosen.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(names.map(async (name) => ({ name, value: await openRow(deps, chosen.get(name)!) })));
}

export type ReachableRepositories =
  | { kind: "ok"; repositories: string[] }
  | { kind: "sign-in" }
  | { kind: "unavailable" };

/**
 * The repositories the user's GitHub App installations let them see (the create form's list), for the scope
 * choice and its check. Asked with the user's own GitHub token: "sign-in" when it has expired.
 */
export async function reachableRepositories(context: AppLoadContext, userId: string): Promise<ReachableRepositories> {
  const [token, installations] = await Promise.all([
    readCredential(context, userId, "github_user_token"),
    listInstallations(context, userId),
  ]);
  const active = installations.filter((installation) => !installation.suspended);
  if (active.length === 0) return { kind: "ok", repositories: [] };
  if (!token) return { kind: "sign-in" };
  const client = github({ apiUrl: context.config.GITHUB_API_URL });
  try {
    const lists = await Promise.all(
      active.map(({ installationId }) =>
        client.listUserInstallationRepositories(token, installationId).catch((error: unknown) => {
          // An installation the user can no longer see offers nothing, rather than hiding the others.
          if (error instanceof ProviderError && (error.status === 403 || error.status === 404)) return [];
          throw error;
        }),
      ),
    );
    // Archived repositories cannot be cloned into a workspace, so they are no scope either.
    const names = new Set(
      lists
        .flat()
        .filter((repository) => !repository.archived)
        .map((repository) => repository.full_name),
    );
    return { kind: "ok", repositories: [...names].sort((a, b) => a.localeCompare(b)) };
  } catch (error) {
    if (error instanceof ProviderError && error.status === 401) return { kind: "sign-in" };
    return { kind: "unavailable" };
  }
}

// ---- Settings → Environment ---------------------------------------------------------------------------

const SIGN_IN_AGAIN = "SAM cannot see your repositories any more: sign out and sign in again.";
const GITHUB_UNAVAILABLE =
  "GitHub could not be reached to list your repositories; nothing was saved. Try again in a moment.";

const scopeLabel = (scope: string) => (scope === ALL_REPOSITORIES ? "all repositories" : scope);

/** The page's data: the variables (secrets masked) and the repositories a variable may be scoped to. */
export async function loadEnvironmentSettings(context: AppLoadContext, user: User) {
  const [variables, reachable] = await Promise.all([
    listEnvironmentVariables(context, user.id),
    reachableRepositories(context, user.id),
  ]);
  return {
    variables: variables.map((variable) => ({ ...variable, updatedAt: variable.updatedAt.toISOString() })),
    repositories: reachable.kind === "ok" ? reachable.repositories : [],
    repositoriesProblem:
      reachable.kind === "sign-in" ? SIGN_IN_AGAIN : reachable.kind === "unavailable" ? GITHUB_UNAVAILABLE : null,
    limit: ENV_VARS_PER_USER,
  };
}

export async function environmentAction(request: Request, context: AppLoadContext, user: User) {
  const formData = await readForm(request);
  const intent = formData.get("intent");

  if (intent === "save-variable") {
    const submission = parseWithZod(formData, { schema: saveEnvironmentVariableSchema });
    // A secret's value is never sent back, not even to the browser that typed it.
    const hideFields = formData.get("secret") ? ["value"] : [];
    const refuse = (status: number, problems: { fieldErrors?: Record<string, string[]>; formErrors?: string[] }) =>
      data({ form: "save", result: submission.reply({ ...problems, hideFields }) }, { status });
    if (submission.status !== "success") return refuse(400, {});
    const variable = submission.value;
    if (variable.scope !== ALL_REPOSITORIES) {
      const reachable = await reachableRepositories(context, user.id);
      if (reachable.kind === "sign-in") return refuse(400, { formErrors: [SIGN_IN_AGAIN] });
      if (reachable.kind === "unavailable") return refuse(502, { formErrors: [GITHUB_UNAVAILABLE] });
      const repository = reachable.repositories.find(
        (candidate) => candidate.toLowerCase() === variable.scope.toLowerCase(),
      );
      if (!repository)
        return refuse(400, {
          fieldErrors: {
            scope: [
              "The GitHub App cannot see this repository: choose one from the list, or add it to the installation in Settings.",
            ],
          },
        });
      variable.scope = repository;
    }
    const saved = await saveEnvironmentVariable(context, user.id, variable);
    if (saved.kind === "limit")
      return refuse(400, {
        formErrors: [`You have ${ENV_VARS_PER_USER} variables, the most SAM keeps for one person: remove one first.`],
      });
    await audit(context, request, {
      userId: user.id,
      action: "environment.saved",
      details: { name: variable.name, scope: variable.scope, secret: variable.secret, created: saved.created },
    });
    return redirectWithToast(request, context, "/settings/environment", {
      kind: "success",
      title: `${variable.name} saved`,
      description: `Given to your workspaces of ${scopeLabel(variable.scope)} from their next start.`,
    });
  }

  if (intent === "remove-variable") {
    const submission = parseWithZod(formData, { schema: removeEnvironmentVariableSchema });
    if (submission.status !== "success") return data({ form: "remove", result: submission.reply() }, { status: 400 });
    const removed = await removeEnvironmentVariable(context, user.id, submission.value.id);
    if (!removed)
      return redirectWithToast(request, context, "/settings/environment", {
        kind: "info",
        title: "That variable was already removed",
      });
    await audit(context, request, { userId: user.id, action: "environment.removed", details: removed });
    return redirectWithToast(request, context, "/settings/environment", {
      kind: "info",
      title: `${removed.name} removed`,
      description: `Workspaces of ${scopeLabel(removed.scope)} no longer get it from their next start.`,
    });
  }

  throw new Response("Unknown form", { status: 400 });
}
