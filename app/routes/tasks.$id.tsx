import { getFormProps, getInputProps, getTextareaProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, Link, useActionData, useFetcher, useLoaderData, useNavigation } from "@remix-run/react";
import { useMemo } from "react";
import { tokenSource } from "~/chat/agent-api";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ErrorList, Field } from "~/components/forms";
import { TaskChangesView } from "~/components/task-changes";
import { TaskChatView, useTaskChat } from "~/components/task-chat";
import { TaskStatusBadge, taskInMotion } from "~/components/task-status";
import { useLiveRevalidation, WorkspaceStatusBadge } from "~/components/workspace-status";
import { loadTaskPage, taskPageAction } from "~/tasks/page.server";
import { formatCents, pullRequestFormSchema } from "~/tasks/schema";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.task.title ?? "Task"} · Tasks · Simple Agent Manager` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return loadTaskPage(request, context, params.id!);
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return taskPageAction(request, context, params.id!);
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;

export default function TaskPage() {
  const data = useLoaderData<typeof loader>();
  const { task, workspace, tab } = data;
  useLiveRevalidation(taskInMotion(task.status) || workspace?.status === "creating", 3000);
  const getToken = useMemo(
    () => tokenSource(workspace?.id ?? "", { token: data.token, expiresAt: data.expiresAt }),
    [workspace?.id, data.token, data.expiresAt],
  );
  const chat = useTaskChat({ agentUrl: data.agentUrl, chatId: task.chatSessionId, getToken });
  const commentsSent = useFetcher();
  const live = useMemo(() => (data.agentUrl ? { agentUrl: data.agentUrl, getToken } : null), [data.agentUrl, getToken]);
  const noChat =
    workspace?.status !== "running"
      ? "The workspace is not running: restart it to send comments to the agent."
      : "The agent has not started its chat yet.";

  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0 space-y-1">
          <Link to="/tasks" className="text-sm text-indigo-700 underline dark:text-indigo-300">
            Tasks
          </Link>
          <h1 className="text-2xl font-semibold">{task.title}</h1>
          <p className="flex flex-wrap items-center gap-2 text-sm text-zinc-600 dark:text-zinc-400">
            <TaskStatusBadge status={task.status} />
            <span className="font-mono" data-testid="task-branch">
              {task.repository} · {task.branch} → {task.baseBranch}
            </span>
            <span>· {task.agentLabel}</span>
            {task.costCapCents !== null ? <span>· cap {formatCents(task.costCapCents)}</span> : null}
            {workspace ? (
              <Link
                to={`/workspaces/${workspace.id}`}
                className="flex items-center gap-1 underline"
                data-testid="task-workspace"
              >
                workspace <WorkspaceStatusBadge status={workspace.status} />
              </Link>
            ) : null}
          </p>
        </div>
        <Actions data={data} />
      </div>

      {task.pullUrl ? (
        <p className="card text-sm" data-testid="task-pull">
          Pull request{" "}
          <a href={task.pullUrl} className="font-medium text-indigo-700 underline dark:text-indigo-300">
            #{task.pullNumber}
          </a>{" "}
          is open from {task.branch} into {task.baseBranch}.
        </p>
      ) : null}
      {task.error ? (
        <p role="alert" className="card border-red-300 text-sm text-red-700 dark:text-red-300">
          {task.error}
        </p>
      ) : null}
      {data.pushBlocked ? (
        <p role="alert" className="card border-amber-300 text-sm" data-testid="push-blocked">
          {data.pushBlocked}
        </p>
      ) : null}
      {task.status === "ready" && !task.headSha ? (
        <p className="card text-sm">The agent's turn ended with no changes: nothing was committed on {task.branch}.</p>
      ) : null}
      {data.draft ? <PullRequestForm data={data} /> : null}

      <nav aria-label="Task views" className="flex gap-1 border-b border-zinc-200 text-sm dark:border-zinc-800">
        {(["chat", "changes", "terminal"] as const).map((name) => (
          <Link
            key={name}
            to={`?tab=${name}`}
            aria-current={tab === name ? "page" : undefined}
            className={`border-b-2 px-3 py-1.5 capitalize ${tab === name ? "border-indigo-600 font-medium" : "border-transparent text-zinc-600 dark:text-zinc-400"}`}
          >
            {name}
          </Link>
        ))}
      </nav>

      {tab === "chat" ? (
        chat ? (
          <TaskChatView chat={chat} agentLabel={task.agentLabel} />
        ) : (
          <p className="text-sm">
            {workspace?.status === "running"
              ? `${task.agentLabel} has not started on the prompt yet.`
              : `The chat opens while the workspace runs (it is ${workspace?.status ?? "gone"}).`}
          </p>
        )
      ) : null}
      {tab === "changes" ? (
        <TaskChangesView
          live={live}
          stored={data.stored}
          refreshKey={`${task.status}:${task.headSha ?? ""}:${chat?.transcript.busy ?? ""}`}
          send={chat?.prompt ?? null}
          sendUnavailable={noChat}
          onSent={(count) => commentsSent.submit({ intent: "comments-sent", count: String(count) }, { method: "post" })}
        />
      ) : null}
      {tab === "terminal" ? (
        workspace?.status === "running" ? (
          <p className="text-sm">
            <Link to={`/workspaces/${workspace.id}/terminal`} className="btn-primary">
              Open the workspace's terminal
            </Link>
          </p>
        ) : (
          <p className="text-sm">The terminal opens while the workspace runs.</p>
        )
      ) : null}

      <section aria-labelledby="task-timeline" className="space-y-2">
        <h2 id="task-timeline" className="text-lg font-semibold">
          Timeline
        </h2>
        <ol className="space-y-1 text-sm" data-testid="task-timeline">
          {data.timeline.map((event) => (
            <li key={event.id} className={event.status === "error" ? "text-red-700 dark:text-red-400" : undefined}>
              <time className="mr-2 font-mono text-xs text-zinc-500" dateTime={new Date(event.at).toISOString()}>
                {new Date(event.at).toISOString().slice(11, 19)}
              </time>
              {event.message}
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}

function Actions({ data }: { data: Data }) {
  const cancellable = ["queued", "provisioning", "working", "needs_input", "ready"].includes(data.task.status);
  const navigation = useNavigation();
  if (!cancellable) return null;
  return (
    <Form method="post">
      <input type="hidden" name="intent" value="cancel" />
      <button type="submit" className="btn-secondary" disabled={navigation.state !== "idle"}>
        Cancel task
      </button>
    </Form>
  );
}

function PullRequestForm({ data }: { data: Data }) {
  const actionData = useActionData<{ intent?: string; result?: SubmissionResult<string[]>; pullUrl?: string | null }>();
  const navigation = useNavigation();
  const ours = actionData?.intent === "pull-request" ? actionData : undefined;
  const [form, fields] = useForm({
    id: "pull-request",
    lastResult: ours?.result,
    defaultValue: data.draft ?? undefined,
    shouldValidate: "onBlur",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: pullRequestFormSchema }),
  });
  return (
    <details className="card" open={Boolean(ours)}>
      <summary className="cursor-pointer font-medium">Create pull request</summary>
      <Form method="post" {...getFormProps(form)} className="mt-3 space-y-3">
        <input type="hidden" name="intent" value="pull-request" />
        <Field label="Title" inputProps={getInputProps(fields.title, { type: "text" })} errors={fields.title.errors} />
        <div>
          <label htmlFor={fields.body.id} className="block text-sm font-medium">
            Description
          </label>
          <textarea
            {...getTextareaProps(fields.body)}
            rows={8}
            className="mt-1 block w-full resize-y rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950"
          />
          <ErrorList id={fields.body.errorId} errors={fields.body.errors} />
        </div>
        <div role={form.errors?.length ? "alert" : undefined}>
          <ErrorList id={form.errorId} errors={form.errors} />
          {ours?.pullUrl ? (
            <a href={ours.pullUrl} className="text-sm text-indigo-700 underline dark:text-indigo-300">
              Open the pull request on GitHub
            </a>
          ) : null}
        </div>
        <button type="submit" className="btn-primary" disabled={navigation.state !== "idle"}>
          Open pull request from {data.task.branch} into {data.task.baseBranch}
        </button>
      </Form>
    </details>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing this task" />;
}
