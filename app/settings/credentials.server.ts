import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq } from "drizzle-orm";
import { currentKeyVersion, decrypt, encrypt } from "../security/crypto.server";
import { credentials, type CredentialKind } from "../db/schema";

export interface CredentialSummary {
  kind: CredentialKind;
  last4: string;
  updatedAt: Date;
}

/** Encrypts and stores a secret (replacing the previous one of that kind). Only the last 4 characters stay readable. */
export async function saveCredential(
  context: AppLoadContext,
  userId: string,
  kind: CredentialKind,
  secret: string,
  options: { expiresAt?: Date | null } = {},
) {
  const sealed = await encrypt(context.config, secret, userId);
  const now = new Date();
  const values = { ...sealed, last4: secret.slice(-4), expiresAt: options.expiresAt ?? null, updatedAt: now };
  await context.db
    .insert(credentials)
    .values({ userId, kind, ...values })
    .onConflictDoUpdate({ target: [credentials.userId, credentials.kind], set: values });
}

export async function removeCredential(
  context: AppLoadContext,
  userId: string,
  kind: CredentialKind,
): Promise<boolean> {
  const removed = await context.db
    .delete(credentials)
    .where(and(eq(credentials.userId, userId), eq(credentials.kind, kind)))
    .returning({ kind: credentials.kind });
  return removed.length > 0;
}

/** What the settings page may show: kind, last 4 characters and when it was saved. Never the secret. */
export async function listCredentials(context: AppLoadContext, userId: string): Promise<CredentialSummary[]> {
  return context.db
    .select({ kind: credentials.kind, last4: credentials.last4, updatedAt: credentials.updatedAt })
    .from(credentials)
    .where(eq(credentials.userId, userId));
}

/** The decrypted secret, for server-side calls only; null when absent or expired. Rows under a previous key are re-encrypted. */
export async function readCredential(
  context: Pick<AppLoadContext, "db" | "config">,
  userId: string,
  kind: CredentialKind,
): Promise<string | null> {
  const row = await context.db.query.credentials.findFirst({
    where: and(eq(credentials.userId, userId), eq(credentials.kind, kind)),
  });
  if (!row) return null;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return null;
  const secret = await decrypt(context.config, row, userId);
  if (row.keyVersion !== (await currentKeyVersion(context.config))) {
    await context.db
      .update(credentials)
      .set(await encrypt(context.config, secret, userId))
      .where(eq(credentials.id, row.id));
  }
  return secret;
}
