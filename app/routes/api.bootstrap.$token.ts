import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { issueCallbackToken, readJsonBody } from "~/security/agent-auth.server";
import { methodNotAllowed } from "~/platform/responses.server";
import { clientAddress, rateLimit } from "~/platform/rate-limit.server";
import { taskForBootstrap } from "~/tasks/tasks.server";
import { consumeBootstrapToken, peekBootstrapToken, takeSetupRerun } from "~/workspaces/bootstrap.server";
import { zoneClient } from "~/workspaces/clouds.server";
import { explainError } from "~/workspaces/errors.server";
import { getWorkspaceForAgent, recordEvent, saveWhileCreating } from "~/workspaces/workspaces.server";
import { workspaceHostname } from "~/workspaces/url";

const bodySchema = z.object({
  csr: z
    .string()
    .max(16_384)
    .regex(
      /^-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----\s*$/,
      "must be a PEM certificate request",
    )
    .optional(),
});

const gone = () => Response.json({ error: "This bootstrap token was already used or has expired." }, { status: 410 });

/**
 * The agent's first call: trades the one-time bootstrap token for a callback token and what it needs to
 * boot (repository, coding agent, certificate, whether to run the repository's setup again). The certificate is signed before the token is used up, so a failed relay can be retried; the use
 * itself is one conditional UPDATE, so of concurrent redemptions exactly one wins.
 */
export async function action({ request, context, params }: ActionFunctionArgs) {
  if (request.method !== "POST") return methodNotAllowed("POST");
  await rateLimit(context, "bootstrap", clientAddress(request));
  const token = params.token ?? "";
  const peek = await peekBootstrapToken(context.db, token);
  if (peek.kind === "malformed") return Response.json({ error: "This is not a bootstrap token." }, { status: 401 });
  if (peek.kind === "unknown") return Response.json({ error: "Unknown bootstrap token." }, { status: 404 });
  if (peek.kind === "gone") return gone();
  const body = await readJsonBody(request, bodySchema);

  const workspace = await getWorkspaceForAgent(context.db, peek.workspaceId);
  if (!workspace || workspace.status !== "creating") return gone();

  const { config } = context;
  const hostname = workspaceHostname(config, workspace.id);
  const zone = zoneClient(config);
  let issued: { id: string; certificate: string } | null = null;
  if (body.csr) {
    try {
      issued = await zone.issueCertificate(hostname, body.csr);
    } catch (error) {
      const message = `Could not get a certificate for ${hostname}: ${explainError(error, workspace)}`;
      await recordEvent(context.db, workspace.id, "certificate", "error", message);
      return Response.json({ error: message }, { status: 502 });
    }
  }

  // The certificate is recorded (for revocation at teardown) only by the winner, and only while this run is
  // still being created; otherwise nobody will use it, so it is revoked now.
  const won = (await consumeBootstrapToken(context.db, peek.tokenHash)) === workspace.id;
  const kept = won && (!issued || (await saveWhileCreating(context.db, workspace, { certificateId: issued.id })));
  if (!kept) {
    if (issued) await zone.revokeCertificate(issued.id).catch(() => undefined);
    return gone();
  }
  const certificate = issued?.certificate ?? null;
  await recordEvent(
    context.db,
    workspace.id,
    "bootstrap",
    "ok",
    certificate ? `The agent checked in and got a certificate for ${hostname}` : "The agent checked in",
  );

  const repository = workspace.repository
    ? {
        clone_url: `${config.GITHUB_URL}/${workspace.repository}.git`,
        branch: workspace.branch ?? "",
        full_name: workspace.repository,
      }
    : null;
  // Bound to this run and, when provisioning has recorded it already, this server.
  const callback = await issueCallbackToken(
    config,
    (await getWorkspaceForAgent(context.db, workspace.id)) ?? workspace,
  );
  if (!callback) return gone();
  return Response.json({
    workspace_id: workspace.id,
    ...callback,
    repository,
    agent_cli: workspace.agentCli,
    certificate,
    // The repository's setup ran on this volume already; the owner asked for it to run again on this boot.
    rerun_setup: await takeSetupRerun(context.db, workspace.id),
    // The prompt, branch and author of the task the workspace runs (docs/agent-protocol.md, Tasks), or null.
    task: await taskForBootstrap(context, workspace.id),
    // How long a coding agent's permission request waits with nobody watching before the owner is notified.
    permission_notify_delay_seconds: config.PERMISSION_NOTIFY_DELAY_SECONDS,
  });
}

export const loader = () => methodNotAllowed("POST");
