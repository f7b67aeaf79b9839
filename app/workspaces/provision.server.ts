import { eq } from "drizzle-orm";
import { mintBootstrapToken, revokeBootstrapTokens } from "./bootstrap.server";
import type { AppLoadContext } from "@remix-run/cloudflare";
import { AgentBinaryMissing, agentSha256 } from "./agent-binary.server";
import { archForServerType, renderCloudInit, toolsFor } from "./cloud-init.server";
import {
  AGENT_PORT,
  CLOUDFLARE_IP_RANGES,
  labelsFor,
  userClouds,
  type Clouds,
  type CloudsFactory,
} from "./clouds.server";
import type { Database } from "../platform/context.server";
import { workspaces } from "../db/schema";
import { explainError, ProvisioningAborted } from "./errors.server";
import { findSamImage } from "../admin/image.server";
import { teardown } from "./teardown.server";
import { workspaceHostname } from "./url";
import {
  cleared,
  recordEvent,
  runSeconds,
  saveWhileCreating,
  transition,
  type Deps,
  type Workspace,
} from "./workspaces.server";

const BASE_IMAGE = "ubuntu-24.04";

/**
 * Provisioning: the bootstrap token, firewall, server and DNS record a workspace in `creating` needs,
 * each recorded as a step on the timeline; a failure undoes what was made.
 */

async function step<T>(
  db: Database,
  workspace: Workspace,
  name: string,
  started: string,
  work: () => Promise<T>,
  done: (result: T) => string,
): Promise<T> {
  await recordEvent(db, workspace.id, name, "started", started);
  try {
    const result = await work();
    await recordEvent(db, workspace.id, name, "ok", done(result));
    return result;
  } catch (error) {
    if (!(error instanceof ProvisioningAborted))
      await recordEvent(db, workspace.id, name, "error", explainError(error, workspace));
    throw error;
  }
}

/**
 * Creates the cloud side of a workspace in `creating`: bootstrap token, firewall, server, DNS record.
 * Any failure undoes what was made and leaves `error` with a sentence to act on; nothing that bills stays.
 * Runs after the response (waitUntil).
 */
export async function provision(
  // The Cloudflare bindings hold the uploaded agent's SHA-256 (R2), which cloud-init checks the download against.
  deps: Deps & Partial<Pick<AppLoadContext, "cloudflare">>,
  workspace: Workspace,
  options: { clouds?: CloudsFactory } = {},
): Promise<void> {
  const { db, config } = deps;
  const clouds = await (options.clouds ?? userClouds)(deps, workspace.userId);
  if (!clouds) {
    await failProvisioning(deps, workspace, null, "There is no Hetzner token saved: add it in Settings, then retry.");
    return;
  }
  const hostname = workspaceHostname(config, workspace.id);
  const made: { firewallId?: number; serverId?: number; dnsRecordId?: string } = {};
  try {
    // A restart from `error` may find leftovers of the failed attempt.
    if (workspace.serverId || workspace.firewallId || workspace.dnsRecordId) await teardown(deps, clouds, workspace);

    const arch = archForServerType(workspace.serverType);
    const agentSha = await agentSha256(deps.cloudflare?.env.AGENTS, arch);
    const { token } = await mintBootstrapToken(db, workspace.id);
    const userData = renderCloudInit({
      workspaceId: workspace.id,
      appUrl: config.APP_URL,
      hostname,
      bootstrapToken: token,
      arch,
      agentSha256: agentSha,
      ...toolsFor(config, arch),
    });
    await recordEvent(
      db,
      workspace.id,
      "cloud-init",
      "ok",
      `Prepared the boot script (${userData.length} bytes, no secrets)`,
    );

    const image = await chooseImage(deps, clouds, workspace, arch);
    const suffix = Date.now().toString(36);
    const labels = labelsFor(workspace, deps.config);
    const { firewall } = await step(
      db,
      workspace,
      "firewall",
      "Creating a firewall that admits only Cloudflare on port 8443",
      () =>
        clouds.hetzner.createFirewall({
          name: `sam-${workspace.id}-${suffix}`,
          labels,
          rules: [
            {
              description: "agent via Cloudflare",
              direction: "in",
              protocol: "tcp",
              port: AGENT_PORT,
              source_ips: CLOUDFLARE_IP_RANGES,
            },
          ],
        }),
      ({ firewall }) => `Firewall ${firewall.id} created`,
    );
    made.firewallId = firewall.id;
    if (!(await saveWhileCreating(db, workspace, { firewallId: firewall.id }))) throw new ProvisioningAborted();

    const { server } = await step(
      db,
      workspace,
      "server",
      `Creating a ${workspace.serverType} server in ${workspace.location}`,
      // A lost answer may still have made a server: the teardown after a failure finds it by its label.
      () =>
        clouds.hetzner.createServer({
          name: `sam-${workspace.id}-${suffix}`,
          serverType: workspace.serverType,
          location: workspace.location,
          image,
          userData,
          labels,
          firewallIds: [firewall.id],
        }),
      ({ server }) => `Server ${server.id} created${server.public_net.ipv4 ? ` at ${server.public_net.ipv4.ip}` : ""}`,
    );
    made.serverId = server.id;
    const ipv4 = server.public_net.ipv4?.ip;
    if (!(await saveWhileCreating(db, workspace, { serverId: server.id, ipv4: ipv4 ?? null })))
      throw new ProvisioningAborted();
    if (!ipv4) throw new Error(`Hetzner gave server ${server.id} no IPv4 address`);

    const dnsRecordId = await step(
      db,
      workspace,
      "dns",
      `Pointing ${hostname} at the server`,
      () => clouds.zone.createRecord(hostname, ipv4),
      () => `${hostname} → ${ipv4} (proxied by Cloudflare)`,
    );
    made.dnsRecordId = dnsRecordId;
    if (!(await saveWhileCreating(db, workspace, { dnsRecordId }))) throw new ProvisioningAborted();
    await recordEvent(db, workspace.id, "boot", "started", "Waiting for the server to boot and the agent to check in");
  } catch (error) {
    const leftovers = {
      ...workspace,
      firewallId: made.firewallId ?? null,
      serverId: made.serverId ?? null,
      dnsRecordId: made.dnsRecordId ?? null,
    };
    if (error instanceof ProvisioningAborted) {
      // Stopped or deleted meanwhile. If a newer run has begun, only what this run made may go: searching by
      // label or name would find the new run's server and record too.
      const current = await db.query.workspaces.findFirst({
        where: eq(workspaces.id, workspace.id),
        columns: { startedAt: true, status: true },
      });
      const newerRun =
        current &&
        (current.status === "creating" || current.status === "running") &&
        current.startedAt?.getTime() !== workspace.startedAt?.getTime();
      const undo = newerRun ? deleteExactly(clouds, made) : teardown(deps, clouds, leftovers);
      await undo.catch(() => undefined); // the sweep reaps what this could not
      return;
    }
    // Never let a failure here leave the row in `creating` silently: the sweep is the backstop, the log says why.
    const message = error instanceof AgentBinaryMissing ? error.message : explainError(error, workspace);
    await failProvisioning(deps, leftovers, clouds, message).catch((failure) =>
      console.error(
        `workspace ${workspace.id}: could not record the failed provisioning`,
        failure instanceof Error ? failure.message : failure,
      ),
    );
  }
}

/**
 * The newest SAM image of the current version in the owner's project (x86 only), else ubuntu-24.04. A failed
 * lookup costs boot time, not the workspace: it boots ubuntu-24.04 and installs the tools itself.
 */
async function chooseImage(deps: Deps, clouds: Clouds, workspace: Workspace, arch: string): Promise<string> {
  const without = "installs Node.js and the coding-agent CLIs while it boots";
  let found: Awaited<ReturnType<typeof findSamImage>> = null;
  let why = `no SAM image in the Hetzner project: ${BASE_IMAGE}, which ${without}`;
  if (arch !== "amd64") why = `${BASE_IMAGE}: SAM images are x86, so the server ${without}`;
  else
    try {
      found = await findSamImage(clouds.hetzner, deps.config);
    } catch (error) {
      why = `${BASE_IMAGE} (looking for the SAM image failed: ${explainError(error, workspace)}), which ${without}`;
    }
  await recordEvent(
    deps.db,
    workspace.id,
    "image",
    "ok",
    found
      ? `Booting from the SAM image ${found.id} (${found.labels["sam-image-version"]}): Node.js and the CLIs are installed`
      : `Booting ${why}`,
  );
  return found ? String(found.id) : BASE_IMAGE;
}

/** Undoes what was made and records the failure; nothing that bills may be left behind. */
async function failProvisioning(deps: Deps, workspace: Workspace, clouds: Clouds | null, message: string) {
  let error = message;
  let leftovers: Partial<Workspace> = cleared;
  if (clouds) {
    try {
      await teardown(deps, clouds, workspace);
      await recordEvent(deps.db, workspace.id, "cleanup", "ok", "Removed what had been created");
    } catch (cleanupError) {
      const why = explainError(cleanupError, workspace);
      await recordEvent(deps.db, workspace.id, "cleanup", "error", why);
      error = `${message} Cleaning up also failed (${why}); SAM retries that on the next sweep, or delete the workspace.`;
      leftovers = { startedAt: null, lastHeartbeatAt: null };
    }
  }
  // "running" too: the agent may check in before a slow last step fails, and the server is gone either way.
  const row = await transition(
    deps.db,
    { id: workspace.id, run: workspace.startedAt },
    ["creating", "running", "stopping"],
    {
      status: "error",
      error,
      ...leftovers,
      stoppedAt: new Date(),
      billedSeconds: workspace.billedSeconds + runSeconds(workspace, Date.now()),
    },
  );
  if (row) await revokeBootstrapTokens(deps.db, workspace.id);
}

/** Deletes just the resources one provisioning run recorded making. */
async function deleteExactly(clouds: Clouds, made: { serverId?: number; firewallId?: number; dnsRecordId?: string }) {
  if (made.dnsRecordId) await clouds.zone.deleteRecord(made.dnsRecordId);
  if (made.serverId) await clouds.hetzner.deleteServer(made.serverId);
  if (made.firewallId) await clouds.hetzner.deleteFirewall(made.firewallId);
}
