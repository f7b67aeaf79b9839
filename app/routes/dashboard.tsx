import type { LoaderFunctionArgs, MetaFunction, SerializeFrom } from "@remix-run/cloudflare";
import { Form, Link, useLoaderData, useSearchParams } from "@remix-run/react";
import { z } from "zod";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { Pager } from "~/components/pager";
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
import { listWorkspaces, userVolumeTotals, workspaceListParams } from "~/workspaces/list.server";
import { formatHourly, formatMonthly, volumeMonthlyCost } from "~/workspaces/cost";
import { LIVE_STATUSES } from "~/db/schema";
import { presentWorkspace } from "~/workspaces/workspaces.server";
import { WorkspaceFilterFields } from "~/components/workspace-filter-fields";
import { TaskStatusBadge } from "~/components/task-status";
import { listTasks } from "~/tasks/tasks.server";

export const meta: MetaFunction = () => [{ title: "Workspaces · Simple Agent Manager" }];

/** The list's place in the URL, so a filtered view can be bookmarked. */
const listQuerySchema = z.object(workspaceListParams);

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const parsed = listQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) throw new Response(parsed.error.issues[0]!.message, { status: 400 });
  const { status, q, cursor } = parsed.data;
  const [credentials, installations, page, volumes, tasks] = await Promise.all([
    listCredentials(context, user.id),
    listInstallations(context, user.id),
    listWorkspaces(context.db, user.id, { status, search: q, cursor }),
    userVolumeTotals(context.db, user.id),
    listTasks(context.db, user.id),
  ]);
  const missing = [
    ...(credentials.some((credential) => credential.kind === "hetzner") ? [] : ["hetzner-token"]),
    ...(installations.some((installation) => !installation.suspended) ? [] : ["installation"]),
  ];
  const now = Date.now();
  return {
    missing,
    workspaces: page.workspaces.map((row) => ({
      ...presentWorkspace(row, now),
      volumeSizeGb: row.volumeId === null ? null : row.volumeSizeGb,
      volumeMonthlyPrice: volumeMonthlyCost(row),
    })),
    volumes,
    // The newest few; /tasks has them all.
    tasks: tasks.slice(0, RECENT_TASKS).map((task) => ({
      id: task.id,
      title: task.title,
      status: task.status,
      repository: task.repository,
      branch: task.branch,
      pullUrl: task.pullUrl,
      pullNumber: task.pullNumber,
    })),
    moreTasks: tasks.length > RECENT_TASKS,
    nextCursor: page.nextCursor,
    total: page.total,
    filtered: Boolean(status || q),
    paged: Boolean(cursor),
  };
}

const RECENT_TASKS = 5;

/** The user's newest tasks, each leading to its review page. */
function RecentTasks({ tasks, more }: { tasks: SerializeFrom<typeof loader>["tasks"]; more: boolean }) {
  if (tasks.length === 0) return null;
  return (
    <section aria-labelledby="recent-tasks" className="space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id="recent-tasks" className="text-lg font-semibold">
          Tasks
        </h2>
        <div className="flex gap-2">
          {more ? (
            <Link to="/tasks" className="btn-secondary">
              All tasks
            </Link>
          ) : null}
          <Link to="/tasks/new" className="btn-secondary">
            New task
          </Link>
        </div>
      </div>
      <ul className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
        {tasks.map((task) => (
          <li key={task.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 p-3" data-testid="recent-task">
            <Link to={`/tasks/${task.id}`} className="min-w-0 flex-1 truncate font-medium hover:underline">
              {task.title}
            </Link>
            <TaskStatusBadge status={task.status} />
            <span className="text-sm text-zinc-600 dark:text-zinc-400">
              {task.repository} · <code>{task.branch}</code>
            </span>
            {task.pullUrl ? (
              <a href={task.pullUrl} className="text-sm underline" target="_blank" rel="noreferrer">
                Pull request #{task.pullNumber}
              </a>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

export default function Dashboard() {
  const { missing, workspaces, nextCursor, total, filtered, paged, volumes, tasks, moreTasks } =
    useLoaderData<typeof loader>();
  const [searchParams] = useSearchParams();
  useLiveRevalidation(workspaces.some((workspace) => inTransition(workspace.status)));
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">Workspaces</h1>
        <Link to="/workspaces/new" className="btn-primary">
          New workspace
        </Link>
      </div>
      <WorkspacePrerequisites missing={missing} />
      <RecentTasks tasks={tasks} more={moreTasks} />
      {total === 0 && !filtered ? (
        <p className="text-zinc-600 dark:text-zinc-400">
          No workspaces yet. A workspace is a cloud VM with your repository and a coding agent, opened in a terminal
          here.
        </p>
      ) : (
        <>
          <Form method="get" className="flex flex-wrap items-end gap-3" role="search" aria-label="Filter workspaces">
            <WorkspaceFilterFields
              idPrefix="workspace"
              searchName="q"
              statusName="status"
              placeholder="Name or repository"
              searchParams={searchParams}
            />
            <button type="submit" className="btn-secondary">
              Filter
            </button>
            {filtered ? (
              <Link to="/dashboard" className="btn-secondary">
                Clear
              </Link>
            ) : null}
          </Form>
          <p className="text-sm text-zinc-600 dark:text-zinc-400" aria-live="polite" data-testid="workspace-count">
            {total} {total === 1 ? "workspace" : "workspaces"}
            {filtered ? " match" : ""}
            {total > workspaces.length || paged ? ` · showing ${workspaces.length}` : ""}
          </p>
          {volumes.volumes > 0 ? (
            <p className="text-sm" data-testid="volume-total">
              Volumes: {volumes.volumes} · {volumes.sizeGb} GB · <strong>{formatMonthly(volumes.monthlyPrice)}</strong>{" "}
              <span className="text-zinc-600 dark:text-zinc-400">
                in all, billed while the workspaces are stopped too
              </span>
            </p>
          ) : null}
          {workspaces.length === 0 ? (
            <p className="text-zinc-600 dark:text-zinc-400">No workspace matches this search.</p>
          ) : (
            <WorkspaceTable workspaces={workspaces} />
          )}
          <Pager nextCursor={nextCursor} />
        </>
      )}
    </div>
  );
}

type ListedWorkspace = ReturnType<typeof useLoaderData<typeof loader>>["workspaces"][number];

// On a phone each row is a card: the cells stack with their column's name, since the header row is hidden.
const cell = "px-4 py-2 max-sm:flex max-sm:gap-2 max-sm:px-0 max-sm:py-0.5";
const cellName = "text-xs text-zinc-600 uppercase sm:hidden dark:text-zinc-400";

function WorkspaceTable({ workspaces }: { workspaces: ListedWorkspace[] }) {
  return (
    <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
      <table
        className="min-w-full divide-y divide-zinc-200 bg-white text-sm max-sm:block dark:divide-zinc-800 dark:bg-zinc-900"
        aria-label="Your workspaces"
      >
        <thead className="text-left text-xs tracking-wide text-zinc-600 uppercase max-sm:sr-only dark:text-zinc-400">
          <tr>
            <th className="px-4 py-2">Name</th>
            <th className="px-4 py-2">Status</th>
            <th className="px-4 py-2">Repository</th>
            <th className="px-4 py-2">Size</th>
            <th className="px-4 py-2">Cost</th>
            <th className="px-4 py-2">Stops</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 max-sm:block dark:divide-zinc-800">
          {workspaces.map((workspace) => (
            <tr key={workspace.id} data-workspace={workspace.id} className="max-sm:block max-sm:px-4 max-sm:py-3">
              <td className={`${cell} font-medium`}>
                <Link to={`/workspaces/${workspace.id}`} className="text-indigo-700 underline dark:text-indigo-300">
                  {workspace.name}
                </Link>
              </td>
              <td className={cell}>
                <span className={cellName}>Status</span>
                <WorkspaceStatusBadge status={workspace.status} />
              </td>
              <td className={`${cell} font-mono text-xs break-all`}>
                <span className={`${cellName} font-sans`}>Repository</span>
                {workspace.repository ? `${workspace.repository}@${workspace.branch ?? ""}` : "—"}
              </td>
              <td className={cell}>
                <span className={cellName}>Size</span>
                <span>
                  {workspace.sizeLabel}{" "}
                  <span className="text-zinc-600 dark:text-zinc-400">
                    ({workspace.serverType}, {workspace.location})
                  </span>
                </span>
              </td>
              <td className={cell}>
                <span className={cellName}>Cost</span>
                <span data-testid="workspace-cost">
                  {formatEuro(workspace.costSoFar)}
                  {(LIVE_STATUSES as readonly string[]).includes(workspace.status) ? (
                    <span className="text-zinc-600 dark:text-zinc-400"> · {formatHourly(workspace.hourlyPrice)}</span>
                  ) : null}
                  {workspace.volumeMonthlyPrice !== null ? (
                    <span className="block text-zinc-600 dark:text-zinc-400">
                      volume {workspace.volumeSizeGb} GB · {formatMonthly(workspace.volumeMonthlyPrice)}
                    </span>
                  ) : null}
                </span>
              </td>
              <td className={`${cell} text-zinc-600 dark:text-zinc-400`}>
                <span className={cellName}>Stops</span>
                {workspace.stopsAt
                  ? `${workspace.stopReason === "idle" ? "idle stop" : "lifetime ends"} ${formatUntil(workspace.stopsAt - workspace.now)}`
                  : "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="listing your workspaces" />;
}
