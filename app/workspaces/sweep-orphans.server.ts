import { and, asc, eq, inArray } from "drizzle-orm";
import { BUILD_TIMEOUT_MS } from "../admin/image.server";
import { credentials, LIVE_STATUSES, sweepCursors, workspaces } from "../db/schema";
import { ownedSelector, type Clouds, type ZoneClient } from "./clouds.server";
import type { Sweep } from "./sweep.server";
import type { Deps } from "./workspaces.server";

/**
 * The sweep's orphan passes (docs/architecture.md, "Sweep"): servers, firewalls and DNS records labelled as
 * this instance's that belong to no live workspace, and volumes that belong to no workspace at all.
 */

/** The three listings (servers, firewalls, volumes) in one user's project, before any delete. */
const ORPHAN_LISTING_CALLS = 3;

const ORPHANS = "orphans";

/**
 * The users with a Hetzner token, in a circle starting after the one the last run got to, so that each run
 * goes on where the call budget stopped the previous one.
 */
async function ownersFromCursor(deps: Deps): Promise<string[]> {
  const owners = (
    await deps.db
      .selectDistinct({ userId: credentials.userId })
      .from(credentials)
      .where(eq(credentials.kind, "hetzner"))
      .orderBy(asc(credentials.userId))
  ).map((row) => row.userId);
  const cursor = await deps.db.query.sweepCursors.findFirst({ where: eq(sweepCursors.pass, ORPHANS) });
  const start = cursor ? owners.findIndex((userId) => userId > cursor.after) : 0;
  return start <= 0 ? owners : [...owners.slice(start), ...owners.slice(0, start)];
}

async function saveCursor(deps: Deps, pass: string, after: string) {
  await deps.db
    .insert(sweepCursors)
    .values({ pass, after })
    .onConflictDoUpdate({ target: sweepCursors.pass, set: { after, updatedAt: new Date() } });
}

/**
 * Servers and firewalls labelled as ours whose workspace is not live (or that a live workspace no longer
 * records), and volumes labelled as ours that no workspace records, in every project SAM holds a token for.
 * A workspace still `creating` keeps its servers and volumes: its provisioning may not have recorded them
 * yet. Users are taken from the cursor on; one whose work does not fit in the budget is done next run.
 */
export async function reapOrphans({ deps, clouds, report, record, affords }: Sweep) {
  for (const userId of await ownersFromCursor(deps)) {
    if (!affords(ORPHANS, ORPHAN_LISTING_CALLS)) return;
    if (!(await reapOrphansOf({ deps, clouds, report, record, affords }, userId))) return;
    await saveCursor(deps, ORPHANS, userId);
  }
}

/** One user's project; false when the budget ran out before everything was deleted. */
async function reapOrphansOf(
  { deps, clouds, report, record, affords }: Pick<Sweep, "deps" | "clouds" | "report" | "record" | "affords">,
  userId: string,
): Promise<boolean> {
  const client = await clouds(deps, userId).catch(() => null);
  if (!client) return true;
  const selector = ownedSelector(deps.config);
  let servers;
  try {
    servers = await client.hetzner.listServers({ labelSelector: selector });
  } catch (error) {
    report.errors.push(`list servers for user ${userId}: ${error instanceof Error ? error.message : String(error)}`);
    return true;
  }
  const ids = [...new Set(servers.map((server) => server.labels.workspace).filter((id): id is string => Boolean(id)))];
  const live = ids.length
    ? await deps.db
        .select({ id: workspaces.id, status: workspaces.status, serverId: workspaces.serverId })
        .from(workspaces)
        .where(and(inArray(workspaces.id, ids), inArray(workspaces.status, [...LIVE_STATUSES])))
    : [];
  const liveById = new Map(live.map((row) => [row.id, row]));
  for (const server of servers) {
    const owner = server.labels.workspace ? liveById.get(server.labels.workspace) : undefined;
    const keep = owner && (owner.status === "creating" || owner.status === "stopping" || owner.serverId === server.id);
    // A SAM image build (app/admin/image.server.ts) is no workspace's; it is reaped once it outlives its timeout.
    const building =
      server.labels.role === "sam-image-build" && Date.now() - Date.parse(server.created) < BUILD_TIMEOUT_MS;
    if (keep || building) continue;
    // The volume and firewall listings below are reserved too: a user is finished in one run or redone in the next.
    if (!affords(ORPHANS, 3)) return false;
    try {
      await client.hetzner.deleteServer(server.id);
      report.orphanServersDeleted.push(server.id);
      await record(userId, "orphan.server_deleted", {
        serverId: server.id,
        workspaceId: server.labels.workspace ?? null,
      });
    } catch (error) {
      report.errors.push(`delete server ${server.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  // Volumes before firewalls: a volume bills, a firewall does not. Reserve the firewall listing still to come.
  if (!(await reapOrphanVolumes({ deps, report, record, affords }, client, userId, selector))) return false;

  const firewalls = await client.hetzner.listFirewalls({ labelSelector: selector }).catch(() => []);
  const firewallOwners = [
    ...new Set(firewalls.map((firewall) => firewall.labels?.workspace).filter((id): id is string => Boolean(id))),
  ];
  const liveFirewallOwners = new Set(
    firewallOwners.length
      ? (
          await deps.db
            .select({ id: workspaces.id })
            .from(workspaces)
            .where(and(inArray(workspaces.id, firewallOwners), inArray(workspaces.status, [...LIVE_STATUSES])))
        ).map((row) => row.id)
      : [],
  );
  for (const firewall of firewalls) {
    if (firewall.labels?.workspace && liveFirewallOwners.has(firewall.labels.workspace)) continue;
    if (firewall.applied_to.length > 0) continue; // still on a server being deleted; next sweep
    if (!affords(ORPHANS, 1)) return false;
    try {
      await client.hetzner.deleteFirewall(firewall.id);
      report.orphanFirewallsDeleted.push(firewall.id);
    } catch (error) {
      report.errors.push(`delete firewall ${firewall.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return true;
}

/**
 * Volumes labelled as ours that no workspace records: a workspace deleted while Hetzner refused its volume's
 * delete, or a create that failed or whose answer was lost. A volume a workspace records (stopped, failed or
 * running) holds its files and is never touched here, nor any volume of a workspace mid-change (`creating`
 * may not have recorded it yet, `stopping` may be deleting it), nor one still attached (its server goes first,
 * and Hetzner detaches it with the server). False when the budget ran out.
 */
async function reapOrphanVolumes(
  { deps, report, record, affords }: Pick<Sweep, "deps" | "report" | "record" | "affords">,
  client: Clouds,
  userId: string,
  selector: string,
): Promise<boolean> {
  let volumes;
  try {
    volumes = await client.hetzner.listVolumes({ labelSelector: selector });
  } catch (error) {
    report.errors.push(`list volumes for user ${userId}: ${error instanceof Error ? error.message : String(error)}`);
    return true;
  }
  const ids = [...new Set(volumes.map((volume) => volume.labels.workspace).filter((id): id is string => Boolean(id)))];
  const owners = new Map(
    (ids.length
      ? await deps.db
          .select({ id: workspaces.id, status: workspaces.status, volumeId: workspaces.volumeId })
          .from(workspaces)
          .where(inArray(workspaces.id, ids))
      : []
    ).map((row) => [row.id, row]),
  );
  for (const volume of volumes) {
    const owner = volume.labels.workspace ? owners.get(volume.labels.workspace) : undefined;
    const keep = owner && (owner.volumeId === volume.id || owner.status === "creating" || owner.status === "stopping");
    if (keep || volume.server !== null) continue;
    // The firewall listing after this is reserved too.
    if (!affords(ORPHANS, 2)) return false;
    try {
      await client.hetzner.deleteVolume(volume.id);
      report.orphanVolumesDeleted.push(volume.id);
      await record(userId, "orphan.volume_deleted", {
        volumeId: volume.id,
        workspaceId: volume.labels.workspace ?? null,
        sizeGb: volume.size,
      });
    } catch (error) {
      report.errors.push(`delete volume ${volume.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return true;
}

/**
 * DNS records this instance made (in the operator's zone, so one listing for everyone) whose workspace is
 * gone or no longer live, or that a running workspace no longer records. A proxied name left pointing at an
 * address Hetzner hands to someone else would serve their server under this domain.
 */
export async function reapOrphanRecords({ deps, report, record, affords }: Sweep, zone: ZoneClient) {
  if (!affords("orphan DNS records", 1)) return;
  const records = await zone.listManaged();
  const ids = [...new Set(records.map((entry) => entry.workspaceId))];
  const live = ids.length
    ? await deps.db
        .select({
          id: workspaces.id,
          userId: workspaces.userId,
          status: workspaces.status,
          dnsRecordId: workspaces.dnsRecordId,
        })
        .from(workspaces)
        .where(and(inArray(workspaces.id, ids), inArray(workspaces.status, [...LIVE_STATUSES])))
    : [];
  const liveById = new Map(live.map((row) => [row.id, row]));
  for (const entry of records) {
    const owner = liveById.get(entry.workspaceId);
    // Creating and stopping workspaces are mid-change, and a running one that has not recorded its record
    // yet is the provisioning timeout's to judge.
    if (owner && (owner.status !== "running" || owner.dnsRecordId === null || owner.dnsRecordId === entry.id)) continue;
    if (!affords("orphan DNS records", 1)) return;
    try {
      await zone.deleteRecord(entry.id);
      report.orphanDnsRecordsDeleted.push(entry.id);
      await record(owner?.userId ?? null, "orphan.dns_record_deleted", {
        recordId: entry.id,
        workspaceId: entry.workspaceId,
      });
    } catch (error) {
      report.errors.push(`delete DNS record ${entry.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
