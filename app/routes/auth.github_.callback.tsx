import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { ArcticFetchError, OAuth2RequestError } from "arctic";
import { authenticator, createUserSession } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ProviderError } from "~/providers/http.server";
import { clearReturnTo, readReturnTo } from "~/auth/return-to.server";

/** GitHub sends the browser back here; the strategy checks `state`, exchanges the code and signs the user in. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  let result;
  try {
    result = await authenticator(request, context).authenticate("github", request);
  } catch (error) {
    if (error instanceof Response) throw error;
    if (
      error instanceof ArcticFetchError ||
      (error instanceof ProviderError && (error.status === 0 || error.status >= 500))
    ) {
      throw new Response("GitHub could not be reached, so sign-in did not complete. Try again in a moment.", {
        status: 502,
      });
    }
    console.error(
      "sign-in failed",
      error instanceof OAuth2RequestError
        ? `${error.code}: ${error.description}`
        : error instanceof Error
          ? error.message
          : error,
    );
    throw new Response("Sign-in did not complete: the request expired or was not started here. Please sign in again.", {
      status: 400,
    });
  }
  if (result.kind === "refused") throw redirect("/private", { headers: { "Set-Cookie": clearReturnTo } });
  const response = await createUserSession(request, context, result.user.id, readReturnTo(request));
  response.headers.append("Set-Cookie", clearReturnTo);
  return response;
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="signing you in with GitHub" />;
}
