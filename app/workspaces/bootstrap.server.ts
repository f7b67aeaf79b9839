import { and, eq, gt, isNull, lte } from "drizzle-orm";
import type { Database } from "../platform/context.server";
import { bootstrapTokens, workspaces } from "../db/schema";

/**
 * One-time bootstrap tokens: 32 random bytes (base64url) put into a VM's cloud-init, redeemed once by its
 * agent for a callback token. Only the SHA-256 is stored, so a database read does not hand out tokens.
 */

export const BOOTSTRAP_TOKEN_TTL_MS = 15 * 60 * 1000;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** Mints a token for the workspace; the caller puts the plain token into cloud-init and forgets it. */
export async function mintBootstrapToken(
  db: Database,
  workspaceId: string,
  now = Date.now(),
): Promise<{ token: string; expiresAt: Date }> {
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const expiresAt = new Date(now + BOOTSTRAP_TOKEN_TTL_MS);
  await db.insert(bootstrapTokens).values({ tokenHash: await hashToken(token), workspaceId, expiresAt });
  return { token, expiresAt };
}

export type PeekResult =
  | { kind: "redeemable"; workspaceId: string; tokenHash: string }
  | { kind: "malformed" }
  | { kind: "unknown" }
  | { kind: "gone" };

/** Whether the token could be redeemed now, without using it up (so slow work can happen before redeeming). */
export async function peekBootstrapToken(db: Database, token: string, now = Date.now()): Promise<PeekResult> {
  if (!isWellFormedToken(token)) return { kind: "malformed" };
  const tokenHash = await hashToken(token);
  const row = await db.query.bootstrapTokens.findFirst({ where: eq(bootstrapTokens.tokenHash, tokenHash) });
  if (!row) return { kind: "unknown" };
  if (row.consumedAt !== null || row.expiresAt.getTime() <= now) return { kind: "gone" };
  return { kind: "redeemable", workspaceId: row.workspaceId, tokenHash };
}

/**
 * Uses the token up in one conditional UPDATE: of any number of concurrent redemptions exactly one gets
 * the workspace id back; the others get null.
 */
export async function consumeBootstrapToken(db: Database, tokenHash: string, now = Date.now()): Promise<string | null> {
  const [row] = await db
    .update(bootstrapTokens)
    .set({ consumedAt: new Date(now) })
    .where(
      and(
        eq(bootstrapTokens.tokenHash, tokenHash),
        isNull(bootstrapTokens.consumedAt),
        gt(bootstrapTokens.expiresAt, new Date(now)),
      ),
    )
    .returning({ workspaceId: bootstrapTokens.workspaceId });
  return row?.workspaceId ?? null;
}

/**
 * Whether this boot should run the repository's setup again although the volume says it ran ("Run setup
 * again"); the request is used up by the boot that is told, in one conditional UPDATE.
 */
export async function takeSetupRerun(db: Database, workspaceId: string): Promise<boolean> {
  const [row] = await db
    .update(workspaces)
    .set({ rerunSetup: false })
    .where(and(eq(workspaces.id, workspaceId), eq(workspaces.rerunSetup, true)))
    .returning({ id: workspaces.id });
  return Boolean(row);
}

/** Tokens of a workspace that is being stopped or re-provisioned can no longer be used. */
export async function revokeBootstrapTokens(db: Database, workspaceId: string, now = Date.now()) {
  await db
    .update(bootstrapTokens)
    .set({ consumedAt: new Date(now) })
    .where(and(eq(bootstrapTokens.workspaceId, workspaceId), isNull(bootstrapTokens.consumedAt)));
}

/** Deletes expired tokens; returns how many. */
export async function purgeExpiredBootstrapTokens(db: Database, now = Date.now()): Promise<number> {
  const removed = await db
    .delete(bootstrapTokens)
    .where(lte(bootstrapTokens.expiresAt, new Date(now)))
    .returning({ tokenHash: bootstrapTokens.tokenHash });
  return removed.length;
}
