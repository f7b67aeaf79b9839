import { LIVE_STATUSES } from "../db/schema";

/** The agent's last count of work that is only on the workspace: not committed, or committed and not pushed. */
export interface UnsavedWork {
  uncommitted: number;
  unpushed: number;
}

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

/**
 * The work a delete would lose, as the agent last reported it, or null when there is none. It lives on the
 * volume, or on the server while one runs; a stopped workspace without a volume has nothing left to lose.
 */
export function unsavedWorkAtRisk(workspace: {
  status: string;
  volumeId: number | null;
  unsavedWork: UnsavedWork | null;
}): UnsavedWork | null {
  const work = workspace.unsavedWork;
  if (!work || (work.uncommitted <= 0 && work.unpushed <= 0)) return null;
  const onServer = (LIVE_STATUSES as readonly string[]).includes(workspace.status);
  return workspace.volumeId !== null || onServer ? work : null;
}

/** "3 uncommitted changes and 1 unpushed commit". */
export function describeUnsavedWork(work: UnsavedWork): string {
  return [
    work.uncommitted > 0 ? plural(work.uncommitted, "uncommitted change", "uncommitted changes") : null,
    work.unpushed > 0 ? plural(work.unpushed, "unpushed commit", "unpushed commits") : null,
  ]
    .filter(Boolean)
    .join(" and ");
}
