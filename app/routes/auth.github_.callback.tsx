import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { ArcticFetchError, OAuth2RequestError, UnexpectedResponseError } from "arctic";
import { createUserSession, signIn } from "~/auth/auth.server";
import { clearFlowCookie, finishGitHubSignIn, SignInFailed } from "~/auth/github-oauth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ProviderError } from "~/providers/http.server";
import { clientAddress, rateLimit } from "~/platform/rate-limit.server";

/** GitHub sends the browser back here: check the flow, exchange the code and sign the user in. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  // Before any GitHub call or audit row: past the limit, attempts cost nothing.
  await rateLimit(context, "sign-in", clientAddress(request));
  const clear = await clearFlowCookie(context);
  let result;
  let returnTo;
  try {
    const finished = await finishGitHubSignIn(request, context);
    returnTo = finished.returnTo;
    result = await signIn(request, context, finished.tokens);
  } catch (error) {
    throw failure(error, clear);
  }
  if (result.kind === "refused") throw redirect("/private", { headers: { "Set-Cookie": clear } });
  const response = await createUserSession(request, context, result.user.id, returnTo);
  response.headers.append("Set-Cookie", clear);
  return response;
}

/** Every failed sign-in is a sentence, and the flow cookie goes with it. */
function failure(error: unknown, clear: string): Response {
  const answer = (message: string, status: number) =>
    new Response(message, {
      status,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Set-Cookie": clear, "Cache-Control": "no-store" },
    });
  if (error instanceof Response) return error;
  if (error instanceof SignInFailed) return answer(error.message, error.status);
  if (
    error instanceof ArcticFetchError ||
    (error instanceof UnexpectedResponseError && error.status >= 500) ||
    (error instanceof ProviderError && (error.status === 0 || error.status >= 500))
  ) {
    return answer("GitHub could not be reached, so sign-in did not complete. Try again in a moment.", 502);
  }
  console.error(
    "sign-in failed",
    error instanceof OAuth2RequestError
      ? `${error.code}: ${error.description}`
      : error instanceof Error
        ? error.message
        : error,
  );
  return answer("Sign-in did not complete: the request expired or was not started here. Please sign in again.", 400);
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="signing you in with GitHub" />;
}
