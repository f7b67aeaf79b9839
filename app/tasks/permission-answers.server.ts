import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq, gt, isNull } from "drizzle-orm";
import { pendingPermissionAnswers, permissionAnswerTokens, workspaces } from "../db/schema";
import { agentCallToken, postToAgent, type AgentPoster } from "./agent-call.server";

/**
 * One-time answers to a waiting permission request, carried by a notification's Allow / Deny buttons. Each
 * token is 32 random bytes (base64url); only its SHA-256 is stored, bound to the user, workspace, chat
 * session, request and decision, for an hour. Redeeming it is one conditional UPDATE, so a token answers
 * once; the request's other token is used up with it.
 */

export const PERMISSION_ANSWER_TTL_MS = 60 * 60 * 1000;
export type PermissionDecision = "allow" | "deny";

export interface PermissionRequestRef {
  userId: string;
  workspaceId: string;
  chatSessionId: string;
  requestId: string;
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

export async function hashAnswerToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export const isAnswerToken = (value: string | undefined): value is string =>
  typeof value === "string" && /^[A-Za-z0-9_-]{43}$/.test(value);

/** Mints an Allow and a Deny token for the request; the caller puts them in the notification's actions. */
export async function mintPermissionAnswerTokens(
  context: Pick<AppLoadContext, "db">,
  ref: PermissionRequestRef,
  now = Date.now(),
): Promise<Record<PermissionDecision, string>> {
  const tokens = {} as Record<PermissionDecision, string>;
  for (const decision of ["allow", "deny"] as const) {
    const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await context.db.insert(permissionAnswerTokens).values({
      tokenHash: await hashAnswerToken(token),
      ...ref,
      decision,
      expiresAt: new Date(now + PERMISSION_ANSWER_TTL_MS),
    });
    tokens[decision] = token;
  }
  return tokens;
}

export const permissionAnswerPath = (token: string) => `/api/permission-answers/${token}`;

export type RedeemResult =
  | { kind: "delivered"; decision: PermissionDecision }
  | { kind: "queued"; decision: PermissionDecision; why: string }
  | { kind: "gone"; why: string }
  | { kind: "unknown" };

/**
 * Uses the token up and hands its answer to the workspace's agent at once. An agent that cannot be reached
 * (or refuses) leaves the answer in pendingPermissionAnswers, for it to take when it can.
 */
export async function redeemPermissionAnswer(
  context: Pick<AppLoadContext, "db" | "config">,
  token: string,
  options: { now?: number; post?: AgentPoster } = {},
): Promise<RedeemResult> {
  if (!isAnswerToken(token)) return { kind: "unknown" };
  const now = options.now ?? Date.now();
  const tokenHash = await hashAnswerToken(token);
  const [claimed] = await context.db
    .update(permissionAnswerTokens)
    .set({ consumedAt: new Date(now) })
    .where(
      and(
        eq(permissionAnswerTokens.tokenHash, tokenHash),
        isNull(permissionAnswerTokens.consumedAt),
        gt(permissionAnswerTokens.expiresAt, new Date(now)),
      ),
    )
    .returning();
  if (!claimed) {
    const row = await context.db.query.permissionAnswerTokens.findFirst({
      where: eq(permissionAnswerTokens.tokenHash, tokenHash),
    });
    if (!row) return { kind: "unknown" };
    return {
      kind: "gone",
      why: row.consumedAt
        ? "This request has already been answered."
        : "This answer has expired (an hour after the request); open the chat to answer.",
    };
  }
  // The request's other button answers nothing now.
  await context.db
    .update(permissionAnswerTokens)
    .set({ consumedAt: new Date(now) })
    .where(
      and(
        eq(permissionAnswerTokens.workspaceId, claimed.workspaceId),
        eq(permissionAnswerTokens.chatSessionId, claimed.chatSessionId),
        eq(permissionAnswerTokens.requestId, claimed.requestId),
        isNull(permissionAnswerTokens.consumedAt),
      ),
    );
  const decision = claimed.decision;
  const workspace = await context.db.query.workspaces.findFirst({
    columns: { id: true, userId: true, status: true },
    where: and(eq(workspaces.id, claimed.workspaceId), eq(workspaces.userId, claimed.userId)),
  });
  if (!workspace) return { kind: "gone", why: "The workspace no longer exists." };
  const post = options.post ?? postToAgent;
  let why: string;
  try {
    const bearer = await agentCallToken(context.config, workspace);
    const path = `/api/chats/${encodeURIComponent(claimed.chatSessionId)}/permissions/${encodeURIComponent(claimed.requestId)}`;
    const answer = await post(context.config, workspace.id, path, { decision }, bearer);
    if (answer.status >= 200 && answer.status < 300) return { kind: "delivered", decision };
    // The agent knows the request and says it is no longer waiting (answered in the chat, turn over).
    if (answer.status === 404 || answer.status === 409)
      return { kind: "gone", why: `The request is no longer waiting${agentError(answer.body) || "."}` };
    why = `the workspace answered ${answer.status}${agentError(answer.body)}`;
  } catch (error) {
    why = `the workspace could not be reached (${error instanceof Error ? error.message : String(error)})`;
  }
  await context.db.insert(pendingPermissionAnswers).values({
    workspaceId: workspace.id,
    chatSessionId: claimed.chatSessionId,
    requestId: claimed.requestId,
    decision,
  });
  return { kind: "queued", decision, why };
}

function agentError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === "string" ? `: ${parsed.error}` : "";
  } catch {
    return "";
  }
}
