import {
  getFormProps,
  getInputProps,
  getSelectProps,
  getTextareaProps,
  useForm,
  type SubmissionResult,
} from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ErrorList, Field } from "~/components/forms";
import { ConfirmAction } from "~/components/workspace-actions";
import { ENV_VALUE_MAX_BYTES, saveEnvironmentVariableSchema } from "~/settings/environment-schema";
import { environmentAction, loadEnvironmentSettings } from "~/settings/environment.server";

export const meta: MetaFunction = () => [{ title: "Environment · Settings · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  return loadEnvironmentSettings(context, user);
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  return environmentAction(request, context, user);
}

type ActionData = { form: string; result: SubmissionResult<string[]> } | undefined;
type Variable = ReturnType<typeof useLoaderData<typeof loader>>["variables"][number];

const dateFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

export default function EnvironmentSettings() {
  const { variables, limit } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-8">
      <section className="card" aria-labelledby="environment-heading">
        <h2 id="environment-heading" className="text-lg font-semibold">
          Workspace environment variables
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          What you save here is given to your workspaces on purpose: SAM exports it in every terminal, coding-agent
          session and the repository's setup script, where anything running in the workspace can read it. Values are
          stored encrypted and sent only to your own workspaces while they start or run. SAM's own credentials (your
          Hetzner token, model keys, git tokens) are never among them, and names SAM sets itself are refused.
        </p>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          A variable for one repository replaces one of the same name for all repositories.
        </p>
        <VariablesTable variables={variables} />
        <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
          {variables.length} of at most {limit} variables.
        </p>
      </section>

      <section className="card" aria-labelledby="add-variable-heading">
        <h2 id="add-variable-heading" className="text-lg font-semibold">
          Add or replace a variable
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Saving a name that already exists for the chosen repositories replaces its value.
        </p>
        {/* A fresh form after each save or delete: the value just saved (a secret, too) is not left on screen. */}
        <VariableForm key={variables.map((variable) => `${variable.id}@${variable.updatedAt}`).join()} />
      </section>
    </div>
  );
}

function VariablesTable({ variables }: { variables: Variable[] }) {
  if (!variables.length) return <p className="mt-4 text-sm text-zinc-600 dark:text-zinc-400">No variables yet.</p>;
  return (
    <div className="mt-4 overflow-x-auto">
      <table className="w-full text-left text-sm" aria-label="Environment variables">
        <thead className="text-xs text-zinc-600 uppercase dark:text-zinc-400">
          <tr>
            <th className="py-2 pr-4">Name</th>
            <th className="py-2 pr-4">Repositories</th>
            <th className="py-2 pr-4">Value</th>
            <th className="py-2 pr-4">Updated (UTC)</th>
            <th className="py-2">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
          {variables.map((variable) => (
            <tr key={variable.id} data-variable={variable.name}>
              <td className="py-2 pr-4 font-mono font-semibold">{variable.name}</td>
              <td className="py-2 pr-4 whitespace-nowrap">{variable.scope || "All repositories"}</td>
              <td className="py-2 pr-4">
                {variable.secret ? (
                  <span>
                    <span className="font-mono">••••{variable.last4}</span>{" "}
                    <span className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
                      secret
                    </span>
                  </span>
                ) : (
                  <code className="block max-w-64 truncate font-mono" title={variable.value ?? ""}>
                    {variable.value}
                  </code>
                )}
              </td>
              <td className="py-2 pr-4 whitespace-nowrap">{dateFormat.format(new Date(variable.updatedAt))}</td>
              <td className="py-2">
                <ConfirmAction
                  intent="remove-variable"
                  fields={{ id: variable.id }}
                  label="Delete"
                  question={`Delete ${variable.name} for ${variable.scope || "all repositories"}?`}
                  confirmLabel="Yes, delete"
                  danger
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function VariableForm() {
  const { repositories, repositoriesProblem } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
  const navigation = useNavigation();
  const [form, fields] = useForm({
    id: "variable",
    lastResult: actionData?.form === "save" ? actionData.result : undefined,
    defaultValue: { secret: "on", scope: "" },
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: saveEnvironmentVariableSchema }),
  });
  const busy = navigation.state !== "idle" && navigation.formData?.get("intent") === "save-variable";
  const describedBy = (id: string, errors: unknown[] | undefined, hintId?: string) =>
    [hintId, errors?.length ? `${id}-error` : undefined].filter(Boolean).join(" ") || undefined;
  return (
    <Form method="post" {...getFormProps(form)} className="mt-4 space-y-4">
      <input type="hidden" name="intent" value="save-variable" />
      <Field
        label="Name"
        hint="Letters, digits and _, like API_URL. Names SAM sets (ANTHROPIC_*, OPENAI_*, SAM_*, GIT_*, PATH, HOME, …) are refused."
        inputProps={{
          ...getInputProps(fields.name, { type: "text" }),
          autoComplete: "off",
          spellCheck: false,
          placeholder: "API_URL",
        }}
        errors={fields.name.errors}
      />
      <div>
        <label htmlFor={fields.value.id} className="block text-sm font-medium">
          Value
        </label>
        <textarea
          {...getTextareaProps(fields.value)}
          rows={3}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={fields.value.errors?.length ? true : undefined}
          aria-describedby={describedBy(fields.value.id, fields.value.errors, `${fields.value.id}-hint`)}
          className="mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-1.5 font-mono text-sm shadow-sm focus:border-indigo-500 aria-[invalid]:border-red-500 dark:border-zinc-700 dark:bg-zinc-950"
        />
        <p id={`${fields.value.id}-hint`} className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
          Up to {ENV_VALUE_MAX_BYTES / 1024} KiB; several lines (a key file) are kept as they are.
        </p>
        <ErrorList id={`${fields.value.id}-error`} errors={fields.value.errors} />
      </div>
      <div>
        <div className="flex items-center gap-2">
          <input
            {...getInputProps(fields.secret, { type: "checkbox" })}
            aria-describedby={`${fields.secret.id}-hint`}
            className="h-4 w-4 rounded border-zinc-300 text-indigo-600 dark:border-zinc-700"
          />
          <label htmlFor={fields.secret.id} className="text-sm font-medium">
            Secret
          </label>
        </div>
        <p id={`${fields.secret.id}-hint`} className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
          A secret is shown here only by its last 4 characters (none when it is short), never again in full.
        </p>
      </div>
      <div>
        <label htmlFor={fields.scope.id} className="block text-sm font-medium">
          Repositories
        </label>
        <select
          {...getSelectProps(fields.scope)}
          aria-invalid={fields.scope.errors?.length ? true : undefined}
          aria-describedby={describedBy(
            fields.scope.id,
            fields.scope.errors,
            repositoriesProblem ? `${fields.scope.id}-hint` : undefined,
          )}
          className="mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm aria-[invalid]:border-red-500 dark:border-zinc-700 dark:bg-zinc-950"
        >
          <option value="">All repositories</option>
          {repositories.map((repository) => (
            <option key={repository} value={repository}>
              {repository}
            </option>
          ))}
        </select>
        {repositoriesProblem ? (
          <p id={`${fields.scope.id}-hint`} className="mt-1 text-xs text-amber-700 dark:text-amber-400">
            {repositoriesProblem}
          </p>
        ) : null}
        <ErrorList id={`${fields.scope.id}-error`} errors={fields.scope.errors} />
      </div>
      <ErrorList id={form.errorId} errors={form.errors} />
      <button type="submit" className="btn-primary" disabled={busy}>
        {busy ? "Saving…" : "Save variable"}
      </button>
    </Form>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing or saving your environment variables" />;
}
