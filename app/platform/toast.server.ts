import { redirect, type AppLoadContext } from "@remix-run/cloudflare";
import { commitSession, getSession, type Toast } from "../auth/session.server";

/** Redirects and shows a toast on the next page (a flash message in the session). */
export async function redirectWithToast(
  request: Request,
  context: AppLoadContext,
  to: string,
  toast: Toast,
  init?: ResponseInit,
) {
  const session = await getSession(request, context);
  session.flash("toast", toast);
  const headers = new Headers(init?.headers);
  headers.append("Set-Cookie", await commitSession(session, context));
  return redirect(to, { ...init, headers });
}

/** Reads (and consumes) the pending toast; returns the Set-Cookie header to send when there was one. */
export async function takeToast(
  request: Request,
  context: AppLoadContext,
): Promise<{ toast: Toast | null; headers: HeadersInit }> {
  if (!request.headers.get("Cookie")?.includes("session=")) return { toast: null, headers: {} };
  const session = await getSession(request, context);
  const toast = session.get("toast") ?? null;
  if (!toast) return { toast: null, headers: {} };
  return { toast, headers: { "Set-Cookie": await commitSession(session, context) } };
}
