import { getFormProps, getInputProps, getSelectProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/cloudflare";
import { Form, Link, useActionData, useFetcher, useLoaderData, useNavigation } from "@remix-run/react";
import { useEffect, useMemo, useState } from "react";
import { audit } from "~/platform/audit.server";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ErrorList, Field } from "~/components/forms";
import { formatEuro, WorkspacePrerequisites } from "~/components/workspace-status";
import { redirectWithToast } from "~/platform/toast.server";
import { rateLimit } from "~/platform/rate-limit.server";
import { agentClis, formatMinutes, idleTimeoutChoices, workspaceFormSchema } from "~/workspaces/schema";
import { provision } from "~/workspaces/provision.server";
import { createWorkspace, formLimits, listBranchNames, loadCreateForm } from "~/workspaces/form.server";

export const meta: MetaFunction = () => [{ title: "New workspace · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const repository = new URL(request.url).searchParams.get("branches");
  if (repository) return { kind: "branches" as const, branches: await listBranchNames(context, user.id, repository) };
  return { kind: "form" as const, ...(await loadCreateForm(context, user.id)) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const submission = parseWithZod(await request.formData(), { schema: workspaceFormSchema(await formLimits(context)) });
  if (submission.status !== "success") return data({ result: submission.reply() }, { status: 400 });
  await rateLimit(context, "workspace-create", user.id);
  const result = await createWorkspace(context, user.id, submission.value);
  if (result.kind === "invalid")
    return data(
      { result: submission.reply({ fieldErrors: result.fieldErrors, formErrors: result.formErrors }) },
      { status: 400 },
    );
  const { workspace } = result;
  await audit(context, request, {
    userId: user.id,
    action: "workspace.created",
    details: { workspaceId: workspace.id, size: workspace.size, location: workspace.location },
  });
  context.cloudflare.ctx.waitUntil(provision(context, workspace));
  return redirectWithToast(request, context, `/workspaces/${workspace.id}`, {
    kind: "success",
    title: "Creating your workspace",
    description: "It takes a minute or two.",
  });
}

export default function NewWorkspace() {
  const loaded = useLoaderData<typeof loader>();
  if (loaded.kind !== "form") return null;
  return (
    <div className="mx-auto max-w-2xl space-y-6">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-semibold">New workspace</h1>
        <Link to="/dashboard" className="text-sm text-indigo-700 underline dark:text-indigo-300">
          Back to workspaces
        </Link>
      </div>
      <WorkspacePrerequisites missing={loaded.missing} />
      {loaded.problem ? (
        <p role="alert" className="card border-red-300 text-sm text-red-700 dark:text-red-300">
          {loaded.problem}
        </p>
      ) : null}
      {loaded.missing.length === 0 && !loaded.problem ? <CreateForm data={loaded} /> : null}
    </div>
  );
}

type CreateFormOptions = Extract<ReturnType<typeof useLoaderData<typeof loader>>, { kind: "form" }>;

function CreateForm({ data: loaded }: { data: CreateFormOptions }) {
  const actionData = useActionData<{ result: SubmissionResult<string[]> }>();
  const navigation = useNavigation();
  const schema = useMemo(() => workspaceFormSchema(loaded.limits), [loaded.limits]);
  const [form, fields] = useForm({
    id: "create-workspace",
    lastResult: actionData?.result,
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    defaultValue: {
      size: loaded.sizes[0]?.size,
      location: loaded.locations[0]?.name,
      idleTimeoutMinutes: String(loaded.defaults.idleTimeoutMinutes),
      maxLifetimeHours: String(loaded.defaults.maxLifetimeHours),
      agentCli: "claude-code",
    },
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
  });
  const [repository, setRepository] = useState("");
  const [location, setLocation] = useState(loaded.locations[0]?.name ?? "");
  const chosen = loaded.repositories.find((candidate) => candidate.fullName === repository);
  const branches = useFetcher<{ kind: "branches"; branches: string[] }>();
  useEffect(() => {
    if (chosen) branches.load(`/workspaces/new?branches=${encodeURIComponent(chosen.fullName)}`);
    // Once per chosen repository: the fetcher is a new object on every render, so it is not a dependency.
  }, [chosen?.fullName]);
  const idleChoices = idleTimeoutChoices.filter((minutes) => minutes <= loaded.limits.maxIdleMinutes);
  const busy = navigation.state !== "idle";

  return (
    <Form method="post" {...getFormProps(form)} className="card space-y-5">
      <Field
        label="Name"
        inputProps={{
          ...getInputProps(fields.name, { type: "text" }),
          placeholder: "fix-login-bug",
          autoComplete: "off",
        }}
        errors={fields.name.errors}
      />

      <div>
        <Field
          label="Repository"
          hint={`${loaded.repositories.length} repositories your GitHub App installations can see; type to search.`}
          inputProps={{
            ...getInputProps(fields.repository, { type: "text" }),
            list: "repositories",
            autoComplete: "off",
            placeholder: "owner/name",
            onChange: (event) => setRepository(event.currentTarget.value),
          }}
          errors={fields.repository.errors}
        />
        <datalist id="repositories">
          {loaded.repositories.map((candidate) => (
            <option key={candidate.fullName} value={candidate.fullName}>
              {candidate.private ? "private" : "public"}
            </option>
          ))}
        </datalist>
      </div>

      <div>
        <Field
          label="Branch"
          hint={
            chosen
              ? `Leave empty for the default branch, ${chosen.defaultBranch}.`
              : "Leave empty for the repository's default branch."
          }
          inputProps={{
            ...getInputProps(fields.branch, { type: "text" }),
            list: "branches",
            autoComplete: "off",
            placeholder: chosen?.defaultBranch ?? "main",
          }}
          errors={fields.branch.errors}
        />
        <datalist id="branches">
          {(branches.data?.kind === "branches" ? branches.data.branches : []).map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </div>

      <div>
        <label htmlFor={fields.location.id} className="block text-sm font-medium">
          Location
        </label>
        <select
          {...getSelectProps(fields.location)}
          onChange={(event) => setLocation(event.currentTarget.value)}
          className="mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950"
        >
          {loaded.locations.map((candidate) => (
            <option key={candidate.name} value={candidate.name}>
              {candidate.city} ({candidate.name}, {candidate.country})
            </option>
          ))}
        </select>
        <ErrorList id={fields.location.errorId} errors={fields.location.errors} />
      </div>

      <fieldset>
        <legend className="text-sm font-medium">Size</legend>
        <div className="mt-1 grid gap-2 sm:grid-cols-3">
          {loaded.sizes.map((choice) => (
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
                {choice.serverType}: {choice.cores} vCPU, {choice.memory} GB RAM, {choice.disk} GB disk
              </span>
              <span className="font-mono text-xs" data-testid={`price-${choice.size}`}>
                {choice.hourly[location]
                  ? `${formatEuro(Number(choice.hourly[location]))}/h`
                  : `not offered in ${location}`}
              </span>
            </label>
          ))}
        </div>
        <ErrorList id={fields.size.errorId} errors={fields.size.errors} />
      </fieldset>

      <div className="grid gap-4 sm:grid-cols-2">
        <div>
          <label htmlFor={fields.idleTimeoutMinutes.id} className="block text-sm font-medium">
            Stop when idle for
          </label>
          <select
            {...getSelectProps(fields.idleTimeoutMinutes)}
            className="mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950"
          >
            {idleChoices.map((minutes) => (
              <option key={minutes} value={minutes}>
                {formatMinutes(minutes)}
              </option>
            ))}
          </select>
          <ErrorList id={fields.idleTimeoutMinutes.errorId} errors={fields.idleTimeoutMinutes.errors} />
        </div>
        <Field
          label="Maximum lifetime (hours)"
          hint={`Stopped after this long even when busy; at most ${loaded.limits.maxLifetimeHours} h.`}
          inputProps={{
            ...getInputProps(fields.maxLifetimeHours, { type: "number" }),
            min: 1,
            max: loaded.limits.maxLifetimeHours,
          }}
          errors={fields.maxLifetimeHours.errors}
        />
      </div>

      <fieldset>
        <legend className="text-sm font-medium">Agent CLI to install</legend>
        <div className="mt-1 flex flex-wrap gap-4 text-sm">
          {Object.entries(agentClis).map(([value, label]) => (
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

      <ErrorList id={form.errorId} errors={form.errors} />
      <button type="submit" className="btn-primary" disabled={busy}>
        {busy ? "Creating…" : "Create workspace"}
      </button>
    </Form>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="creating the workspace" />;
}
