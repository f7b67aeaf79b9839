import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq, gt, inArray, lt } from "drizzle-orm";
import { isLoginAllowed } from "../admin/policy.server";
import { getSession } from "../auth/session.server";
import { endedSessions, LIVE_STATUSES, users, workspaces } from "../db/schema";
import { audit } from "../platform/audit.server";
import type { Database } from "../platform/context.server";
import { finishStop } from "./teardown.server";
import { claimStop, recordEvent, stopReasons, type Workspace } from "./workspaces.server";

/**
 * When access ends, what it opened ends with it (docs/security.md): a user taken off the allow-list loses
 * their running workspaces and every callback token of them; a browser that signs out loses its terminal
 * tokens, and the agents drop the terminals opened with them.
 */

/** How long a signed-out session is listed to the agents; each agent keeps what it has seen for its life. */
export const ENDED_SESSION_WINDOW_MS = 60 * 60 * 1000;

/** The `sid` claim of a terminal token: SHA-256 of the browser's session id, hex (never the id itself). */
export async function sessionHash(sessionId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`sam-session:${sessionId}`));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Records that a browser session signed out, so the agents refuse and drop its terminal tokens. */
export async function endSession(db: Database, userId: string, sessionId: string, now = Date.now()) {
  await db
    .insert(endedSessions)
    .values({ sessionHash: await sessionHash(sessionId), userId, endedAt: new Date(now) })
    .onConflictDoNothing();
  // The list only needs to outlive the agents that might not have heard yet; older rows are noise.
  await db.delete(endedSessions).where(lt(endedSessions.endedAt, new Date(now - 24 * ENDED_SESSION_WINDOW_MS)));
}

/** For sign-out, before the session is destroyed: ends the terminal tokens this browser was given. */
export async function endBrowserSession(request: Request, context: AppLoadContext) {
  const session = await getSession(request, context);
  const userId = session.get("userId");
  if (session.id && userId) await endSession(context.db, userId, session.id);
}

/** The owner's sessions that signed out recently (their hashes), for a heartbeat's answer. */
export async function recentlyEndedSessions(db: Database, userId: string, now = Date.now()): Promise<string[]> {
  const rows = await db
    .select({ sessionHash: endedSessions.sessionHash })
    .from(endedSessions)
    .where(and(eq(endedSessions.userId, userId), gt(endedSessions.endedAt, new Date(now - ENDED_SESSION_WINDOW_MS))));
  return rows.map((row) => row.sessionHash);
}

/**
 * Ends a user's access to their workspaces: every live workspace's callback tokens are revoked at once (the
 * agent's next heartbeat is refused, and it drops its terminals), and running or creating ones are stopped.
 * The cloud work runs after the response. Returns the workspaces it stopped.
 */
export async function endAccess(context: AppLoadContext, userId: string, now = Date.now()): Promise<Workspace[]> {
  const live = await context.db
    .update(workspaces)
    .set({ callbacksRevokedAt: new Date(now), updatedAt: new Date(now) })
    .where(and(eq(workspaces.userId, userId), inArray(workspaces.status, [...LIVE_STATUSES])))
    .returning();
  const stopped: Workspace[] = [];
  for (const workspace of live) {
    const claimed = await claimStop(context, { id: workspace.id }, stopReasons.access);
    if (!claimed) {
      await recordEvent(
        context.db,
        workspace.id,
        "access",
        "info",
        "The owner's access ended: its tokens were revoked",
      );
      continue;
    }
    stopped.push(claimed);
    await audit(context, null, {
      userId,
      action: "workspace.stopped",
      details: { workspaceId: claimed.id, reason: "access_ended" },
    });
    context.cloudflare.ctx.waitUntil(finishStop(context, claimed));
  }
  return stopped;
}

/** After the allow-list changed: ends the access of every user with live workspaces who may no longer sign in. */
export async function endAccessOfDisallowedUsers(context: AppLoadContext): Promise<string[]> {
  const owners = await context.db
    .selectDistinct({ id: users.id, login: users.login, githubId: users.githubId })
    .from(users)
    .innerJoin(workspaces, eq(workspaces.userId, users.id))
    .where(inArray(workspaces.status, [...LIVE_STATUSES]));
  const ended: string[] = [];
  for (const owner of owners) {
    if (await isLoginAllowed(context, { login: owner.login, githubId: owner.githubId })) continue;
    await endAccess(context, owner.id);
    ended.push(owner.id);
  }
  return ended;
}
