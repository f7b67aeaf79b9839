import { getFormProps, getInputProps, getTextareaProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/cloudflare";
import { Form, Link, useActionData, useFetcher, useLoaderData, useNavigation } from "@remix-run/react";
import { useEffect, useMemo, useState } from "react";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ErrorList, Field } from "~/components/forms";
import { formatEuro, WorkspacePrerequisites } from "~/components/workspace-status";
import { audit } from "~/platform/audit.server";
import { rateLimit } from "~/platform/rate-limit.server";
import { redirectWithToast } from "~/platform/toast.server";
import { MAX_TASK_PROMPT_CHARS, taskAgents, taskFormSchema } from "~/tasks/schema";
import { createTask } from "~/tasks/tasks.server";
import { formLimits, listBranchNames, loadCreateForm } from "~/workspaces/form.server";
import { provision } from "~/workspaces/provision.server";

export const meta: MetaFunction = () => [{ title: "New task · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const repository = new URL(request.url).searchParams.get("branches");
  if (repository) return { kind: "branches" as const, branches: await listBranchNames(context, user.id, repository) };
  return { kind: "form" as const, ...(await loadCreateForm(context, user.id)) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const { sizes } = await formLimits(context);
  const submission = parseWithZod(await request.formData(), { schema: taskFormSchema({ sizes }) });
  if (submission.status !== "success") return data({ result: submission.reply() }, { status: 400 });
  await rateLimit(context, "workspace-create", user.id);
  const result = await createTask(context, user.id, submission.value);
  if (result.kind === "invalid")
    return data(
      { result: submission.reply({ fieldErrors: result.fieldErrors, formErrors: result.formErrors }) },
      { status: 400 },
    );
  const { task, workspace } = result;
  await audit(context, request, {
    userId: user.id,
    action: "task.created",
    details: { taskId: task.id, workspaceId: workspace.id, repository: task.repository, branch: task.branch },
  });
  context.cloudflare.ctx.waitUntil(provision(context, workspace));
  return redirectWithToast(request, context, `/tasks/${task.id}`, {
    kind: "success",
    title: "Task started",
    description: `Its workspace starts in a minute or two; the agent works on ${task.branch}.`,
  });
}

export default function NewTask() {
  const loaded = useLoaderData<typeof loader>();
  if (loaded.kind !== "form") return null;
  return (
    <div className="mx-auto max-w-2xl space-y-6">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-semibold">New task</h1>
        <Link to="/tasks" className="text-sm text-indigo-700 underline dark:text-indigo-300">
          Back to tasks
        </Link>
      </div>
      <WorkspacePrerequisites missing={loaded.missing} />
      {loaded.problem ? (
        <p role="alert" className="card border-red-300 text-sm text-red-700 dark:text-red-300">
          {loaded.problem}
        </p>
      ) : null}
      {loaded.missing.length === 0 && !loaded.problem ? <TaskForm data={loaded} /> : null}
    </div>
  );
}

type FormOptions = Extract<ReturnType<typeof useLoaderData<typeof loader>>, { kind: "form" }>;

const selectClass =
  "mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950";

function TaskForm({ data: loaded }: { data: FormOptions }) {
  const actionData = useActionData<{ result: SubmissionResult<string[]> }>();
  const navigation = useNavigation();
  const schema = useMemo(() => taskFormSchema({ sizes: loaded.limits.sizes }), [loaded.limits.sizes]);
  const [form, fields] = useForm({
    id: "create-task",
    lastResult: actionData?.result,
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    defaultValue: {
      repository: loaded.repositories[0]?.fullName,
      size: loaded.sizes[0]?.size,
      agentCli: "claude-code",
    },
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
  });
  const [repository, setRepository] = useState(loaded.repositories[0]?.fullName ?? "");
  const chosen = loaded.repositories.find((candidate) => candidate.fullName === repository);
  const branches = useFetcher<{ kind: "branches"; branches: string[] }>();
  useEffect(() => {
    if (chosen) branches.load(`/tasks/new?branches=${encodeURIComponent(chosen.fullName)}`);
    // Once per chosen repository: the fetcher is a new object on every render, so it is not a dependency.
  }, [chosen?.fullName]);
  const branchNames = branches.data?.kind === "branches" ? branches.data.branches : [];
  const busy = navigation.state !== "idle";
  const promptErrorId = fields.prompt.errors?.length ? fields.prompt.errorId : undefined;

  return (
    <Form method="post" {...getFormProps(form)} className="card space-y-5">
      <div>
        <label htmlFor={fields.repository.id} className="block text-sm font-medium">
          Repository
        </label>
        <select
          id={fields.repository.id}
          name={fields.repository.name}
          defaultValue={fields.repository.initialValue}
          onChange={(event) => setRepository(event.currentTarget.value)}
          aria-invalid={fields.repository.errors?.length ? true : undefined}
          aria-describedby={fields.repository.errors?.length ? fields.repository.errorId : undefined}
          className={selectClass}
        >
          {loaded.repositories.map((candidate) => (
            <option key={candidate.fullName} value={candidate.fullName}>
              {candidate.fullName}
            </option>
          ))}
        </select>
        <ErrorList id={fields.repository.errorId} errors={fields.repository.errors} />
      </div>

      <div>
        <label htmlFor={fields.baseBranch.id} className="block text-sm font-medium">
          Base branch
        </label>
        <select
          key={chosen?.fullName}
          id={fields.baseBranch.id}
          name={fields.baseBranch.name}
          defaultValue={chosen?.defaultBranch}
          aria-invalid={fields.baseBranch.errors?.length ? true : undefined}
          aria-describedby={fields.baseBranch.errors?.length ? fields.baseBranch.errorId : undefined}
          className={selectClass}
        >
          {[...new Set([chosen?.defaultBranch ?? "main", ...branchNames])].map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
          The agent works on a new sam/… branch made from this one; the pull request goes into it.
        </p>
        <ErrorList id={fields.baseBranch.errorId} errors={fields.baseBranch.errors} />
      </div>

      <fieldset>
        <legend className="text-sm font-medium">Coding agent</legend>
        <div className="mt-1 flex flex-wrap gap-4 text-sm">
          {Object.entries(taskAgents).map(([value, label]) => (
            <label key={value} className="flex items-center gap-2">
              <input
                type="radio"
                name={fields.agentCli.name}
                value={value}
                defaultChecked={fields.agentCli.initialValue === value}
              />
              {label}
            </label>
          ))}
        </div>
        <ErrorList id={fields.agentCli.errorId} errors={fields.agentCli.errors} />
      </fieldset>

      <fieldset>
        <legend className="text-sm font-medium">Size</legend>
        <div className="mt-1 grid gap-2 sm:grid-cols-3">
          {loaded.sizes.map((choice) => {
            const prices = Object.values(choice.hourly).map(Number);
            return (
              <label
                key={choice.size}
                className="flex cursor-pointer flex-col rounded-md border border-zinc-300 p-3 text-sm has-[:checked]:border-indigo-500 has-[:checked]:ring-1 has-[:checked]:ring-indigo-500 dark:border-zinc-700"
              >
                <span className="flex items-center gap-2 font-medium">
                  <input
                    type="radio"
                    name={fields.size.name}
                    value={choice.size}
                    defaultChecked={fields.size.initialValue === choice.size}
                  />
                  {choice.label}
                </span>
                <span className="text-zinc-600 dark:text-zinc-400">
                  {choice.cores} vCPU, {choice.memory} GB RAM
                </span>
                {prices.length ? (
                  <span className="font-mono text-xs">from {formatEuro(Math.min(...prices))}/h</span>
                ) : null}
              </label>
            );
          })}
        </div>
        <ErrorList id={fields.size.errorId} errors={fields.size.errors} />
      </fieldset>

      <div>
        <label htmlFor={fields.prompt.id} className="block text-sm font-medium">
          What should the agent do?
        </label>
        <textarea
          {...getTextareaProps(fields.prompt)}
          rows={6}
          maxLength={MAX_TASK_PROMPT_CHARS}
          placeholder="Fix issue #123: the login page loops when the session expires."
          aria-describedby={promptErrorId}
          className="mt-1 block w-full resize-y rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm aria-[invalid]:border-red-500 dark:border-zinc-700 dark:bg-zinc-950"
        />
        <ErrorList id={fields.prompt.errorId} errors={fields.prompt.errors} />
      </div>

      <Field
        label="Cost cap in euros (optional)"
        hint="Hetzner spend (server hours and volume) after which SAM stops the task; its branch is kept. Model spend is not capped."
        inputProps={{
          ...getInputProps(fields.costCapEuros, { type: "number" }),
          step: "0.01",
          min: 0.1,
          max: 1000,
          placeholder: "2.00",
        }}
        errors={fields.costCapEuros.errors}
      />

      <ErrorList id={form.errorId} errors={form.errors} />
      <button type="submit" className="btn-primary" disabled={busy}>
        {busy ? "Starting…" : "Start task"}
      </button>
    </Form>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="creating the task" />;
}
