import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Link, useLoaderData } from "@remix-run/react";
import { requireUser } from "~/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { listCredentials } from "~/credentials.server";
import { listInstallations } from "~/installations.server";

export const meta: MetaFunction = () => [{ title: "Workspaces · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const [credentials, installations] = await Promise.all([listCredentials(context, user.id), listInstallations(context, user.id)]);
  return {
    login: user.login,
    hasHetznerToken: credentials.some((credential) => credential.kind === "hetzner"),
    hasInstallation: installations.some((installation) => !installation.suspended),
  };
}

export default function Dashboard() {
  const { login, hasHetznerToken, hasInstallation } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Workspaces</h1>
      <p className="text-zinc-600 dark:text-zinc-400">Signed in as {login}.</p>
      {hasHetznerToken && hasInstallation ? null : (
        <div className="card space-y-2" aria-label="Before your first workspace">
          <h2 className="font-semibold">Before your first workspace</h2>
          <ul className="list-inside list-disc text-sm text-zinc-600 dark:text-zinc-400">
            {hasHetznerToken ? null : (
              <li>
                <Link to="/settings" className="text-indigo-600 underline">
                  Add your Hetzner Cloud token
                </Link>{" "}
                so SAM can create servers in your project.
              </li>
            )}
            {hasInstallation ? null : (
              <li>
                <Link to="/settings" className="text-indigo-600 underline">
                  Install the GitHub App
                </Link>{" "}
                on the repositories your workspaces should clone.
              </li>
            )}
          </ul>
        </div>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
