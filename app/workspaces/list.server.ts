import { and, count, desc, eq, isNotNull, lt, or, sql, sum } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../platform/context.server";
import { users, workspaces, workspaceStatuses, type WorkspaceStatus } from "../db/schema";
import type { Workspace } from "./workspaces.server";

/**
 * The dashboard's list of a user's workspaces, and the admin page's list of everyone's: keyset-paged, filtered by
 * status, searched by name and repository (and, across users, the owner's login).
 */

export const WORKSPACE_PAGE_SIZE = 25;

/** Which of a user's workspaces a list shows: a status, words in the name or repository, and where to start. */
export interface WorkspaceListQuery {
  status?: WorkspaceStatus;
  search?: string;
  /** From a previous page's `nextCursor`. */
  cursor?: string;
  limit?: number;
}

/** A cursor names the last row shown: its creation time and id, the list's order (ties broken by id). */
export const WORKSPACE_CURSOR = /^(\d{1,15})\.([a-z2-7]{12})$/;

/** A page link's cursor in the URL: one that is not a cursor of its list is a 400 in words, not an empty page. */
export function pageCursorParam(cursor: RegExp) {
  return z.string().regex(cursor, "This page link is not valid: start from the first page").optional();
}

/**
 * A workspace list's place in the URL, so a filtered view can be bookmarked; an empty field means "any". A page
 * with several lists gives these its own names (`z.object({ ws_status: workspaceListParams.status, … })`).
 */
export const workspaceListParams = {
  // The message on the union itself: one on the enum alone is lost in the union's "Invalid input".
  status: z
    .union([z.enum(workspaceStatuses), z.literal("").transform(() => undefined)], { error: "Unknown status" })
    .optional(),
  q: z
    .string()
    .trim()
    .max(100, "Search for at most 100 characters")
    .transform((value) => value || undefined)
    .optional(),
  cursor: pageCursorParam(WORKSPACE_CURSOR),
};

function cursorOf(workspace: Pick<Workspace, "createdAt" | "id">) {
  return `${workspace.createdAt.getTime()}.${workspace.id}`;
}

/** `%` and `_` in what a user searches for are matched literally. */
function likePattern(text: string) {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * One page of a user's workspaces, newest first, with a cursor for the next page (null on the last) and how
 * many match in all. Keyset paging: a page costs the same however deep it is, and rows created meanwhile do
 * not shift the pages after it.
 */
export async function listWorkspaces(db: Database, userId: string, query: WorkspaceListQuery = {}) {
  const page = await pageOfWorkspaces(db, userId, query);
  return { ...page, workspaces: page.workspaces.map((row) => row.workspace) };
}

/** The same page across every user, each row with its owner's login: for admins only (the caller checks). */
export async function listAllWorkspaces(db: Database, query: WorkspaceListQuery = {}) {
  const page = await pageOfWorkspaces(db, null, query);
  return { ...page, workspaces: page.workspaces.map((row) => ({ ...row.workspace, ownerLogin: row.ownerLogin })) };
}

/** `userId` null means every user's workspaces, searched by the owner's login as well. */
async function pageOfWorkspaces(db: Database, userId: string | null, query: WorkspaceListQuery) {
  const limit = query.limit ?? WORKSPACE_PAGE_SIZE;
  const filters = userId === null ? [] : [eq(workspaces.userId, userId)];
  if (query.status) filters.push(eq(workspaces.status, query.status));
  if (query.search) {
    const pattern = likePattern(query.search);
    filters.push(
      or(
        sql`${workspaces.name} LIKE ${pattern} ESCAPE '\\'`,
        sql`${workspaces.repository} LIKE ${pattern} ESCAPE '\\'`,
        ...(userId === null ? [sql`${users.login} LIKE ${pattern} ESCAPE '\\'`] : []),
      )!,
    );
  }
  const matching = and(...filters);
  // created_at's default is unixepoch('subsec') * 1000, a REAL with a fraction of a millisecond that a Date
  // (and so a cursor) drops: order and compare by the whole millisecond.
  const createdMs = sql<number>`CAST(${workspaces.createdAt} AS INTEGER)`;
  const after = query.cursor ? WORKSPACE_CURSOR.exec(query.cursor) : null;
  const page = after
    ? and(
        matching,
        or(
          sql`${createdMs} < ${Number(after[1])}`,
          and(sql`${createdMs} = ${Number(after[1])}`, lt(workspaces.id, after[2]!)),
        ),
      )
    : matching;
  const [rows, [counted]] = await Promise.all([
    db
      .select({ workspace: workspaces, ownerLogin: users.login })
      .from(workspaces)
      .innerJoin(users, eq(users.id, workspaces.userId))
      .where(page)
      .orderBy(desc(createdMs), desc(workspaces.id))
      .limit(limit + 1),
    db.select({ total: count() }).from(workspaces).innerJoin(users, eq(users.id, workspaces.userId)).where(matching),
  ]);
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  return {
    workspaces: shown,
    nextCursor: more ? cursorOf(shown[shown.length - 1]!.workspace) : null,
    total: counted?.total ?? 0,
  };
}

/** The user's volumes all together, every page of workspaces and every status: what they bill a month. */
export async function userVolumeTotals(db: Database, userId: string) {
  const [row] = await db
    .select({
      volumes: count(),
      sizeGb: sum(workspaces.volumeSizeGb),
      // Summed in ten-thousandths of a euro (Hetzner's prices have four decimals): no float drift.
      monthlyTenThousandths: sql<number>`coalesce(sum(round(CAST(${workspaces.volumeMonthlyPrice} AS REAL) * 10000)), 0)`,
    })
    .from(workspaces)
    .where(and(eq(workspaces.userId, userId), isNotNull(workspaces.volumeId)));
  return {
    volumes: row?.volumes ?? 0,
    sizeGb: Number(row?.sizeGb ?? 0),
    monthlyPrice: Number(row?.monthlyTenThousandths ?? 0) / 10000,
  };
}

/**
 * One page of every volume SAM knows (a workspace row with a volume id), across users and statuses, newest
 * workspace first, each with its owner's login and GitHub id; and how many there are, with their monthly price.
 * For admins only (the caller checks).
 */
export async function listAllVolumes(db: Database, query: { cursor?: string; limit?: number } = {}) {
  const limit = query.limit ?? WORKSPACE_PAGE_SIZE;
  const withVolume = isNotNull(workspaces.volumeId);
  const createdMs = sql<number>`CAST(${workspaces.createdAt} AS INTEGER)`;
  const after = query.cursor ? WORKSPACE_CURSOR.exec(query.cursor) : null;
  const page = after
    ? and(
        withVolume,
        or(
          sql`${createdMs} < ${Number(after[1])}`,
          and(sql`${createdMs} = ${Number(after[1])}`, lt(workspaces.id, after[2]!)),
        ),
      )
    : withVolume;
  const [rows, [totals]] = await Promise.all([
    db
      .select({ workspace: workspaces, ownerLogin: users.login, ownerGithubId: users.githubId })
      .from(workspaces)
      .innerJoin(users, eq(users.id, workspaces.userId))
      .where(page)
      .orderBy(desc(createdMs), desc(workspaces.id))
      .limit(limit + 1),
    db
      .select({
        volumes: count(),
        sizeGb: sum(workspaces.volumeSizeGb),
        monthlyTenThousandths: sql<number>`coalesce(sum(round(CAST(${workspaces.volumeMonthlyPrice} AS REAL) * 10000)), 0)`,
      })
      .from(workspaces)
      .where(withVolume),
  ]);
  const shown = rows.slice(0, limit);
  return {
    volumes: shown,
    nextCursor: rows.length > limit ? cursorOf(shown[shown.length - 1]!.workspace) : null,
    total: totals?.volumes ?? 0,
    totalGb: Number(totals?.sizeGb ?? 0),
    monthlyPrice: Number(totals?.monthlyTenThousandths ?? 0) / 10000,
  };
}
