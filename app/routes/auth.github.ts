import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/cloudflare";
import { safeRedirect } from "~/auth/auth.server";
import { startGitHubSignIn } from "~/auth/github-oauth.server";
import { readForm } from "~/platform/responses.server";

/** GET starts the flow too, for a forced re-authentication (e.g. the GitHub token expired). */
export async function loader({ request, context }: LoaderFunctionArgs) {
  return startGitHubSignIn(context, safeRedirect(new URL(request.url).searchParams.get("redirectTo")));
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readForm(request);
  return startGitHubSignIn(context, safeRedirect(form.get("redirectTo")));
}
