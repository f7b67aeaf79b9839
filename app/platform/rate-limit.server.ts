import type { AppLoadContext } from "@remix-run/cloudflare";
import { lt, sql } from "drizzle-orm";
import { rateLimits } from "../db/schema";

/**
 * How often each guarded action may run per caller; `page` limits answer with text for the error page, the
 * others with `{ error }` JSON for the script or agent that called. Fixed windows counted in D1: Pages cannot bind
 * Cloudflare's rate-limiting binding, see docs/decisions/0005-rate-limits-in-d1.md.
 */
export const limits = {
  /** Per client IP: every finished GitHub round trip costs two GitHub calls and, when refused, an audit row. */
  "sign-in": { limit: 30, periodSeconds: 60, page: true, message: "Too many sign-in attempts from this address." },
  /** Per user: the terminal page fetches one per reconnect, a few a minute at most. */
  "terminal-token": { limit: 60, periodSeconds: 60, page: false, message: "Too many terminal tokens were requested." },
  /** Per client IP: each VM redeems its token once; a caller guessing tokens is refused early. */
  bootstrap: { limit: 30, periodSeconds: 60, page: false, message: "Too many bootstrap attempts from this address." },
  /**
   * Per workspace: the agent asks for the owner's model credential and environment variables when a chat or
   * terminal starts (each delivery is audited); far more means a loop, or a token used by something else.
   */
  "agent-secrets": {
    limit: 120,
    periodSeconds: 60,
    page: false,
    message: "Too many credential or environment requests for this workspace.",
  },
  /** Per user: each creation starts a billed server. */
  "workspace-create": { limit: 30, periodSeconds: 600, page: true, message: "Too many workspaces were created." },
} as const;

export type LimitName = keyof typeof limits;

/** The caller's address as Cloudflare saw it; the header is set by Cloudflare's edge and cannot be supplied by a client. */
export function clientAddress(request: Request): string {
  return request.headers.get("CF-Connecting-IP") ?? "unknown";
}

/** Counts one attempt; false once the caller has used up the window. */
export async function consumeRateLimit(
  context: Pick<AppLoadContext, "db" | "cloudflare">,
  name: LimitName,
  subject: string,
  now = Date.now(),
): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const { limit, periodSeconds } = limits[name];
  const periodMs = periodSeconds * 1000;
  const windowStart = Math.floor(now / periodMs) * periodMs;
  // One statement, so concurrent attempts each see their own count.
  const [row] = await context.db
    .insert(rateLimits)
    .values({ key: `${name}:${subject}`, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`case when ${rateLimits.windowStart} = excluded.window_start then ${rateLimits.count} + 1 else 1 end`,
        windowStart: sql`excluded.window_start`,
      },
    })
    .returning({ count: rateLimits.count });
  if (row?.count === 1) {
    // A new window: rows whose windows ended a day ago are nobody's any more.
    context.cloudflare.ctx.waitUntil(
      context.db
        .delete(rateLimits)
        .where(lt(rateLimits.windowStart, now - 86_400_000))
        .catch(() => undefined),
    );
  }
  return {
    allowed: (row?.count ?? 1) <= limit,
    retryAfterSeconds: Math.max(1, Math.ceil((windowStart + periodMs - now) / 1000)),
  };
}

/**
 * Throws a 429 with a sentence and `Retry-After` once `subject` (a user id or client address) has used up
 * the limit `name`; the one call each guarded route makes.
 */
export async function rateLimit(
  context: Pick<AppLoadContext, "db" | "cloudflare">,
  name: LimitName,
  subject: string,
): Promise<void> {
  const { allowed, retryAfterSeconds } = await consumeRateLimit(context, name, subject);
  if (allowed) return;
  const minutes = Math.ceil(retryAfterSeconds / 60);
  const sentence = `${limits[name].message} Try again in ${minutes === 1 ? "a minute" : `${minutes} minutes`}.`;
  const headers = { "Retry-After": String(retryAfterSeconds), "Cache-Control": "no-store" };
  if (limits[name].page) {
    throw new Response(sentence, { status: 429, headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" } });
  }
  throw Response.json({ error: sentence }, { status: 429, headers });
}
