import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { readJsonBody, requireAgentWorkspace } from "~/security/agent-auth.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { markReady } from "~/workspaces/workspaces.server";

/** The agent has booted: creating → running (once; a repeated call is fine). */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const workspace = await requireAgentWorkspace(request, context, params.id);
  await readJsonBody(request, z.object({}).loose());
  const result = await markReady(context, workspace);
  if (result === "conflict") {
    return Response.json(
      { error: `The workspace is ${workspace.status}, so it cannot become ready.` },
      { status: 409 },
    );
  }
  return Response.json({ status: "running" });
}

export const loader = () => methodNotAllowed("POST");
