import { eq } from "drizzle-orm";
import { mintBootstrapToken, revokeBootstrapTokens } from "./bootstrap.server";
import type { AppLoadContext } from "@remix-run/cloudflare";
import { AgentBinaryMissing, agentSha256 } from "./agent-binary.server";
import { archForServerType, renderCloudInit, toolsFor, volumeDir } from "./cloud-init.server";
import {
  AGENT_PORT,
  CLOUDFLARE_IP_RANGES,
  labelsFor,
  ownedSelector,
  userClouds,
  type Clouds,
  type CloudsFactory,
} from "./clouds.server";
import type { Database } from "../platform/context.server";
import { workspaces } from "../db/schema";
import { ActionableError, explainError, ProvisioningAborted } from "./errors.server";
import { findSamImage } from "../admin/image.server";
import { deleteVolume, deleteWorkspaceVolumes, detach, isWorkspaceVolume, teardown } from "./teardown.server";
import { volumePlan } from "./volume-policy.server";
import { isProviderError } from "../providers/http.server";
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
/** How long a new volume may take to become available (formatting included) before the create gives up. */
const VOLUME_READY_MS = 60_000;
/** How long a server create waits out a kept volume that is still locked by its last detach, and how often it asks. */
const LOCKED_WAIT_MS = 20_000;
const LOCKED_POLL_MS = 2000;

/**
 * Provisioning: the bootstrap token, volume, firewall, server and DNS record a workspace in `creating` needs,
 * each recorded as a step on the timeline; a failure undoes what was made (a volume only when this run made it).
 */

/** What one provisioning run made, so that its failure (or a stop overtaking it) undoes exactly that. */
interface Made {
  firewallId?: number;
  serverId?: number;
  dnsRecordId?: string;
  /** Whether this run asked Hetzner for a new volume (a lost answer may have made one the label finds). */
  volumeAsked?: boolean;
  /** A volume this run created; a volume kept from an earlier run is never in here. */
  volumeId?: number;
  /** Whether the row records that volume (from then on a stop keeps it and a delete deletes it). */
  volumeRecorded?: boolean;
}

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
 * Creates the cloud side of a workspace in `creating`: bootstrap token, volume (a new one, or the one kept
 * from its last run), firewall, server with the volume attached, DNS record. Any failure undoes what was made
 * and leaves `error` with a sentence to act on; nothing that bills stays but a volume kept from before.
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
  const made: Made = {};
  try {
    // A restart from `error` may find leftovers of the failed attempt.
    if (workspace.serverId || workspace.firewallId || workspace.dnsRecordId) await teardown(deps, clouds, workspace);
    const volumeId = await prepareVolume(deps, clouds, workspace, made);

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
      volumeId,
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

    const { server, nextActions } = await step(
      db,
      workspace,
      "server",
      `Creating a ${workspace.serverType} server in ${workspace.location}`,
      // A lost answer may still have made a server: the teardown after a failure finds it by its label.
      () =>
        whileVolumeLocked(() =>
          clouds.hetzner.createServer({
            name: `sam-${workspace.id}-${suffix}`,
            serverType: workspace.serverType,
            location: workspace.location,
            image,
            userData,
            labels,
            firewallIds: [firewall.id],
            // Attached at create, so the agent finds it mounted when it first starts.
            ...(volumeId ? { volumes: [volumeId], automount: true } : {}),
          }),
        ),
      ({ server }) => `Server ${server.id} created${server.public_net.ipv4 ? ` at ${server.public_net.ipv4.ip}` : ""}`,
    );
    made.serverId = server.id;
    const ipv4 = server.public_net.ipv4?.ip;
    if (!(await saveWhileCreating(db, workspace, { serverId: server.id, ipv4: ipv4 ?? null })))
      throw new ProvisioningAborted();
    if (!ipv4) throw new Error(`Hetzner gave server ${server.id} no IPv4 address`);
    // A server whose volume did not attach would keep the user's work on its own disk, which a stop deletes.
    const attach = nextActions.find((action) => action.command === "attach_volume");
    if (volumeId && attach && attach.status !== "success")
      await step(
        db,
        workspace,
        "volume.attach",
        `Attaching volume ${volumeId} to server ${server.id}`,
        () => clouds.hetzner.waitForAction(attach.id, { timeoutMs: VOLUME_READY_MS }),
        () => `Volume ${volumeId} attached; Hetzner mounts it at ${volumeDir(volumeId)}`,
      );

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
    // Stopped or deleted meanwhile, or overtaken by a newer run (whose server may hold the kept volume, so
    // this run's server create fails): then only what this run made may go, since searching by label or name
    // would find the new run's server and record too.
    const current = await db.query.workspaces.findFirst({
      where: eq(workspaces.id, workspace.id),
      columns: { startedAt: true, status: true },
    });
    const newerRun =
      current &&
      (current.status === "creating" || current.status === "running") &&
      current.startedAt?.getTime() !== workspace.startedAt?.getTime();
    if (error instanceof ProvisioningAborted || newerRun) {
      const undo = newerRun ? deleteExactly(clouds, made) : teardown(deps, clouds, leftovers);
      await undo.catch(() => undefined); // the sweep reaps what this could not
      // A volume the row records is the stop's to keep or the delete's to delete; an unrecorded one is ours
      // (by its label too, unless a newer run may have made one of its own).
      if (made.volumeAsked && !made.volumeRecorded) {
        const ours = newerRun
          ? made.volumeId && deleteVolume(clouds, made.volumeId, workspace.id)
          : deleteWorkspaceVolumes(deps, clouds, { id: workspace.id, volumeId: made.volumeId ?? null });
        await Promise.resolve(ours).catch(() => undefined);
      }
      return;
    }
    // Never let a failure here leave the row in `creating` silently: the sweep is the backstop, the log says why.
    const message = error instanceof AgentBinaryMissing ? error.message : explainError(error, workspace);
    const madeVolume = made.volumeAsked ? { volumeId: made.volumeId ?? null } : undefined;
    await failProvisioning(deps, leftovers, clouds, message, madeVolume).catch((failure) =>
      console.error(
        `workspace ${workspace.id}: could not record the failed provisioning`,
        failure instanceof Error ? failure.message : failure,
      ),
    );
  }
}

/**
 * The volume this run boots with: the one kept from the workspace's last run, a new one when the workspace
 * has none and the policy gives workspaces volumes, or null (the policy turned volumes off: no volume, as
 * before). A kept volume that is gone or elsewhere is a failure the user must hear about, never silently
 * replaced by an empty one.
 */
async function prepareVolume(deps: Deps, clouds: Clouds, workspace: Workspace, made: Made): Promise<number | null> {
  const { db } = deps;
  if (workspace.volumeId) {
    const kept = await clouds.hetzner.getVolume(workspace.volumeId);
    if (!isWorkspaceVolume(kept, workspace.id))
      throw new ActionableError(
        `Hetzner no longer has this workspace's volume ${workspace.volumeId}, so its files are gone: delete the workspace and create a new one.`,
      );
    if (kept.location.name !== workspace.location)
      throw new ActionableError(
        `The workspace's volume ${kept.id} is in ${kept.location.name}, not ${workspace.location}, where its servers are made: tell the administrator.`,
      );
    // Its last server should be gone (deleted at stop); a volume still attached somewhere is freed first.
    if (kept.server !== null) await detach(clouds, kept.id);
    await recordEvent(
      db,
      workspace.id,
      "volume",
      "info",
      `Attaching the workspace's volume ${kept.id} (${kept.size} GB) with its files from the last run`,
    );
    return kept.id;
  }
  // The policy reads the database and configuration only; Deps carries both.
  const plan = await volumePlan(deps as AppLoadContext, workspace.userId);
  if (!plan) return null;
  if ("error" in plan) throw new ActionableError(plan.error);
  // A volume an earlier failed create of this workspace left (its answer lost) never held anyone's work, and
  // it holds the name a volume of this workspace gets: it goes first.
  const leftovers = await clouds.hetzner.listVolumes({
    labelSelector: `${ownedSelector(deps.config)},workspace=${workspace.id}`,
  });
  for (const leftover of leftovers) await deleteVolume(clouds, leftover.id, workspace.id);

  const volume = await step(
    db,
    workspace,
    "volume",
    `Creating a ${plan.sizeGb} GB volume in ${workspace.location} for the repository, the home directory and the sessions`,
    async () => {
      // A lost answer may still have made a volume: the cleanup after a failure finds it by its label.
      made.volumeAsked = true;
      const { volume, action } = await clouds.hetzner.createVolume({
        name: `sam-${workspace.id}`,
        sizeGb: plan.sizeGb,
        location: workspace.location,
        labels: labelsFor(workspace, deps.config),
        format: "ext4",
      });
      made.volumeId = volume.id;
      if (action.status !== "success") await clouds.hetzner.waitForAction(action.id, { timeoutMs: VOLUME_READY_MS });
      return volume;
    },
    (volume) =>
      `Volume ${volume.id} created (${plan.sizeGb} GB, ext4); it keeps the files while the workspace is stopped`,
  );
  const monthlyPrice = await volumePrice(clouds, plan.sizeGb);
  made.volumeRecorded = await saveWhileCreating(db, workspace, {
    volumeId: volume.id,
    volumeSizeGb: plan.sizeGb,
    volumeMonthlyPrice: monthlyPrice,
  });
  if (!made.volumeRecorded) throw new ProvisioningAborted();
  return volume.id;
}

/**
 * Asks again while Hetzner answers 423 locked: a kept volume may still be busy with the detach that came with
 * its last server's delete (a restart right after a stop). A locked refusal made nothing, so asking again is
 * safe, unlike a create whose answer was lost; at most LOCKED_WAIT_MS.
 */
async function whileVolumeLocked<T>(create: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await create();
    } catch (error) {
      const locked = isProviderError(error, 423) && error.code === "locked";
      if (!locked || Date.now() - started + LOCKED_POLL_MS > LOCKED_WAIT_MS) throw error;
      await new Promise((resolve) => setTimeout(resolve, LOCKED_POLL_MS));
    }
  }
}

/**
 * The volume's gross monthly price (Hetzner's per-GB price × size) as a decimal string; null when Hetzner's
 * pricing cannot be read (a price shown is worth a call, not a failed create).
 */
async function volumePrice(clouds: Clouds, sizeGb: number): Promise<string | null> {
  try {
    const { volumePerGbMonthGross } = await clouds.hetzner.getPricing();
    const price = Number(volumePerGbMonthGross) * sizeGb;
    return Number.isFinite(price) ? String(Math.round(price * 10_000) / 10_000) : null;
  } catch {
    return null;
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

/**
 * Undoes what was made and records the failure; nothing that bills may be left behind but a volume kept
 * from an earlier run (the workspace's files). A volume this run made goes with the rest.
 */
async function failProvisioning(
  deps: Deps,
  workspace: Workspace,
  clouds: Clouds | null,
  message: string,
  /** Set when this run asked for a new volume: it goes, found by its id or its label. */
  madeVolume?: { volumeId: number | null },
) {
  let error = message;
  let leftovers: Partial<Workspace> = cleared;
  if (clouds) {
    const problems: string[] = [];
    try {
      await teardown(deps, clouds, workspace);
    } catch (cleanupError) {
      problems.push(explainError(cleanupError, workspace));
      leftovers = { startedAt: null, lastHeartbeatAt: null };
    }
    if (madeVolume) {
      await deleteWorkspaceVolumes(deps, clouds, { id: workspace.id, ...madeVolume }).catch(
        (volumeError: unknown) => void problems.push(explainError(volumeError, workspace)),
      );
      // Forgotten either way: a labelled volume no row records is the sweep's orphan pass to delete.
      leftovers = { ...leftovers, volumeId: null, volumeSizeGb: null, volumeMonthlyPrice: null };
    }
    if (problems.length === 0)
      await recordEvent(deps.db, workspace.id, "cleanup", "ok", "Removed what had been created");
    else {
      const why = problems.join("; ");
      await recordEvent(deps.db, workspace.id, "cleanup", "error", why);
      error = `${message} Cleaning up also failed (${why}); SAM retries that on the next sweep, or delete the workspace.`;
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

/** Deletes just the resources one provisioning run recorded making (its volume is the caller's to judge). */
async function deleteExactly(clouds: Clouds, made: Made) {
  if (made.dnsRecordId) await clouds.zone.deleteRecord(made.dnsRecordId);
  if (made.serverId) await clouds.hetzner.deleteServer(made.serverId);
  if (made.firewallId) await clouds.hetzner.deleteFirewall(made.firewallId);
}
