import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { data, redirect } from "@remix-run/cloudflare";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { audit } from "~/platform/audit.server";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { Timeline } from "~/components/timeline";
import { ConfirmAction } from "~/components/workspace-actions";
import {
  formatEuro,
  formatUntil,
  inTransition,
  useLiveRevalidation,
  WorkspaceStatusBadge,
} from "~/components/workspace-status";
import { repositoryAccess } from "~/github/installations.server";
import { getPolicy } from "~/admin/policy.server";
import { redirectWithToast } from "~/platform/toast.server";
import { agentClis, formatMinutes, IDLE_WARNING_MS } from "~/workspaces/schema";
import { provision } from "~/workspaces/provision.server";
import { finishStop } from "~/workspaces/teardown.server";
import {
  claimDelete,
  claimRestart,
  claimStop,
  countLiveWorkspaces,
  getWorkspace,
  keepAlive,
  listEvents,
  presentWorkspace,
  stopReasons,
} from "~/workspaces/workspaces.server";
import { notFound, readForm } from "~/platform/responses.server";
import { formatHourly, formatMonthly } from "~/workspaces/cost";
import { describeUnsavedWork, unsavedWorkAtRisk } from "~/workspaces/unsaved-work";
import { presentVolume, requestSetupRerun } from "~/workspaces/volume-view.server";
import { LIVE_STATUSES } from "~/db/schema";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.workspace.name ?? "Workspace"} · Simple Agent Manager` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const workspace = await getWorkspace(context.db, { id: params.id ?? "", userId: user.id });
  if (!workspace) throw notFound("There is no workspace with this address, or it is not yours.");
  const [events, volume] = await Promise.all([listEvents(context.db, workspace.id), presentVolume(context, workspace)]);
  return {
    workspace: presentWorkspace(workspace),
    ...volume,
    events: events.map((event) => ({
      id: event.id,
      step: event.step,
      status: event.status,
      message: event.message,
      at: event.createdAt.getTime(),
    })),
  };
}

const intentSchema = z.object({
  intent: z.enum(["stop", "restart", "delete", "keep-alive", "rerun-setup"]),
  // The delete form's checkbox, required when the agent reported work that is only on the workspace.
  confirmLoss: z.literal("on").optional(),
  // The terminal page's menu keeps the user on the terminal (and its session) after "keep alive".
  returnTo: z
    .string()
    .regex(/^\/workspaces\/[a-z2-7]{12}\/terminal(\?session=[\w-]+)?$/)
    .optional(),
});

export async function action({ request, context, params }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const workspace = await getWorkspace(context.db, { id: params.id ?? "", userId: user.id });
  if (!workspace) throw notFound("There is no workspace with this address, or it is not yours.");
  const parsed = intentSchema.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) throw new Response("Unknown action", { status: 400 });
  const scope = { id: workspace.id, userId: user.id };
  const here = `/workspaces/${workspace.id}`;
  const record = (action: string) =>
    audit(context, request, { userId: user.id, action, details: { workspaceId: workspace.id } });

  switch (parsed.data.intent) {
    case "stop": {
      const claimed = await claimStop(context, scope, stopReasons.user);
      if (!claimed)
        return redirectWithToast(request, context, here, {
          kind: "info",
          title: "Nothing to stop",
          description: `The workspace is ${workspace.status}.`,
        });
      await record("workspace.stopped");
      context.cloudflare.ctx.waitUntil(finishStop(context, claimed));
      return redirectWithToast(request, context, here, {
        kind: "success",
        title: "Stopping",
        description: "The server is being deleted; the workspace stays, ready to restart.",
      });
    }
    case "restart": {
      const policy = await getPolicy(context);
      if ((await countLiveWorkspaces(context.db, user.id)) >= policy.maxWorkspacesPerUser) {
        return redirectWithToast(request, context, here, {
          kind: "error",
          title: "Too many live workspaces",
          description: `This instance allows ${policy.maxWorkspacesPerUser}: stop or delete one first.`,
        });
      }
      // Access to the repository is checked again with the user's own GitHub token: the App could still
      // clone it for someone who has since lost access.
      const access = await repositoryAccess(context, user.id, workspace.repository);
      if (access === "reauthenticate") throw redirect(`/auth/github?${new URLSearchParams({ redirectTo: here })}`);
      if (access === "denied") {
        return redirectWithToast(request, context, here, {
          kind: "error",
          title: "No access to the repository",
          description: `GitHub no longer shows ${workspace.repository} to your account, so the workspace cannot be restarted. Delete it, or ask for access again.`,
        });
      }
      const claimed = await claimRestart(context, scope);
      if (!claimed)
        return redirectWithToast(request, context, here, {
          kind: "info",
          title: "Nothing to restart",
          description: `The workspace is ${workspace.status}.`,
        });
      await record("workspace.restarted");
      context.cloudflare.ctx.waitUntil(provision(context, claimed));
      return redirectWithToast(request, context, here, {
        kind: "success",
        title: "Restarting",
        description: "A fresh server is being created.",
      });
    }
    case "delete": {
      const atRisk = unsavedWorkAtRisk(workspace);
      if (atRisk && !parsed.data.confirmLoss) {
        return data(
          {
            error: `${describeUnsavedWork(atRisk)} will be lost with the volume. Commit and push them first, or confirm that they may be lost.`,
          },
          { status: 400 },
        );
      }
      const claimed = await claimDelete(context, scope);
      if (!claimed)
        return redirectWithToast(request, context, here, {
          kind: "info",
          title: "Already on its way",
          description: "The workspace is stopping; delete it once it has stopped.",
        });
      await record("workspace.deleted");
      context.cloudflare.ctx.waitUntil(finishStop(context, claimed, { remove: true }));
      return redirectWithToast(request, context, "/dashboard", {
        kind: "success",
        title: `Deleting ${workspace.name}`,
        description: workspace.volumeId
          ? "Its server, volume and DNS record are being removed."
          : "Its server and DNS record are being removed.",
      });
    }
    case "rerun-setup": {
      await requestSetupRerun(context.db, scope);
      await record("workspace.setup_rerun_requested");
      return redirectWithToast(request, context, here, {
        kind: "success",
        title: "Setup runs again on the next start",
        description:
          workspace.status === "running"
            ? "Stop and restart the workspace to run it now; the files on the volume stay."
            : "It runs when the workspace starts next.",
      });
    }
    case "keep-alive": {
      const back = parsed.data.returnTo?.startsWith(`${here}/terminal`) ? parsed.data.returnTo : here;
      if (!(await keepAlive(context.db, scope))) {
        return redirectWithToast(request, context, back, {
          kind: "info",
          title: "Nothing to keep alive",
          description: `The workspace is ${workspace.status}.`,
        });
      }
      return redirectWithToast(request, context, back, {
        kind: "success",
        title: "Kept alive",
        description: "The idle timer starts again now.",
      });
    }
  }
}

export default function WorkspacePage() {
  const { workspace, events, volume, unsavedWork } = useLoaderData<typeof loader>();
  const actionData = useActionData<{ error: string }>();
  const live = (LIVE_STATUSES as readonly string[]).includes(workspace.status);
  useLiveRevalidation(
    inTransition(workspace.status) || workspace.status === "running",
    inTransition(workspace.status) ? 2000 : 15000,
  );
  const untilStop = workspace.stopsAt ? workspace.stopsAt - workspace.now : null;
  const warnIdle =
    workspace.status === "running" &&
    workspace.stopReason === "idle" &&
    untilStop !== null &&
    untilStop <= IDLE_WARNING_MS;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-4">
        <div>
          <Link to="/dashboard" className="text-sm text-indigo-700 underline dark:text-indigo-300">
            Workspaces
          </Link>
          <h1 className="mt-1 flex items-center gap-3 text-2xl font-semibold">
            {workspace.name} <WorkspaceStatusBadge status={workspace.status} />
          </h1>
          <p className="mt-1 font-mono text-xs text-zinc-600 dark:text-zinc-400">ws-{workspace.id}</p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          {workspace.status === "running" ? (
            <Link to={`/workspaces/${workspace.id}/terminal`} className="btn-primary">
              Open terminal
            </Link>
          ) : null}
          {workspace.status === "running" ? (
            <Link to={`/workspaces/${workspace.id}/chat/new`} className="btn-secondary">
              Open chat
            </Link>
          ) : null}
          {workspace.status === "running" || workspace.status === "creating" ? (
            <ConfirmAction
              intent="stop"
              label="Stop"
              question={
                volume
                  ? "Delete the server? The files on the volume stay; the workspace can be restarted."
                  : "Delete the server? Files on it are lost; the workspace can be restarted."
              }
              confirmLabel="Yes, stop"
            />
          ) : null}
          {workspace.status === "stopped" || workspace.status === "error" ? (
            <Form method="post">
              <input type="hidden" name="intent" value="restart" />
              <button type="submit" className="btn-primary">
                {workspace.status === "error" ? "Retry" : "Restart"}
              </button>
            </Form>
          ) : null}
          {workspace.status !== "stopping" ? (
            <ConfirmAction
              intent="delete"
              label="Delete"
              question={
                volume
                  ? "Delete this workspace, its server, its volume with its files, and its history?"
                  : "Delete this workspace, its server and its history?"
              }
              confirmLabel="Yes, delete"
              danger
            >
              {unsavedWork ? <UnsavedWorkConfirmation unsavedWork={unsavedWork} /> : null}
            </ConfirmAction>
          ) : null}
        </div>
      </div>

      {actionData?.error ? (
        <p role="alert" className="card border-red-300 text-sm text-red-700 dark:text-red-300">
          {actionData.error}
        </p>
      ) : null}

      {warnIdle ? (
        <div
          role="alert"
          className="card flex flex-wrap items-center justify-between gap-3 border-amber-400 bg-amber-50 dark:bg-amber-950"
        >
          <p className="text-sm">
            No activity for a while: this workspace stops <strong>{formatUntil(untilStop!)}</strong> to save cost.
          </p>
          <Form method="post">
            <input type="hidden" name="intent" value="keep-alive" />
            <button type="submit" className="btn-primary">
              Keep alive
            </button>
          </Form>
        </div>
      ) : null}

      {workspace.error ? (
        <p
          role="alert"
          className="card border-red-300 text-sm text-red-700 dark:text-red-300"
          data-testid="workspace-error"
        >
          {workspace.error}
        </p>
      ) : null}

      <dl className="card grid gap-4 text-sm sm:grid-cols-3">
        <Detail label="Repository">
          {workspace.repository ? `${workspace.repository}@${workspace.branch ?? ""}` : "—"}
        </Detail>
        <Detail label="Size">
          {workspace.sizeLabel} ({workspace.serverType}) in {workspace.location}
        </Detail>
        <Detail label="Agent CLI">
          {agentClis[workspace.agentCli as keyof typeof agentClis] ?? workspace.agentCli}
        </Detail>
        <Detail label="Server">
          <span data-testid="server-price">
            {live
              ? `${formatHourly(workspace.hourlyPrice)} while running`
              : "No server while stopped: nothing per hour"}
          </span>
          <span className="block text-zinc-600 dark:text-zinc-400">{formatEuro(workspace.costSoFar)} so far</span>
        </Detail>
        <Detail label="Volume">
          {volume ? (
            <>
              <span data-testid="volume-price">
                {volume.sizeGb} GB · {formatMonthly(volume.monthlyPrice)}
              </span>
              <span className="block text-zinc-600 dark:text-zinc-400">
                {volume.deleteAt
                  ? `Billed while stopped too; deleted with its files on ${day.format(new Date(volume.deleteAt))} unless restarted`
                  : "Billed while stopped too; keeps the repository and home directory"}
              </span>
            </>
          ) : (
            "None: files are lost when the workspace stops"
          )}
        </Detail>
        <Detail label="Stops when idle for">{formatMinutes(workspace.idleTimeoutSeconds / 60)}</Detail>
        <Detail label="Setup script">
          {volume?.rerunSetup ? (
            <span data-testid="setup-rerun">Runs again on the next start</span>
          ) : volume ? (
            <Form method="post">
              <input type="hidden" name="intent" value="rerun-setup" />
              <span className="block">Ran on the volume's first boot.</span>
              <button type="submit" className="btn-secondary mt-1">
                Run setup again
              </button>
            </Form>
          ) : (
            "Runs on every start"
          )}
        </Detail>
        <Detail label="Automatic stop">
          {workspace.stopsAt
            ? `${workspace.stopReason === "idle" ? "idle" : "lifetime"}, ${formatUntil(untilStop!)}`
            : `after ${formatMinutes(workspace.maxLifetimeSeconds / 60)} at most`}
        </Detail>
      </dl>

      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading" className="text-lg font-semibold">
          Timeline
        </h2>
        <Timeline events={events} />
        <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">Times in UTC. Select a step for its messages.</p>
      </section>
    </div>
  );
}

const day = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" });

/** The delete form's warning: work only on the workspace, and a box the user must tick to delete anyway. */
function UnsavedWorkConfirmation({ unsavedWork }: { unsavedWork: { uncommitted: number; unpushed: number } }) {
  return (
    <div className="basis-full space-y-1 text-sm" data-testid="unsaved-work">
      <p id="unsaved-work-warning" className="font-medium text-red-700 dark:text-red-300">
        {describeUnsavedWork(unsavedWork)} will be lost with the volume.
      </p>
      <label className="flex items-center gap-2">
        <input
          type="checkbox"
          name="confirmLoss"
          required
          aria-describedby="unsaved-work-warning"
          className="h-4 w-4 rounded border-zinc-300 text-red-600"
        />
        Delete anyway, losing this work
      </label>
    </div>
  );
}

function Detail({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <dt className="text-xs uppercase tracking-wide text-zinc-600 dark:text-zinc-400">{label}</dt>
      <dd className="mt-0.5">{children}</dd>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing or changing this workspace" />;
}
