import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { methodNotAllowed } from "~/platform/responses.server";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { applyWorkspaceEvent, workspaceEventSchema } from "~/tasks/events.server";

/**
 * The VM agent's reports on its chats and its task (docs/architecture.md, "Tasks"): task_started, turn_ended,
 * push_blocked, permission_waiting, permission_answered, failed. Callback token for this workspace's current
 * run only. A well-formed event answers 200 whether or not it moved the task (`applied`), so a repeat is
 * harmless; a task event from a workspace that runs no task is 404.
 */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  const event = await readJsonBody(request, workspaceEventSchema);
  const outcome = await applyWorkspaceEvent(context, workspace, event);
  if (outcome.kind === "no-task") return Response.json({ error: "This workspace runs no task." }, { status: 404 });
  return Response.json({
    ok: true,
    applied: outcome.kind === "applied",
    ...(outcome.kind === "ignored" ? { why: outcome.why } : {}),
    task_status: outcome.task?.status ?? null,
  });
}

export const loader = () => methodNotAllowed("POST");
