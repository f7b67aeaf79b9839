import { getFormProps, getInputProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { useState } from "react";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ErrorList, Field } from "~/components/forms";
import {
  agentCredentialKinds,
  agentCredentialSchema,
  hetznerTokenSchema,
  type AgentCredentialKind,
} from "~/settings/schema";
import { loadSettings, settingsAction } from "~/settings/settings.server";

export const meta: MetaFunction = () => [{ title: "Settings · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  return loadSettings(context, user);
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  return settingsAction(request, context, user);
}

type ActionData = { form: string; result: SubmissionResult<string[]> } | undefined;

const dateFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

export default function Settings() {
  const { credentials, installations, installUrl } = useLoaderData<typeof loader>();
  const saved = (kind: string) => credentials.find((credential) => credential.kind === kind);
  const hetznerToken = saved("hetzner");
  return (
    <div className="space-y-8">
      <section className="card" aria-labelledby="hetzner-heading">
        <h2 id="hetzner-heading" className="text-lg font-semibold">
          Hetzner Cloud token
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Workspaces run as servers in your own Hetzner Cloud project. Create a token with{" "}
          <strong>Read &amp; Write</strong> access under Security → API tokens. It is checked with Hetzner, stored
          encrypted, and never shown again.
        </p>
        {hetznerToken ? (
          <SavedCredential kind="hetzner" last4={hetznerToken.last4} updatedAt={hetznerToken.updatedAt} />
        ) : null}
        <HetznerForm replacing={Boolean(hetznerToken)} />
      </section>

      <section className="card" aria-labelledby="github-heading">
        <h2 id="github-heading" className="text-lg font-semibold">
          GitHub repositories
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Workspaces clone repositories through SAM's GitHub App. Install it on your account or organisation and pick
          the repositories it may read.
        </p>
        {installations.length ? (
          <ul
            className="mt-4 divide-y divide-zinc-200 rounded-md border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
            aria-label="Installations"
          >
            {installations.map((installation) => (
              <li key={installation.installationId} className="flex items-center justify-between px-4 py-2 text-sm">
                <span>
                  <span className="font-medium">{installation.accountLogin}</span>{" "}
                  <span className="text-zinc-600 dark:text-zinc-400">({installation.accountType})</span>
                  {installation.suspended ? (
                    <span className="ml-2 text-amber-700 dark:text-amber-400">suspended</span>
                  ) : null}
                </span>
                <span className="text-zinc-600 dark:text-zinc-400">
                  {installation.repositorySelection === "all" ? "all repositories" : "selected repositories"}
                  {installation.repositoryCount !== null
                    ? ` · ${installation.repositoryCount} ${installation.repositoryCount === 1 ? "repository" : "repositories"}`
                    : ""}
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="mt-4 text-sm text-zinc-600 dark:text-zinc-400">No installation yet.</p>
        )}
        <a href={installUrl} className="btn-secondary mt-4">
          Install the GitHub App
        </a>
      </section>

      <section className="card" aria-labelledby="agents-heading">
        <h2 id="agents-heading" className="text-lg font-semibold">
          Coding agent credentials
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Optional. Stored encrypted; shown here only by their last 4 characters.
        </p>
        <ul className="mt-4 space-y-2">
          {(Object.keys(agentCredentialKinds) as AgentCredentialKind[]).map((kind) => {
            const credential = saved(kind);
            return credential ? (
              <li key={kind}>
                <SavedCredential kind={kind} last4={credential.last4} updatedAt={credential.updatedAt} />
              </li>
            ) : null;
          })}
        </ul>
        <AgentCredentialForm />
      </section>
    </div>
  );
}

function credentialLabel(kind: string) {
  return kind === "hetzner" ? "Hetzner Cloud token" : agentCredentialKinds[kind as AgentCredentialKind].label;
}

function SavedCredential({ kind, last4, updatedAt }: { kind: string; last4: string; updatedAt: string }) {
  return (
    <div
      className="mt-4 flex items-center justify-between rounded-md bg-zinc-100 px-4 py-2 text-sm dark:bg-zinc-800"
      data-testid={`saved-${kind}`}
    >
      <span>
        {credentialLabel(kind)} ending in <span className="font-mono font-semibold">{last4}</span>
        <span className="text-zinc-600 dark:text-zinc-400"> · saved {dateFormat.format(new Date(updatedAt))} UTC</span>
      </span>
      <Form method="post">
        <input type="hidden" name="intent" value="remove" />
        <input type="hidden" name="kind" value={kind} />
        <button type="submit" className="btn-secondary" aria-label={`Remove ${credentialLabel(kind)}`}>
          Remove
        </button>
      </Form>
    </div>
  );
}

function HetznerForm({ replacing }: { replacing: boolean }) {
  const actionData = useActionData<ActionData>();
  const navigation = useNavigation();
  const [form, fields] = useForm({
    id: "hetzner",
    lastResult: actionData?.form === "hetzner" ? actionData.result : undefined,
    constraint: {},
    shouldValidate: "onSubmit",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: hetznerTokenSchema }),
  });
  const busy = navigation.state !== "idle" && navigation.formData?.get("intent") === "save-hetzner";
  return (
    <Form method="post" {...getFormProps(form)} className="mt-4 space-y-3">
      <input type="hidden" name="intent" value="save-hetzner" />
      <Field
        label={replacing ? "Replace with a new token" : "API token"}
        inputProps={{ ...getInputProps(fields.token, { type: "password" }), autoComplete: "off", spellCheck: false }}
        errors={fields.token.errors}
      />
      <ErrorList id={form.errorId} errors={form.errors} />
      <button type="submit" className="btn-primary" disabled={busy}>
        {busy ? "Checking with Hetzner…" : "Check and save"}
      </button>
    </Form>
  );
}

function AgentCredentialForm() {
  const actionData = useActionData<ActionData>();
  const [kind, setKind] = useState<AgentCredentialKind>("anthropic_api_key");
  const [form, fields] = useForm({
    id: "agent",
    lastResult: actionData?.form === "agent" ? actionData.result : undefined,
    shouldValidate: "onSubmit",
    onValidate: ({ formData }) => parseWithZod(formData, { schema: agentCredentialSchema }),
  });
  return (
    <Form method="post" {...getFormProps(form)} className="mt-4 space-y-3">
      <input type="hidden" name="intent" value="save-agent" />
      <div>
        <label htmlFor={fields.kind.id} className="block text-sm font-medium">
          Credential
        </label>
        <select
          id={fields.kind.id}
          name={fields.kind.name}
          value={kind}
          onChange={(event) => setKind(event.target.value as AgentCredentialKind)}
          className="mt-1 block w-full rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950"
        >
          {(Object.keys(agentCredentialKinds) as AgentCredentialKind[]).map((value) => (
            <option key={value} value={value}>
              {agentCredentialKinds[value].label}
            </option>
          ))}
        </select>
      </div>
      <Field
        label="Key"
        hint={agentCredentialKinds[kind].hint}
        inputProps={{ ...getInputProps(fields.secret, { type: "password" }), autoComplete: "off", spellCheck: false }}
        errors={fields.secret.errors}
      />
      <ErrorList id={form.errorId} errors={form.errors} />
      <button type="submit" className="btn-primary">
        Save
      </button>
    </Form>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing or saving your settings" />;
}
