import { getFormProps, getInputProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import {
  Form,
  Link,
  useActionData,
  useLoaderData,
  useNavigation,
  useRevalidator,
  useSearchParams,
} from "@remix-run/react";
import { useEffect } from "react";
import { BUILD_IMAGE_INTENT, hetznerLocations, policyFormSchema } from "~/admin/schema";
import { adminAction, loadAdmin } from "~/admin/admin.server";
import { adminImageBuild, type AdminImageView } from "~/admin/image.server";
import { requireAdmin } from "~/auth/auth.server";
import { AuditTable } from "~/components/audit-table";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { ErrorList, Field } from "~/components/forms";
import { Pager } from "~/components/pager";
import { sizes } from "~/workspaces/sizes";
import { formatMonthly } from "~/workspaces/cost";
import { WorkspaceFilterFields } from "~/components/workspace-filter-fields";

export const meta: MetaFunction = () => [{ title: "Admin · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const admin = await requireAdmin(request, context);
  // First, so the audit log below already shows a build this load finished.
  const image = await adminImageBuild(context, request, admin.id, false);
  return { ...(await loadAdmin(context, new URL(request.url))), image };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requireAdmin(request, context);
  return adminAction(request, context, admin);
}

const date = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" });
const euro = new Intl.NumberFormat("en", { style: "currency", currency: "EUR", maximumFractionDigits: 4 });

export default function Admin() {
  const {
    policy,
    users,
    usersTotal,
    usersNextCursor,
    workspaces,
    workspacesTotal,
    workspacesNextCursor,
    workspacesFiltered,
    volumes,
    volumesTotal,
    volumesTotalGb,
    volumesMonthlyPrice,
    volumesNextCursor,
    now,
    audit,
    auditNextCursor,
    image,
  } = useLoaderData<typeof loader>();
  const [searchParams] = useSearchParams();
  const actionData = useActionData<{ result: SubmissionResult<string[]> }>();
  const [form, fields] = useForm({
    id: "policy",
    lastResult: actionData?.result,
    shouldValidate: "onBlur",
    defaultValue: { ...policy, allowedLogins: (policy.allowedLogins ?? []).join(", ") },
    onValidate: ({ formData }) => parseWithZod(formData, { schema: policyFormSchema }),
  });
  const checkbox = "h-4 w-4 rounded border-zinc-300 text-indigo-600";
  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-semibold">Admin</h1>
      <p className="text-sm">
        <Link to="/admin/smoke" className="underline">
          Smoke test after a deployment
        </Link>
      </p>
      <section className="card" aria-labelledby="policy-heading">
        <h2 id="policy-heading" className="text-lg font-semibold">
          Instance policy
        </h2>
        <Form method="post" {...getFormProps(form)} className="mt-4 grid gap-5 sm:grid-cols-2">
          <fieldset>
            <legend className="text-sm font-medium">Sizes users may choose</legend>
            {Object.entries(sizes).map(([name, size]) => (
              <label key={name} className="mt-1 flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  name={fields.allowedSizes.name}
                  value={name}
                  defaultChecked={policy.allowedSizes.includes(name as never)}
                  className={checkbox}
                />
                {size.label} ({size.serverType})
              </label>
            ))}
            <ErrorList errors={fields.allowedSizes.errors} />
          </fieldset>
          <fieldset>
            <legend className="text-sm font-medium">Locations users may choose</legend>
            {Object.entries(hetznerLocations).map(([name, label]) => (
              <label key={name} className="mt-1 flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  name={fields.allowedLocations.name}
                  value={name}
                  defaultChecked={policy.allowedLocations.includes(name)}
                  className={checkbox}
                />
                {label} ({name})
              </label>
            ))}
            <ErrorList errors={fields.allowedLocations.errors} />
          </fieldset>
          <Field
            label="Live workspaces per user"
            inputProps={getInputProps(fields.maxWorkspacesPerUser, { type: "number" })}
            errors={fields.maxWorkspacesPerUser.errors}
          />
          <div />
          <Field
            label="Default idle timeout (minutes)"
            inputProps={getInputProps(fields.defaultIdleMinutes, { type: "number" })}
            errors={fields.defaultIdleMinutes.errors}
          />
          <Field
            label="Maximum idle timeout (minutes)"
            inputProps={getInputProps(fields.maxIdleMinutes, { type: "number" })}
            errors={fields.maxIdleMinutes.errors}
          />
          <Field
            label="Default lifetime (hours)"
            inputProps={getInputProps(fields.defaultLifetimeHours, { type: "number" })}
            errors={fields.defaultLifetimeHours.errors}
          />
          <Field
            label="Maximum lifetime (hours)"
            inputProps={getInputProps(fields.maxLifetimeHours, { type: "number" })}
            errors={fields.maxLifetimeHours.errors}
          />
          <fieldset className="grid gap-5 sm:col-span-2 sm:grid-cols-2">
            <legend className="text-sm font-medium">Volumes</legend>
            <div className="sm:col-span-2">
              <label className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  id={fields.volumesEnabled.id}
                  name={fields.volumesEnabled.name}
                  defaultChecked={policy.volumesEnabled}
                  aria-describedby={`${fields.volumesEnabled.id}-hint`}
                  className={checkbox}
                />
                Give each new workspace a volume that keeps its files while it is stopped
              </label>
              <p id={`${fields.volumesEnabled.id}-hint`} className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
                Hetzner bills a volume by the month whether a server uses it or not, so stopped workspaces cost their
                volume until it is deleted.
              </p>
              <ErrorList errors={fields.volumesEnabled.errors} />
            </div>
            <Field
              label="Volume size of a new workspace (GB)"
              hint="Hetzner's smallest volume is 10 GB."
              inputProps={getInputProps(fields.volumeDefaultGb, { type: "number" })}
              errors={fields.volumeDefaultGb.errors}
            />
            <Field
              label="Largest volume (GB)"
              inputProps={getInputProps(fields.volumeMaxGb, { type: "number" })}
              errors={fields.volumeMaxGb.errors}
            />
            <Field
              label="Volumes per user, in total (GB)"
              hint="A new workspace that would take a user past this is refused."
              inputProps={getInputProps(fields.volumeTotalGbPerUser, { type: "number" })}
              errors={fields.volumeTotalGbPerUser.errors}
            />
            <div />
            <Field
              label="Keep a stopped workspace's volume for (days)"
              hint="Counted from the stop; then the volume and the files on it are deleted (audited)."
              inputProps={getInputProps(fields.volumeRetentionDays, { type: "number" })}
              errors={fields.volumeRetentionDays.errors}
            />
            <Field
              label="Remind the owner this many days before (0: no reminder)"
              inputProps={getInputProps(fields.volumeReminderDays, { type: "number" })}
              errors={fields.volumeReminderDays.errors}
            />
          </fieldset>
          <div className="sm:col-span-2">
            <Field
              label="GitHub logins allowed to sign in"
              hint="Comma- or space-separated. Empty: anyone with a GitHub account. Admins can always sign in. Each login stays tied to the first GitHub account seen with it, so a login renamed away and registered by someone else does not let them in."
              inputProps={getInputProps(fields.allowedLogins, { type: "text" })}
              errors={fields.allowedLogins.errors}
            />
          </div>
          <div className="sm:col-span-2">
            <ErrorList id={form.errorId} errors={form.errors} />
            <button type="submit" className="btn-primary">
              Save policy
            </button>
          </div>
        </Form>
      </section>

      <ImageSection image={image} />

      <section className="card" aria-labelledby="users-heading">
        <h2 id="users-heading" className="text-lg font-semibold">
          Users ({usersTotal})
        </h2>
        <table className="mt-3 w-full text-left text-sm" aria-label="Users">
          <thead className="text-xs text-zinc-600 uppercase dark:text-zinc-400">
            <tr>
              <th className="py-2">Login</th>
              <th className="py-2">Joined</th>
              <th className="py-2">Last sign-in</th>
              <th className="py-2">Workspaces</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
            {users.map((user) => (
              <tr key={user.id}>
                <td className="py-2">{user.login}</td>
                <td className="py-2">{date.format(new Date(user.createdAt))}</td>
                <td className="py-2">{user.lastSignInAt ? date.format(new Date(user.lastSignInAt)) : "—"}</td>
                <td className="py-2">{user.workspaces}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="mt-3">
          <Pager param="users_cursor" nextCursor={usersNextCursor} label="Users pages" preventScrollReset />
        </div>
      </section>

      <section className="card space-y-3" aria-labelledby="workspaces-heading">
        <h2 id="workspaces-heading" className="text-lg font-semibold">
          Workspaces ({workspacesTotal}
          {workspacesFiltered ? " match" : ""})
        </h2>
        <Form
          method="get"
          className="flex flex-wrap items-end gap-3"
          role="search"
          aria-label="Filter all workspaces"
          preventScrollReset
        >
          {/* The other lists stay on the page they were on. */}
          {["users_cursor", "vol_cursor", "audit_cursor"].map((name) =>
            searchParams.has(name) ? (
              <input key={name} type="hidden" name={name} value={searchParams.get(name) ?? ""} />
            ) : null,
          )}
          <WorkspaceFilterFields
            idPrefix="admin-workspace"
            searchName="ws_q"
            statusName="ws_status"
            placeholder="Name, repository or owner"
            searchParams={searchParams}
          />
          <button type="submit" className="btn-secondary">
            Filter
          </button>
          {workspacesFiltered ? (
            <Link to={clearWorkspaceFilter(searchParams)} className="btn-secondary" preventScrollReset>
              Clear
            </Link>
          ) : null}
        </Form>
        {workspaces.length ? (
          <table className="w-full text-left text-sm" aria-label="All workspaces">
            <thead className="text-xs text-zinc-600 uppercase dark:text-zinc-400">
              <tr>
                <th className="py-2">Name</th>
                <th className="py-2">Owner</th>
                <th className="py-2">Status</th>
                <th className="py-2">Repository</th>
                <th className="py-2">Size · location</th>
                <th className="py-2">Cost so far</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
              {workspaces.map((workspace) => (
                <tr key={workspace.id}>
                  <td className="py-2">{workspace.name}</td>
                  <td className="py-2">{workspace.login}</td>
                  <td className="py-2">{workspace.status}</td>
                  <td className="py-2 font-mono text-xs break-all">{workspace.repository ?? "—"}</td>
                  <td className="py-2">
                    {workspace.size} · {workspace.location}
                  </td>
                  <td className="py-2">{workspace.cost === null ? "—" : euro.format(workspace.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {workspacesFiltered ? "No workspace matches this search." : "No workspaces yet."}
          </p>
        )}
        <Pager param="ws_cursor" nextCursor={workspacesNextCursor} label="Workspaces pages" preventScrollReset />
      </section>

      <section className="card space-y-3" aria-labelledby="volumes-heading">
        <h2 id="volumes-heading" className="text-lg font-semibold">
          Volumes ({volumesTotal})
        </h2>
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="volumes-summary">
          {volumesTotalGb} GB in all, {formatMonthly(volumesMonthlyPrice)}, billed to their owners' Hetzner projects
          whether a server runs or not. A stopped workspace keeps its volume {policy.volumeRetentionDays} days.
        </p>
        {volumes.length ? (
          <table className="w-full text-left text-sm" aria-label="All volumes">
            <thead className="text-xs text-zinc-600 uppercase dark:text-zinc-400">
              <tr>
                <th className="py-2">Workspace</th>
                <th className="py-2">Owner</th>
                <th className="py-2">Size · location</th>
                <th className="py-2">Monthly price</th>
                <th className="py-2">Stopped since</th>
                <th className="py-2">Deleted on</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
              {volumes.map((volume) => (
                <tr key={volume.volumeId} data-volume={volume.volumeId}>
                  <td className="py-2">
                    {volume.workspaceName}{" "}
                    <span className="text-zinc-600 dark:text-zinc-400">
                      ({volume.status}, volume {volume.volumeId})
                    </span>
                  </td>
                  <td className="py-2">
                    {volume.login}
                    {volume.ownerMaySignIn ? null : (
                      <span className="text-zinc-600 dark:text-zinc-400"> (may no longer sign in)</span>
                    )}
                  </td>
                  <td className="py-2">
                    {volume.sizeGb ?? "?"} GB · {volume.location}
                  </td>
                  <td className="py-2">{formatMonthly(volume.monthlyPrice)}</td>
                  <td className="py-2">
                    {volume.restingSince ? date.format(new Date(volume.restingSince)) : "in use"}
                  </td>
                  <td className="py-2">
                    {volume.deleteAt
                      ? `${date.format(new Date(volume.deleteAt))}${volume.deleteAt <= now ? " (due: the sweep deletes it with the owner's Hetzner token)" : ""}`
                      : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">No volumes.</p>
        )}
        <Pager param="vol_cursor" nextCursor={volumesNextCursor} label="Volumes pages" preventScrollReset />
      </section>

      <section className="card" aria-labelledby="audit-heading">
        <h2 id="audit-heading" className="mb-3 text-lg font-semibold">
          Audit log
        </h2>
        <AuditTable entries={audit} showUser />
        <div className="mt-3">
          <Pager param="audit_cursor" nextCursor={auditNextCursor} label="Audit log pages" preventScrollReset />
        </div>
      </section>
    </div>
  );
}

/** The page without the workspaces' filter and place, the other lists staying where they are. */
function clearWorkspaceFilter(searchParams: URLSearchParams) {
  const params = new URLSearchParams(searchParams);
  for (const name of ["ws_q", "ws_status", "ws_cursor"]) params.delete(name);
  return `?${params}`;
}

/** While a build runs, the page reloads its data every few seconds: each load moves the build on. */
const IMAGE_POLL_MS = 5000;

function ImageSection({ image }: { image: AdminImageView }) {
  const running = image.phase === "installing" || image.phase === "snapshotting";
  const revalidator = useRevalidator();
  const navigation = useNavigation();
  const submitting = navigation.formData?.get("intent") === BUILD_IMAGE_INTENT;
  useEffect(() => {
    if (!running || revalidator.state !== "idle") return;
    const timer = setTimeout(() => revalidator.revalidate(), IMAGE_POLL_MS);
    return () => clearTimeout(timer);
  }, [running, revalidator, image]);
  return (
    <section className="card" aria-labelledby="image-heading">
      <h2 id="image-heading" className="text-lg font-semibold">
        SAM image
      </h2>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        A snapshot with Node.js, npm and the pinned coding-agent CLIs, so new x86 workspaces in your Hetzner project
        skip those downloads. SAM builds it on a throw-away cx23 (a few cents) and deletes older images.
      </p>
      <p className="mt-3 text-sm" aria-live="polite" data-testid="image-status" data-phase={image.phase}>
        {image.message}
      </p>
      {"image" in image && image.image ? (
        <p className="mt-1 text-sm" data-testid="image-current">
          Current image: {image.image.id} ({image.image.version}), made {date.format(new Date(image.image.created))}
        </p>
      ) : null}
      <Form method="post" className="mt-4">
        <button
          type="submit"
          name="intent"
          value={BUILD_IMAGE_INTENT}
          className="btn-primary"
          disabled={running || submitting}
        >
          {running ? "Building…" : "Build SAM image"}
        </button>
      </Form>
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing the administration page" />;
}
