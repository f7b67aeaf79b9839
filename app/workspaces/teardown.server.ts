import { and, eq } from "drizzle-orm";
import { revokeBootstrapTokens } from "./bootstrap.server";
import { ownedSelector, userClouds, type Clouds, type CloudsFactory } from "./clouds.server";
import { workspaces } from "../db/schema";
import { explainError } from "./errors.server";
import { isProviderError } from "../providers/http.server";
import { workspaceHostname } from "./url";
import { cleared, recordEvent, runSeconds, transition, type Deps, type Workspace } from "./workspaces.server";

/**
 * Teardown: removes the cloud side of a workspace — servers first, since they bill — and settles its row
 * after a stop or delete.
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

// ---- stop and delete ----------------------------------------------------------------------------------

/**
 * After claimStop/claimDelete: deletes the cloud side, then settles the row (stopped, deleted or error).
 * With `failure`, a workspace that never came up: once its cloud side is gone it ends in `error` with that
 * sentence rather than `stopped`. Returns the settled row, or null when it ended otherwise.
 */
export async function finishStop(
  deps: Deps,
  workspace: Workspace,
  options: { remove?: boolean; failure?: string; clouds?: CloudsFactory } = {},
): Promise<Workspace | null> {
  const { db } = deps;
  await revokeBootstrapTokens(db, workspace.id);
  const now = Date.now();
  const billed = workspace.billedSeconds + runSeconds(workspace, now);
  const hasCloud = workspace.serverId || workspace.firewallId || workspace.dnsRecordId || workspace.startedAt;
  const clouds = hasCloud ? await (options.clouds ?? userClouds)(deps, workspace.userId) : null;
  if (hasCloud && !clouds) {
    await transition(db, { id: workspace.id }, ["stopping"], {
      status: "error",
      error:
        "SAM cannot delete the server: there is no Hetzner token saved. Add it in Settings, then stop or delete again.",
      billedSeconds: billed,
      startedAt: null,
    });
    return null;
  }
  try {
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
  if (options.remove) {
    await db.delete(workspaces).where(and(eq(workspaces.id, workspace.id), eq(workspaces.status, "stopping")));
    return null;
  }
  const settled = options.failure
    ? { status: "error" as const, error: options.failure }
    : { status: "stopped" as const };
  const row = await transition(db, { id: workspace.id }, ["stopping"], {
    ...settled,
    ...cleared,
    stoppedAt: new Date(now),
    billedSeconds: billed,
  });
  if (row && options.failure) await recordEvent(db, workspace.id, "cleanup", "ok", "Removed what had been created");
  else if (row)
    await recordEvent(
      db,
      workspace.id,
      "stop",
      "ok",
      "Server, firewall and DNS record deleted; nothing is billed while stopped",
    );
  return row;
}
