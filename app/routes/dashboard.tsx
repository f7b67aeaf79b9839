import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Link, useLoaderData } from "@remix-run/react";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import {
  formatEuro,
  formatUntil,
  inTransition,
  useLiveRevalidation,
  WorkspacePrerequisites,
  WorkspaceStatusBadge,
} from "~/components/workspace-status";
import { listCredentials } from "~/settings/credentials.server";
import { listInstallations } from "~/github/installations.server";
import { listWorkspaces, presentWorkspace } from "~/workspaces/workspaces.server";

export const meta: MetaFunction = () => [{ title: "Workspaces · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const [credentials, installations, rows] = await Promise.all([
    listCredentials(context, user.id),
    listInstallations(context, user.id),
    listWorkspaces(context.db, user.id),
  ]);
  const missing = [
    ...(credentials.some((credential) => credential.kind === "hetzner") ? [] : ["hetzner-token"]),
    ...(installations.some((installation) => !installation.suspended) ? [] : ["installation"]),
  ];
  const now = Date.now();
  return { missing, workspaces: rows.map((row) => presentWorkspace(row, now)) };
}

export default function Dashboard() {
  const { missing, workspaces } = useLoaderData<typeof loader>();
  useLiveRevalidation(workspaces.some((workspace) => inTransition(workspace.status)));
  return (
    <div className="space-y-6">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-semibold">Workspaces</h1>
        <Link to="/workspaces/new" className="btn-primary">
          New workspace
        </Link>
      </div>
      <WorkspacePrerequisites missing={missing} />
      {workspaces.length === 0 ? (
        <p className="text-zinc-600 dark:text-zinc-400">
          No workspaces yet. A workspace is a cloud VM with your repository and a coding agent, opened in a terminal
          here.
        </p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
          <table
            className="min-w-full divide-y divide-zinc-200 bg-white text-sm dark:divide-zinc-800 dark:bg-zinc-900"
            aria-label="Your workspaces"
          >
            <thead className="text-left text-xs uppercase tracking-wide text-zinc-500">
              <tr>
                <th className="px-4 py-2">Name</th>
                <th className="px-4 py-2">Status</th>
                <th className="px-4 py-2">Repository</th>
                <th className="px-4 py-2">Size</th>
                <th className="px-4 py-2">Cost</th>
                <th className="px-4 py-2">Stops</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
              {workspaces.map((workspace) => (
                <tr key={workspace.id} data-workspace={workspace.id}>
                  <td className="px-4 py-2 font-medium">
                    <Link to={`/workspaces/${workspace.id}`} className="text-indigo-600 underline">
                      {workspace.name}
                    </Link>
                  </td>
                  <td className="px-4 py-2">
                    <WorkspaceStatusBadge status={workspace.status} />
                  </td>
                  <td className="px-4 py-2 font-mono text-xs">
                    {workspace.repository ? `${workspace.repository}@${workspace.branch ?? ""}` : "—"}
                  </td>
                  <td className="px-4 py-2">
                    {workspace.sizeLabel}{" "}
                    <span className="text-zinc-500">
                      ({workspace.serverType}, {workspace.location})
                    </span>
                  </td>
                  <td className="px-4 py-2">
                    {formatEuro(workspace.costSoFar)}{" "}
                    <span className="text-zinc-500">· {formatEuro(workspace.hourlyPrice)}/h</span>
                  </td>
                  <td className="px-4 py-2 text-zinc-600 dark:text-zinc-400">
                    {workspace.stopsAt
                      ? `${workspace.stopReason === "idle" ? "idle stop" : "lifetime ends"} ${formatUntil(workspace.stopsAt - workspace.now)}`
                      : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="listing your workspaces" />;
}
