import type { AppLoadContext } from "@remix-run/cloudflare";
import { auditLog } from "../db/schema";

/** Records who did what, from where; `details` must never hold a secret (last 4 characters at most). */
export async function audit(
  context: Pick<AppLoadContext, "db">,
  request: Request | null,
  entry: { userId: string | null; action: string; details?: Record<string, unknown> },
) {
  await context.db.insert(auditLog).values({
    userId: entry.userId,
    action: entry.action,
    ip: request ? clientIp(request) : null,
    details: entry.details ?? {},
  });
}

function clientIp(request: Request): string | null {
  return (
    request.headers.get("CF-Connecting-IP") ?? request.headers.get("X-Forwarded-For")?.split(",")[0]?.trim() ?? null
  );
}
