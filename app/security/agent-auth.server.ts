import type { AppLoadContext } from "@remix-run/cloudflare";
import { errors, importSPKI, jwtVerify, type CryptoKey as JoseKey, type JWTPayload } from "jose";
import type { Config } from "../platform/config.server";
import type { z } from "zod";
import { JWT_ALG, signToken } from "./jwt.server";
import { methodNotAllowed } from "../platform/responses.server";
import { getWorkspaceForAgent, isWorkspaceId, type Workspace } from "../workspaces/workspaces.server";

/**
 * Callback tokens: what a workspace's agent presents on every call to the control plane after bootstrap.
 * RS256, audience `workspace-callback`, subject and `workspace` claim the workspace id, about an hour of
 * life, refreshed with every heartbeat. Verified against our own public keys (current and previous).
 *
 * A token is bound to one run of the workspace (`run`: the run's `startedAt` in ms) and, once known, to its
 * server (`server`): a token copied from a VM must not outlive that VM. It is accepted only while the same
 * run is creating, running or stopping (stopping, so a last flush or push can finish), and the refresh
 * chain ends at the run's maximum lifetime plus STOPPING_GRACE_SECONDS. See docs/security.md.
 */
export const CALLBACK_AUDIENCE = "workspace-callback";
export const CALLBACK_TOKEN_SECONDS = 60 * 60;
/** How long past its maximum lifetime a run's agent may still call back: the stop that follows needs it. */
export const STOPPING_GRACE_SECONDS = 15 * 60;
/** The statuses in which a run's callback token is honoured. */
const CALLBACK_STATUSES: readonly Workspace["status"][] = ["creating", "running", "stopping"];

export type CallbackRun = Pick<Workspace, "id" | "startedAt" | "serverId" | "maxLifetimeSeconds">;

/** The latest moment (ms) any callback token of this run may be valid. */
export function callbackChainEnd(run: Pick<Workspace, "startedAt" | "maxLifetimeSeconds">): number | null {
  if (!run.startedAt) return null;
  return run.startedAt.getTime() + (run.maxLifetimeSeconds + STOPPING_GRACE_SECONDS) * 1000;
}

/**
 * A callback token for the workspace's current run, or null when the run has none left to give (no run,
 * or its chain has reached the run's maximum lifetime).
 */
export async function issueCallbackToken(config: Config, run: CallbackRun, now = Date.now()) {
  const chainEnd = callbackChainEnd(run);
  if (chainEnd === null) return null;
  const ttlSeconds = Math.min(CALLBACK_TOKEN_SECONDS, Math.floor((chainEnd - now) / 1000));
  if (ttlSeconds < 60) return null;
  const token = await signToken(config, {
    audience: CALLBACK_AUDIENCE,
    subject: run.id,
    ttlSeconds,
    claims: { workspace: run.id, run: run.startedAt!.getTime(), server: run.serverId ?? null },
  });
  return {
    callback_token: token,
    callback_token_expires_at: new Date(now + ttlSeconds * 1000).toISOString(),
  };
}

const keyCache = new Map<string, Promise<JoseKey | Uint8Array>>();

function publicKey(pem: string) {
  let key = keyCache.get(pem);
  if (!key) {
    key = importSPKI(pem, JWT_ALG);
    if (keyCache.size >= 4) keyCache.clear();
    keyCache.set(pem, key);
  }
  return key;
}

/**
 * `code` tells the agent what to do: "revoked" (this run's tokens are over: stop serving) or "invalid"
 * (missing, malformed or expired: keep trying, the control plane decides).
 */
export function unauthorized(
  message = "A valid callback token for this workspace is required.",
  code: "invalid" | "revoked" = "invalid",
) {
  return new Response(JSON.stringify({ error: message, code }), {
    status: 401,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "WWW-Authenticate": 'Bearer realm="workspace-callback"',
    },
  });
}

/**
 * The workspace id the request's bearer token is for, when it matches `workspaceId`; otherwise throws a
 * 401 Response. The key is chosen by `kid`; a token under an unknown `kid` is refused.
 */
export async function requireCallbackToken(request: Request, config: Config, workspaceId: string): Promise<JWTPayload> {
  const header = request.headers.get("Authorization") ?? "";
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header);
  if (!match) throw unauthorized();
  // A Map, not an object: a `kid` of "constructor" or "__proto__" must not find a prototype's property.
  const keys = new Map([[config.JWT_KEY_ID, config.JWT_PUBLIC_KEY]]);
  if (config.JWT_PREVIOUS_KEY_ID && config.JWT_PREVIOUS_PUBLIC_KEY)
    keys.set(config.JWT_PREVIOUS_KEY_ID, config.JWT_PREVIOUS_PUBLIC_KEY);
  try {
    const { payload } = await jwtVerify(
      match[1]!,
      async (protectedHeader) => {
        const pem = protectedHeader.kid ? keys.get(protectedHeader.kid) : undefined;
        if (!pem) throw new errors.JWKSNoMatchingKey();
        return publicKey(pem);
      },
      {
        algorithms: [JWT_ALG],
        audience: CALLBACK_AUDIENCE,
        issuer: config.APP_URL,
        subject: workspaceId,
        clockTolerance: 30,
        // jose accepts a token without `exp` as never expiring; ours always carry one.
        requiredClaims: ["exp", "iat"],
      },
    );
    if (payload.workspace !== workspaceId) throw unauthorized();
    return payload;
  } catch (error) {
    if (error instanceof Response) throw error;
    throw unauthorized(error instanceof errors.JWTExpired ? "The callback token has expired." : undefined);
  }
}

/** The request's JSON body parsed with the schema, or a 400 Response naming the problem. An empty body reads as `{}`. */
export async function readJsonBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  const text = await request.text();
  let body: unknown = {};
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      throw Response.json({ error: "The body is not valid JSON." }, { status: 400 });
    }
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`)
      .join("; ");
    throw Response.json({ error: problems }, { status: 400 });
  }
  return parsed.data;
}

/**
 * For the agent endpoints: the request must be a POST carrying a callback token for exactly this
 * workspace (else 401), the workspace must still exist (else 404), and the token must belong to its current
 * run and server while that run is creating, running or stopping and access to it has not been revoked
 * (else 401 with code "revoked").
 */
export async function requireAgentWorkspace(
  request: Request,
  context: AppLoadContext,
  workspaceId: string | undefined,
  method: "GET" | "POST" = "POST",
): Promise<Workspace> {
  if (request.method !== method && !(method === "GET" && request.method === "HEAD")) throw methodNotAllowed(method);
  if (!isWorkspaceId(workspaceId)) throw unauthorized();
  const payload = await requireCallbackToken(request, context.config, workspaceId);
  const workspace = await getWorkspaceForAgent(context.db, workspaceId);
  if (!workspace) throw Response.json({ error: "This workspace no longer exists." }, { status: 404 });
  const refusal = callbackRefusal(payload, workspace);
  if (refusal) throw unauthorized(refusal, "revoked");
  return workspace;
}

/** Why a verified callback token may not act on the workspace as it is now, or null when it may. */
export function callbackRefusal(
  payload: JWTPayload,
  workspace: Pick<Workspace, "status" | "startedAt" | "serverId" | "callbacksRevokedAt">,
): string | null {
  if (!CALLBACK_STATUSES.includes(workspace.status))
    return `The workspace is ${workspace.status}: its callback tokens have ended.`;
  if (typeof payload.run !== "number" || payload.run !== workspace.startedAt?.getTime())
    return "This callback token belongs to an earlier run of the workspace.";
  if (typeof payload.server === "number" && workspace.serverId !== null && payload.server !== workspace.serverId)
    return "This callback token belongs to another server of the workspace.";
  if (workspace.callbacksRevokedAt && (payload.iat ?? 0) * 1000 <= workspace.callbacksRevokedAt.getTime())
    return "Access to this workspace has ended.";
  return null;
}
