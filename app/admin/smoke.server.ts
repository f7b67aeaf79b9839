import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq, gt, isNull } from "drizzle-orm";
import { smokeTokens, workspaces } from "../db/schema";
import { cloudflare } from "../providers/cloudflare.server";
import { signToken } from "../security/jwt.server";
import { hashToken, isWellFormedToken } from "../workspaces/bootstrap.server";
import { labelsFor, userClouds } from "../workspaces/clouds.server";
import { provision } from "../workspaces/provision.server";
import { TERMINAL_TOKEN_SECONDS } from "../workspaces/terminal.server";
import { finishStop } from "../workspaces/teardown.server";
import { workspaceHostname, workspaceUrl } from "../workspaces/url";
import {
  claimDelete,
  countLiveWorkspaces,
  listEvents,
  newWorkspaceId,
  recordEvent,
} from "../workspaces/workspaces.server";
import { getPolicy } from "./policy.server";
import { sizeNames, sizes } from "../workspaces/sizes";
import { audit } from "../platform/audit.server";

/**
 * `npm run smoke` (scripts/smoke.ts) after a deployment: an admin makes a one-time token in /admin/smoke, and
 * with it the script creates the smallest workspace, opens its terminal, deletes it and checks nothing was
 * left. Only the token's SHA-256 is stored; it lasts 15 minutes and sees only the workspace it made.
 */
export const SMOKE_TOKEN_TTL_MS = 15 * 60 * 1000;

export type SmokeToken = typeof smokeTokens.$inferSelect;

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function createSmokeToken(context: AppLoadContext, request: Request, userId: string, now = Date.now()) {
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const expiresAt = new Date(now + SMOKE_TOKEN_TTL_MS);
  await context.db.insert(smokeTokens).values({ tokenHash: await hashToken(token), userId, expiresAt });
  await audit(context, request, { userId, action: "smoke.token_created" });
  return { token, expiresAt };
}

function refuse(status: number, error: string): Response {
  return Response.json({ error }, { status, headers: { "Cache-Control": "no-store" } });
}

/** The smoke token in `Authorization: Bearer`, live; anything else is a 401 that says what to do. */
export async function requireSmokeToken(request: Request, context: AppLoadContext): Promise<SmokeToken> {
  const token = /^Bearer (\S+)$/.exec(request.headers.get("Authorization") ?? "")?.[1] ?? "";
  const make = "make a new one in /admin/smoke (a token lasts 15 minutes)";
  if (!isWellFormedToken(token)) throw refuse(401, `No smoke token was given, or it is malformed: ${make}.`);
  const row = await context.db.query.smokeTokens.findFirst({
    where: and(eq(smokeTokens.tokenHash, await hashToken(token)), gt(smokeTokens.expiresAt, new Date())),
  });
  if (!row) throw refuse(401, `The smoke token is unknown or has expired: ${make}.`);
  return row;
}

/** Creates the token's one workspace: the smallest allowed size, no repository, no coding agent. */
export async function startSmokeWorkspace(context: AppLoadContext, token: SmokeToken): Promise<Response> {
  if (token.workspaceId)
    return refuse(409, `This smoke token already made workspace ${token.workspaceId}: make a new one in /admin/smoke.`);
  const policy = await getPolicy(context);
  if ((await countLiveWorkspaces(context.db, token.userId)) >= policy.maxWorkspacesPerUser)
    return refuse(409, "The admin who made the token has as many live workspaces as the policy allows: delete one.");
  const size = sizeNames.find((name) => policy.allowedSizes.includes(name))!;
  const id = newWorkspaceId();
  // Bound first, so two runs with one token cannot both make a workspace.
  const bound = await context.db
    .update(smokeTokens)
    .set({ workspaceId: id })
    .where(and(eq(smokeTokens.tokenHash, token.tokenHash), isNull(smokeTokens.workspaceId)))
    .returning();
  if (bound.length === 0) return refuse(409, "This smoke token has already made a workspace: make a new one.");
  const [workspace] = await context.db
    .insert(workspaces)
    .values({
      id,
      userId: token.userId,
      name: "smoke test",
      status: "creating",
      size,
      serverType: sizes[size].serverType,
      location: policy.allowedLocations[0]!,
      agentCli: "none",
      idleTimeoutSeconds: 15 * 60,
      maxLifetimeSeconds: 3600,
      startedAt: new Date(),
    })
    .returning();
  await recordEvent(context.db, id, "create", "ok", "Created by npm run smoke");
  context.cloudflare.ctx.waitUntil(provision(context, workspace!));
  return Response.json(
    { id, serverType: workspace!.serverType, location: workspace!.location, url: workspaceUrl(context.config, id) },
    { status: 201 },
  );
}

/** Where the run's workspace is; once it is running, a terminal token for it; once it is gone, what is left. */
export async function smokeStatus(context: AppLoadContext, token: SmokeToken): Promise<Response> {
  if (!token.workspaceId) return refuse(404, "This smoke token has not made a workspace yet.");
  const id = token.workspaceId;
  const workspace = await context.db.query.workspaces.findFirst({
    where: and(eq(workspaces.id, id), eq(workspaces.userId, token.userId)),
  });
  if (!workspace) return Response.json({ id, status: "deleted", leftovers: await leftovers(context, token) });
  if (workspace.certificateId && workspace.certificateId !== token.certificateId)
    await context.db
      .update(smokeTokens)
      .set({ certificateId: workspace.certificateId })
      .where(eq(smokeTokens.tokenHash, token.tokenHash));
  const events = (await listEvents(context.db, id)).map(({ step, status, message }) => ({ step, status, message }));
  const terminalToken =
    workspace.status === "running"
      ? await signToken(context.config, {
          audience: "workspace-terminal",
          subject: token.userId,
          ttlSeconds: TERMINAL_TOKEN_SECONDS,
          claims: { workspace: id, sid: `smoke-${token.tokenHash.slice(0, 16)}` },
        })
      : null;
  return Response.json({
    id,
    status: workspace.status,
    error: workspace.error,
    url: workspaceUrl(context.config, id),
    hostname: workspaceHostname(context.config, id),
    events,
    terminalToken,
  });
}

export async function deleteSmokeWorkspace(context: AppLoadContext, token: SmokeToken): Promise<Response> {
  if (!token.workspaceId) return refuse(404, "This smoke token has not made a workspace yet.");
  const claimed = await claimDelete(context, { id: token.workspaceId, userId: token.userId });
  if (!claimed) return refuse(409, "The workspace is already stopping or gone.");
  context.cloudflare.ctx.waitUntil(finishStop(context, claimed, { remove: true }));
  return Response.json({ id: token.workspaceId, status: "stopping" }, { status: 202 });
}

/** What the providers still hold for the run's workspace: each should be empty once it is deleted. */
async function leftovers(context: AppLoadContext, token: SmokeToken) {
  const id = token.workspaceId!;
  const clouds = await userClouds(context, token.userId);
  const selector = Object.entries(labelsFor({ id, userId: token.userId }, context.config))
    .filter(([key]) => key === "workspace" || key === "instance")
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const [servers, firewalls, records, certificate] = await Promise.all([
    clouds ? clouds.hetzner.listServers({ labelSelector: selector }) : [],
    clouds ? clouds.hetzner.listFirewalls({ labelSelector: selector }) : [],
    clouds ? clouds.zone.findRecords(workspaceHostname(context.config, id)) : [],
    token.certificateId
      ? cloudflare({
          baseUrl: context.config.CLOUDFLARE_API_URL,
          token: context.config.CLOUDFLARE_API_TOKEN,
        }).originCertificateRevokedAt(token.certificateId)
      : null,
  ]);
  return {
    servers: servers.map((server) => server.id),
    firewalls: firewalls.map((firewall) => firewall.id),
    dnsRecords: records,
    certificates: token.certificateId && certificate === null ? [token.certificateId] : [],
  };
}
