import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq, sql } from "drizzle-orm";
import { audit } from "../platform/audit.server";
import type { User } from "../auth/auth.server";
import { readCredential } from "../settings/credentials.server";
import { githubInstallations, users } from "../db/schema";
import { github } from "../providers/github.server";
import type { ParsedWebhook } from "./webhook.server";

export interface InstallationSummary {
  installationId: number;
  accountLogin: string;
  accountType: string;
  repositorySelection: string;
  repositoryCount: number | null;
  suspended: boolean;
}

export async function listInstallations(context: AppLoadContext, userId: string): Promise<InstallationSummary[]> {
  const rows = await context.db.query.githubInstallations.findMany({
    where: eq(githubInstallations.userId, userId),
    orderBy: (table, { asc }) => [asc(table.accountLogin)],
  });
  return rows.map((row) => ({
    installationId: row.installationId,
    accountLogin: row.accountLogin,
    accountType: row.accountType,
    repositorySelection: row.repositorySelection,
    repositoryCount: row.repositoryCount,
    suspended: row.suspendedAt !== null,
  }));
}

export type ConfirmResult =
  | { kind: "recorded"; accountLogin: string; repositoryCount: number }
  | { kind: "reauthenticate" }
  | { kind: "not-visible" };

/**
 * The setup URL's installation_id can be forged, so it is recorded only when GitHub, asked with the
 * user's own token, lists the installation among those the user can access.
 */
export async function confirmInstallation(
  request: Request,
  context: AppLoadContext,
  user: User,
  installationId: number,
): Promise<ConfirmResult> {
  const token = await readCredential(context, user.id, "github_user_token");
  if (!token) return { kind: "reauthenticate" };
  const client = github({ apiUrl: context.config.GITHUB_API_URL });
  const installation = (await client.listUserInstallations(token)).find((candidate) => candidate.id === installationId);
  if (!installation) return { kind: "not-visible" };
  const repositories = await client.listUserInstallationRepositories(token, installationId);
  const values = {
    accountLogin: installation.account?.login ?? "unknown",
    accountType: installation.account?.type ?? "User",
    repositorySelection: installation.repository_selection,
    repositoryCount: repositories.length,
    suspendedAt: installation.suspended_at ? new Date(installation.suspended_at) : null,
    updatedAt: new Date(),
  };
  await context.db
    .insert(githubInstallations)
    .values({ userId: user.id, installationId, ...values })
    .onConflictDoUpdate({ target: [githubInstallations.userId, githubInstallations.installationId], set: values });
  await audit(context, request, {
    userId: user.id,
    action: "installation.recorded",
    details: { installationId, account: values.accountLogin, repositories: repositories.length },
  });
  return { kind: "recorded", accountLogin: values.accountLogin, repositoryCount: repositories.length };
}

/** Applies a verified webhook to every user's record of that installation. */
export async function applyWebhook(request: Request, context: AppLoadContext, webhook: ParsedWebhook) {
  const installationId = webhook.installation.id;
  const where = eq(githubInstallations.installationId, installationId);
  const owners = await context.db.select({ userId: githubInstallations.userId }).from(githubInstallations).where(where);
  const record = (action: string, details: Record<string, unknown> = {}) =>
    Promise.all(
      owners.map(({ userId }) => audit(context, request, { userId, action, details: { installationId, ...details } })),
    );

  if (webhook.event === "installation_repositories") {
    const delta = webhook.repositoriesAdded.length - webhook.repositoriesRemoved.length;
    await context.db
      .update(githubInstallations)
      .set({
        repositorySelection: webhook.repositorySelection,
        repositoryCount: sql`max(0, coalesce(${githubInstallations.repositoryCount}, 0) + ${delta})`,
        updatedAt: new Date(),
      })
      .where(where);
    await record("installation.repositories_changed", {
      added: webhook.repositoriesAdded.map((repository) => repository.full_name ?? repository.name),
      removed: webhook.repositoriesRemoved.map((repository) => repository.full_name ?? repository.name),
    });
    return;
  }

  switch (webhook.action) {
    case "deleted":
      await record("installation.deleted");
      await context.db.delete(githubInstallations).where(where);
      return;
    case "suspend":
    case "unsuspend":
      await context.db
        .update(githubInstallations)
        .set({ suspendedAt: webhook.action === "suspend" ? new Date() : null, updatedAt: new Date() })
        .where(where);
      await record(webhook.action === "suspend" ? "installation.suspended" : "installation.unsuspended");
      return;
    case "created": {
      // The installer, when they have signed in here, gets the installation without waiting for the setup redirect.
      const installer = await context.db.query.users.findFirst({ where: eq(users.githubId, webhook.sender.id) });
      if (!installer) return;
      const values = {
        accountLogin: webhook.installation.account?.login ?? webhook.sender.login,
        accountType: webhook.installation.account?.type ?? "User",
        repositorySelection: webhook.installation.repositorySelection,
        repositoryCount: webhook.repositories.length,
        updatedAt: new Date(),
      };
      await context.db
        .insert(githubInstallations)
        .values({ userId: installer.id, installationId, ...values })
        .onConflictDoUpdate({ target: [githubInstallations.userId, githubInstallations.installationId], set: values });
      await audit(context, request, {
        userId: installer.id,
        action: "installation.created",
        details: { installationId, account: values.accountLogin },
      });
      return;
    }
    case "new_permissions_accepted":
      await record("installation.permissions_accepted");
      return;
  }
}

export async function userOwnsInstallation(context: AppLoadContext, userId: string, installationId: number) {
  const row = await context.db.query.githubInstallations.findFirst({
    where: and(eq(githubInstallations.userId, userId), eq(githubInstallations.installationId, installationId)),
  });
  return Boolean(row && row.suspendedAt === null);
}

/**
 * Whether the user can still see a repository on GitHub, asked with their own token (not the App's):
 * "reauthenticate" when that token has expired. A workspace without a repository needs no access.
 */
export async function repositoryAccess(
  context: AppLoadContext,
  userId: string,
  fullName: string | null,
): Promise<"ok" | "denied" | "reauthenticate"> {
  if (!fullName) return "ok";
  const token = await readCredential(context, userId, "github_user_token");
  if (!token) return "reauthenticate";
  const [owner, repo] = fullName.split("/");
  const repository = await github({ apiUrl: context.config.GITHUB_API_URL }).getRepository(token, owner!, repo!);
  return repository ? "ok" : "denied";
}
