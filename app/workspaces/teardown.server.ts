import { and, eq, gte } from "drizzle-orm";
import { audit } from "../platform/audit.server";
import { revokeBootstrapTokens } from "./bootstrap.server";
import { ownedSelector, userClouds, type Clouds, type CloudsFactory } from "./clouds.server";
import { workspaceEvents, workspaces } from "../db/schema";
import { explainError } from "./errors.server";
import { isProviderError } from "../providers/http.server";
import type { HetznerVolume } from "../providers/hetzner.server";
import { workspaceHostname } from "./url";
import { cleared, recordEvent, runSeconds, transition, type Deps, type Workspace } from "./workspaces.server";

/**
 * Teardown: removes the cloud side of a workspace — servers first, since they bill — and settles its row
 * after a stop or delete. A stop keeps the workspace's volume (its files); a delete, and the cleanup of a
 * create that failed, remove the volume that create made.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Deletes the workspace's DNS record, servers and firewalls: those recorded on the row and any others
 * carrying its label or name (a create whose answer was lost). Each delete tolerates "already gone".
 * Throws when a server or DNS record could not be deleted; a firewall that stays (it costs nothing) is
 * left to the sweep.
 */
export async function teardown(
  deps: Deps,
  clouds: Clouds,
  workspace: Pick<Workspace, "id" | "serverId" | "firewallId" | "dnsRecordId">,
) {
  // Servers first (they bill), and each part is tried even when another fails; the first failure is thrown
  // afterwards so the workspace records it and the sweep tries again.
  const failures: unknown[] = [];
  const attempt = (work: () => Promise<void>) => work().catch((error: unknown) => void failures.push(error));
  const selector = `${ownedSelector(deps.config)},workspace=${workspace.id}`;

  await attempt(async () => {
    const serverIds = new Set(
      (await clouds.hetzner.listServers({ labelSelector: selector })).map((server) => server.id),
    );
    if (workspace.serverId) serverIds.add(workspace.serverId);
    for (const id of serverIds) await clouds.hetzner.deleteServer(id);
  });
  await attempt(async () => {
    const recordIds = new Set(await clouds.zone.findRecords(workspaceHostname(deps.config, workspace.id)));
    if (workspace.dnsRecordId) recordIds.add(workspace.dnsRecordId);
    for (const id of recordIds) await clouds.zone.deleteRecord(id);
  });
  await attempt(async () => {
    const firewallIds = new Set(
      (await clouds.hetzner.listFirewalls({ labelSelector: selector })).map((firewall) => firewall.id),
    );
    if (workspace.firewallId) firewallIds.add(workspace.firewallId);
    for (const id of firewallIds) await deleteFirewallWhenFree(clouds, id);
  });
  await revokeCertificate(deps, clouds, workspace.id);
  if (failures.length) throw failures[0];
}

/**
 * Revokes the Origin CA certificate the run's agent got (read from the row, which the agent's bootstrap
 * may have written after the caller read it). Its private key went with the server, so this only keeps
 * the account's certificates true: a failure is noted on the timeline and never fails the stop.
 */
async function revokeCertificate(deps: Deps, clouds: Clouds, workspaceId: string) {
  const row = await deps.db.query.workspaces.findFirst({
    columns: { certificateId: true },
    where: eq(workspaces.id, workspaceId),
  });
  const certificateId = row?.certificateId;
  if (!certificateId) return;
  try {
    await clouds.zone.revokeCertificate(certificateId);
    await deps.db
      .update(workspaces)
      .set({ certificateId: null })
      .where(and(eq(workspaces.id, workspaceId), eq(workspaces.certificateId, certificateId)));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    await recordEvent(
      deps.db,
      workspaceId,
      "certificate",
      "error",
      `Could not revoke the server's certificate (${why}); it expires by itself within 90 days.`,
    );
  }
}

/** Hetzner detaches a firewall from a deleted server a moment later; until then the delete answers 422. */
async function deleteFirewallWhenFree(clouds: Clouds, id: number) {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await clouds.hetzner.deleteFirewall(id);
      return;
    } catch (error) {
      if (!(isProviderError(error, 422) && error.code === "resource_in_use") || attempt === 5) return;
      await sleep(attempt * 1000);
    }
  }
}

// ---- the volume ---------------------------------------------------------------------------------------

/** How long a stop waits for the server to power off, and the first pause between looks (it doubles up to 15 s). */
export interface ShutdownWait {
  timeoutMs: number;
  firstPollMs: number;
}

/**
 * The agent syncs and ends its sessions on ACPI shutdown and the OS unmounts the volume, so a minute is
 * plenty; a server that takes longer is deleted anyway rather than left billing. Seven looks at most.
 */
export const SHUTDOWN_WAIT: ShutdownWait = { timeoutMs: 60_000, firstPollMs: 1000 };

const VOLUME_FIELDS_CLEARED = { volumeId: null, volumeSizeGb: null, volumeMonthlyPrice: null } as const;

/**
 * Shuts the server down before it is deleted, so that what is on the volume was written out by a clean
 * unmount. Never fails the stop: a server that cannot be shut down, or does not power off in time, is
 * deleted all the same (and the timeline says so).
 */
async function powerOff(deps: Deps, clouds: Clouds, workspace: Workspace, wait: ShutdownWait) {
  const serverId = workspace.serverId!;
  const note = (status: "ok" | "error", message: string) =>
    recordEvent(deps.db, workspace.id, "shutdown", status, message);
  await recordEvent(
    deps.db,
    workspace.id,
    "shutdown",
    "started",
    "Shutting the server down: the agent saves its sessions and the volume is unmounted",
  );
  try {
    await clouds.hetzner.shutdownServer(serverId);
  } catch (error) {
    if (isProviderError(error, 404)) return;
    await note("error", `Could not shut the server down (${explainError(error, workspace)}); deleting it anyway`);
    return;
  }
  const deadline = Date.now() + wait.timeoutMs;
  for (let pause = wait.firstPollMs; ; pause = Math.min(pause * 2, 15_000)) {
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    const server = await clouds.hetzner.getServer(serverId).catch(() => undefined);
    if (server === null || server?.status === "off") {
      await note("ok", "The server shut down; the volume was unmounted cleanly");
      return;
    }
    if (Date.now() >= deadline) {
      await note(
        "error",
        `The server did not power off within ${Math.round(wait.timeoutMs / 1000)} s; deleting it anyway (what was written in its last seconds may be lost)`,
      );
      return;
    }
  }
}

/** Detaches the volume and waits for Hetzner to finish; a volume already gone is fine. */
export async function detach(clouds: Clouds, volumeId: number) {
  const action = await clouds.hetzner.detachVolume(volumeId);
  if (action && action.status === "running") await clouds.hetzner.waitForAction(action.id, { timeoutMs: 20_000 });
}

/**
 * After a stop: the volume stays, unattached, for the next run. Hetzner detaches a deleted server's volumes as
 * part of the delete; one still attached is detached here. Never fails the stop (the next start detaches it
 * too), but a volume Hetzner no longer has is said plainly: the workspace's files went with it.
 */
async function keepVolume(deps: Deps, clouds: Clouds, workspace: Workspace) {
  const volumeId = workspace.volumeId!;
  try {
    const volume = await clouds.hetzner.getVolume(volumeId);
    if (!isWorkspaceVolume(volume, workspace.id)) {
      await recordEvent(
        deps.db,
        workspace.id,
        "volume",
        "error",
        `Hetzner no longer has the workspace's volume ${volumeId}: its files are gone. Delete the workspace and create a new one.`,
      );
      return;
    }
    if (volume.server !== null) await detach(clouds, volumeId);
  } catch (error) {
    await recordEvent(
      deps.db,
      workspace.id,
      "volume",
      "error",
      `Could not check that the volume is detached (${explainError(error, workspace)}); the next start detaches it`,
    );
  }
}

/**
 * Whether Hetzner's volume is this workspace's (its label says so). A recorded id alone is not trusted before
 * anything is detached or deleted: it could name someone else's volume (a project restored elsewhere, ids reused).
 */
export function isWorkspaceVolume(volume: HetznerVolume | null, workspaceId: string): volume is HetznerVolume {
  return volume !== null && volume.labels.workspace === workspaceId;
}

/**
 * Deletes one of the workspace's volumes, detaching it first if a server still holds it; a volume already gone
 * (or not the workspace's) is left alone.
 */
export async function deleteVolume(clouds: Clouds, volumeId: number, workspaceId: string) {
  const volume = await clouds.hetzner.getVolume(volumeId);
  if (!isWorkspaceVolume(volume, workspaceId)) return;
  if (volume.server !== null) await detach(clouds, volumeId);
  await clouds.hetzner.deleteVolume(volumeId);
}

/**
 * Deletes the workspace's volumes: the recorded one and any other carrying its label (a create whose answer
 * was lost). Only for a delete, or for a failed create that made them: a stop keeps the volume.
 */
export async function deleteWorkspaceVolumes(
  deps: Deps,
  clouds: Clouds,
  workspace: Pick<Workspace, "id"> & { volumeId: number | null },
) {
  const labelled = await clouds.hetzner.listVolumes({
    labelSelector: `${ownedSelector(deps.config)},workspace=${workspace.id}`,
  });
  const ids = new Set(labelled.map((volume) => volume.id));
  if (workspace.volumeId) ids.add(workspace.volumeId);
  for (const id of ids) await deleteVolume(clouds, id, workspace.id);
}

/**
 * Whether the workspace's volume was made by its current run (a `volume` step that ended ok since the run
 * started): such a volume has never held anyone's work, and goes when that run fails. A volume kept from an
 * earlier run is never deleted by a failure.
 */
export async function volumeMadeByRun(deps: Deps, workspace: Pick<Workspace, "id" | "startedAt" | "volumeId">) {
  if (!workspace.volumeId || !workspace.startedAt) return false;
  const [made] = await deps.db
    .select({ id: workspaceEvents.id })
    .from(workspaceEvents)
    .where(
      and(
        eq(workspaceEvents.workspaceId, workspace.id),
        eq(workspaceEvents.step, "volume"),
        eq(workspaceEvents.status, "ok"),
        gte(workspaceEvents.createdAt, workspace.startedAt),
      ),
    )
    .limit(1);
  return Boolean(made);
}

// ---- stop and delete ----------------------------------------------------------------------------------

/**
 * After claimStop/claimDelete: shuts the server down when the volume stays, deletes the cloud side, then
 * settles the row (stopped, deleted or error). A stop keeps the volume; a delete deletes it. With `failure`,
 * a workspace that never came up: once its cloud side is gone (and a volume this run made for it) it ends in
 * `error` with that sentence rather than `stopped`. Returns the settled row, or null when it ended otherwise.
 */
export async function finishStop(
  deps: Deps,
  workspace: Workspace,
  options: { remove?: boolean; failure?: string; clouds?: CloudsFactory; shutdown?: ShutdownWait } = {},
): Promise<Workspace | null> {
  const { db } = deps;
  await revokeBootstrapTokens(db, workspace.id);
  const now = Date.now();
  const billed = workspace.billedSeconds + runSeconds(workspace, now);
  const hasCloud =
    workspace.serverId || workspace.firewallId || workspace.dnsRecordId || workspace.startedAt || workspace.volumeId;
  const clouds = hasCloud ? await (options.clouds ?? userClouds)(deps, workspace.userId) : null;
  if (hasCloud && !clouds) {
    await transition(db, { id: workspace.id }, ["stopping"], {
      status: "error",
      error: `SAM cannot delete the server${workspace.volumeId ? " or the volume" : ""}: there is no Hetzner token saved. Add it in Settings, then stop or delete again.`,
      billedSeconds: billed,
      startedAt: null,
    });
    return null;
  }
  const dropVolume =
    Boolean(workspace.volumeId) && (options.remove || (options.failure && (await volumeMadeByRun(deps, workspace))));
  try {
    if (clouds && workspace.volumeId && workspace.serverId && !dropVolume)
      await powerOff(deps, clouds, workspace, options.shutdown ?? SHUTDOWN_WAIT);
    if (clouds) await teardown(deps, clouds, workspace);
  } catch (error) {
    const message = `Could not remove the server: ${explainError(error, workspace)}`;
    await recordEvent(db, workspace.id, options.remove ? "delete" : "stop", "error", message);
    await transition(db, { id: workspace.id }, ["stopping"], {
      status: "error",
      error: message,
      billedSeconds: billed,
      startedAt: null,
    });
    return null;
  }
  let volumeLeft: string | null = null;
  if (clouds && (options.remove || dropVolume)) {
    try {
      await deleteWorkspaceVolumes(deps, clouds, workspace);
    } catch (error) {
      volumeLeft = explainError(error, workspace);
    }
  } else if (clouds && workspace.volumeId) await keepVolume(deps, clouds, workspace);

  if (options.remove) {
    if (volumeLeft) {
      // The row goes as asked; the volume keeps its labels, so the sweep's orphan pass deletes it. The owner
      // reads why in their activity (Settings), since the workspace's own timeline goes with the row.
      await audit(deps, null, {
        userId: workspace.userId,
        action: "workspace.volume_left_for_sweep",
        details: { workspaceId: workspace.id, volumeId: workspace.volumeId, reason: volumeLeft },
      });
    }
    await db.delete(workspaces).where(and(eq(workspaces.id, workspace.id), eq(workspaces.status, "stopping")));
    return null;
  }
  const failure = options.failure
    ? `${options.failure}${volumeLeft ? ` Its new volume could not be deleted yet (${volumeLeft}); the next sweep deletes it.` : ""}`
    : null;
  const settled = failure ? { status: "error" as const, error: failure } : { status: "stopped" as const };
  const row = await transition(db, { id: workspace.id }, ["stopping"], {
    ...settled,
    ...cleared,
    // A volume this failed run made goes (or is left to the sweep's orphan pass, which reaps unrecorded ones).
    ...(dropVolume ? VOLUME_FIELDS_CLEARED : {}),
    stoppedAt: new Date(now),
    billedSeconds: billed,
  });
  if (row && failure)
    await recordEvent(
      db,
      workspace.id,
      "cleanup",
      volumeLeft ? "error" : "ok",
      volumeLeft
        ? `Removed the server; the new volume is left for the sweep (${volumeLeft})`
        : "Removed what had been created",
    );
  else if (row)
    await recordEvent(
      db,
      workspace.id,
      "stop",
      "ok",
      row.volumeId
        ? `Server, firewall and DNS record deleted; the volume (${row.volumeSizeGb ?? "?"} GB) keeps the files and is all that is billed while stopped`
        : "Server, firewall and DNS record deleted; nothing is billed while stopped",
    );
  return row;
}
