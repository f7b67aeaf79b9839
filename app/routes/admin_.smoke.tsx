import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { requireAdmin } from "~/auth/auth.server";
import { createSmokeToken } from "~/admin/smoke.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";

export const meta: MetaFunction = () => [{ title: "Smoke test · Admin · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireAdmin(request, context);
  return { appUrl: context.config.APP_URL };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdmin(request, context);
  const { token, expiresAt } = await createSmokeToken(context, request, admin.id);
  return { token, expiresAt: expiresAt.toISOString() };
}

export default function SmokeToken() {
  const { appUrl } = useLoaderData<typeof loader>();
  const created = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  return (
    <div className="space-y-6">
      <p className="text-sm">
        <Link to="/admin" className="underline">
          Admin
        </Link>
      </p>
      <h1 className="text-2xl font-semibold">Smoke test after a deployment</h1>
      <section className="card space-y-3 text-sm" aria-labelledby="smoke-heading">
        <h2 id="smoke-heading" className="text-lg font-semibold">
          One-time smoke token
        </h2>
        <p>
          <code>npm run smoke</code> checks this instance end to end: health, the JWKS, the workspace hosts through
          Cloudflare, then it creates the smallest workspace with your Hetzner token, opens a terminal, runs a command,
          deletes the workspace and checks nothing is left. The token lasts 15 minutes and can make only that one
          workspace. It is shown once.
        </p>
        {created ? (
          <div className="space-y-2">
            <label htmlFor="smoke-token" className="block font-medium">
              Smoke token (until {new Date(created.expiresAt).toLocaleTimeString()})
            </label>
            <input id="smoke-token" readOnly value={created.token} className="input w-full font-mono" />
            <p>Run, from a checkout of SAM:</p>
            <pre className="overflow-x-auto rounded bg-zinc-100 p-2 dark:bg-zinc-900">
              SAM_SMOKE_TOKEN=&lt;the token&gt; npm run smoke -- --url {appUrl}
            </pre>
          </div>
        ) : (
          <Form method="post">
            <button type="submit" className="btn-primary" disabled={busy}>
              Create a smoke token
            </button>
          </Form>
        )}
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="making a smoke token" />;
}
