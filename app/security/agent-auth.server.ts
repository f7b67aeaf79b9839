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
 */

export const CALLBACK_AUDIENCE = "workspace-callback";
export const CALLBACK_TOKEN_SECONDS = 60 * 60;

export async function issueCallbackToken(config: Config, workspaceId: string, now = Date.now()) {
  const token = await signToken(config, {
    audience: CALLBACK_AUDIENCE,
    subject: workspaceId,
    ttlSeconds: CALLBACK_TOKEN_SECONDS,
    claims: { workspace: workspaceId },
  });
  return {
    callback_token: token,
    callback_token_expires_at: new Date(now + CALLBACK_TOKEN_SECONDS * 1000).toISOString(),
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

export function unauthorized(message = "A valid callback token for this workspace is required.") {
  return new Response(JSON.stringify({ error: message }), {
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
  const keys: Record<string, string> = { [config.JWT_KEY_ID]: config.JWT_PUBLIC_KEY };
  if (config.JWT_PREVIOUS_KEY_ID && config.JWT_PREVIOUS_PUBLIC_KEY)
    keys[config.JWT_PREVIOUS_KEY_ID] = config.JWT_PREVIOUS_PUBLIC_KEY;
  try {
    const { payload } = await jwtVerify(
      match[1]!,
      async (protectedHeader) => {
        const pem = protectedHeader.kid ? keys[protectedHeader.kid] : undefined;
        if (!pem) throw new errors.JWKSNoMatchingKey();
        return publicKey(pem);
      },
      {
        algorithms: [JWT_ALG],
        audience: CALLBACK_AUDIENCE,
        issuer: config.APP_URL,
        subject: workspaceId,
        clockTolerance: 30,
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
 * workspace (else 401), and the workspace must still exist (else 404).
 */
export async function requireAgentWorkspace(
  request: Request,
  context: AppLoadContext,
  workspaceId: string | undefined,
): Promise<Workspace> {
  if (request.method !== "POST") throw methodNotAllowed("POST");
  if (!isWorkspaceId(workspaceId)) throw unauthorized();
  await requireCallbackToken(request, context.config, workspaceId);
  const workspace = await getWorkspaceForAgent(context.db, workspaceId);
  if (!workspace) throw Response.json({ error: "This workspace no longer exists." }, { status: 404 });
  return workspace;
}
