import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, Link, useLoaderData, useSearchParams } from "@remix-run/react";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { TaskStatusBadge, taskInMotion } from "~/components/task-status";
import { useLiveRevalidation } from "~/components/workspace-status";
import type { TaskStatus } from "~/db/schema";
import { taskStatusChoices, taskStatusLabels } from "~/tasks/schema";
import { listTasks } from "~/tasks/tasks.server";

export const meta: MetaFunction = () => [{ title: "Tasks · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const url = new URL(request.url);
  const statuses = url.searchParams
    .getAll("status")
    .filter((status): status is TaskStatus => (taskStatusChoices as string[]).includes(status));
  const rows = await listTasks(context.db, user.id, { statuses });
  return {
    statuses,
    tasks: rows.map((task) => ({
      id: task.id,
      title: task.title,
      status: task.status,
      repository: task.repository,
      branch: task.branch,
      agentCli: task.agentCli,
      pullUrl: task.pullUrl,
      pullNumber: task.pullNumber,
      createdAt: task.createdAt.getTime(),
    })),
  };
}

export default function Tasks() {
  const { tasks, statuses } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  useLiveRevalidation(
    tasks.some((task) => taskInMotion(task.status)),
    3000,
  );
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">Tasks</h1>
        <Link to="/tasks/new" className="btn-primary">
          New task
        </Link>
      </div>
      <Form method="get" className="flex flex-wrap items-center gap-3 text-sm" aria-label="Filter tasks">
        <fieldset className="flex flex-wrap gap-3">
          <legend className="sr-only">Status</legend>
          {taskStatusChoices.map((status) => (
            <label key={status} className="flex items-center gap-1.5">
              <input
                type="checkbox"
                name="status"
                value={status}
                defaultChecked={params.getAll("status").includes(status)}
              />
              {taskStatusLabels[status]}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="btn-secondary">
          Filter
        </button>
        {statuses.length ? (
          <Link to="/tasks" className="text-indigo-700 underline dark:text-indigo-300">
            Show all
          </Link>
        ) : null}
      </Form>
      {tasks.length === 0 ? (
        <p className="card text-sm">
          {statuses.length
            ? "No tasks in these states."
            : "No tasks yet. A task hands a prompt to a coding agent on its own branch; you review the diff and open the pull request."}
        </p>
      ) : (
        <ul className="card divide-y divide-zinc-200 p-0 dark:divide-zinc-800" aria-label="Your tasks">
          {tasks.map((task) => (
            <li key={task.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-3">
              <Link to={`/tasks/${task.id}`} className="min-w-0 flex-1 font-medium hover:underline">
                {task.title}
              </Link>
              <TaskStatusBadge status={task.status} />
              <span className="w-full font-mono text-xs text-zinc-600 dark:text-zinc-400">
                {task.repository} · {task.branch}
                {task.pullUrl ? (
                  <>
                    {" · "}
                    <a href={task.pullUrl} className="underline">
                      #{task.pullNumber}
                    </a>
                  </>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="listing your tasks" />;
}
