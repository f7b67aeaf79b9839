import type { ActionFunctionArgs, AppLoadContext, LoaderFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { authenticator, safeRedirect } from "~/auth.server";

const RETURN_COOKIE = "__sam_return_to";

/** GET starts the flow too, for a forced re-authentication (e.g. the GitHub token expired). */
export async function loader({ request, context }: LoaderFunctionArgs) {
  return startSignIn(request, context, safeRedirect(new URL(request.url).searchParams.get("redirectTo")));
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  return startSignIn(request, context, safeRedirect(form.get("redirectTo")));
}

/** Starts the GitHub web flow; remembers where to return in a short-lived cookie. */
async function startSignIn(request: Request, context: AppLoadContext, redirectTo: string) {
  try {
    await authenticator(request, context).authenticate("github", request);
  } catch (response) {
    if (!(response instanceof Response)) throw response;
    const secure = context.config.APP_URL.startsWith("https://") ? "; Secure" : "";
    response.headers.append("Set-Cookie", `${RETURN_COOKIE}=${encodeURIComponent(redirectTo)}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax${secure}`);
    return response;
  }
  return redirect("/login");
}

export function readReturnTo(request: Request): string {
  const cookie = request.headers.get("Cookie") ?? "";
  const match = new RegExp(`(?:^|;\\s*)${RETURN_COOKIE}=([^;]*)`).exec(cookie);
  return safeRedirect(match ? decodeURIComponent(match[1]!) : null);
}

export const clearReturnTo = `${RETURN_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;
