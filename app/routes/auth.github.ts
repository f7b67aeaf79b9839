import type { ActionFunctionArgs, AppLoadContext, LoaderFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { authenticator, safeRedirect } from "~/auth/auth.server";
import { returnToCookie } from "~/auth/return-to.server";

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
    // The strategy reads only the URL and cookies; the form body was consumed above.
    const bodyless = new Request(request.url, { headers: request.headers });
    await authenticator(request, context).authenticate("github", bodyless);
  } catch (response) {
    if (!(response instanceof Response)) throw response;
    response.headers.append("Set-Cookie", returnToCookie(redirectTo, context.config.APP_URL.startsWith("https://")));
    return response;
  }
  return redirect("/login");
}
