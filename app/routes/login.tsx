import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { Form, useLoaderData } from "@remix-run/react";
import { getUserId, safeRedirect } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";

export const meta: MetaFunction = () => [{ title: "Sign in · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const redirectTo = safeRedirect(new URL(request.url).searchParams.get("redirectTo"));
  if (await getUserId(request, context)) throw redirect(redirectTo);
  return { redirectTo };
}

export default function Login() {
  const { redirectTo } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-sm py-12">
      <div className="card text-center">
        <h1 className="text-xl font-semibold">Sign in</h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          SAM uses your GitHub account. It asks to read your profile and email address; repository access is granted
          separately, through its GitHub App.
        </p>
        <Form method="post" action="/auth/github" className="mt-6">
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <button type="submit" className="btn-primary w-full py-2">
            Sign in with GitHub
          </button>
        </Form>
      </div>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing the sign-in page" />;
}
