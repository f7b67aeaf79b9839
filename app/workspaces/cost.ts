import { LIVE_STATUSES } from "../db/schema";

/**
 * What a workspace has cost so far, in the currency of Hetzner's prices (EUR): seconds billed in earlier
 * runs plus the current run, at the gross hourly price recorded when it was created. Hetzner bills
 * started hours; this is the running estimate a person wants to see, not the invoice.
 */
export function costSoFar(
  workspace: { hourlyPrice: string | null; billedSeconds: number; startedAt: Date | null; status: string },
  now: number,
): number | null {
  if (workspace.hourlyPrice === null) return null;
  const running = workspace.startedAt && (LIVE_STATUSES as readonly string[]).includes(workspace.status);
  const seconds = workspace.billedSeconds + (running ? Math.max(0, (now - workspace.startedAt!.getTime()) / 1000) : 0);
  return Math.round((seconds / 3600) * Number(workspace.hourlyPrice) * 10000) / 10000;
}
