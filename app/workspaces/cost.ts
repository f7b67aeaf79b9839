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

/**
 * What the workspace's volume costs a month (gross EUR, Hetzner's price when it was made), or null when it has
 * none. A volume bills whether a server uses it or not, so this is owed while the workspace is stopped too.
 */
export function volumeMonthlyCost(workspace: {
  volumeId: number | null;
  volumeMonthlyPrice: string | null;
}): number | null {
  if (workspace.volumeId === null || workspace.volumeMonthlyPrice === null) return null;
  const price = Number(workspace.volumeMonthlyPrice);
  return Number.isFinite(price) ? price : null;
}

const hourly = new Intl.NumberFormat("en", { style: "currency", currency: "EUR", maximumFractionDigits: 4 });
const monthly = new Intl.NumberFormat("en", {
  style: "currency",
  currency: "EUR",
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

/** "€0.0053/h": a server's price, owed only while it exists. */
export function formatHourly(price: number | null): string {
  return price === null ? "—" : `${hourly.format(price)}/h`;
}

/** "€0.52/month": a volume's price, owed every month it exists. */
export function formatMonthly(price: number | null): string {
  return price === null ? "—" : `${monthly.format(price)}/month`;
}
