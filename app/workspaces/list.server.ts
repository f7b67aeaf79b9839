import { and, count, desc, eq, lt, or, sql } from "drizzle-orm";
import type { Database } from "../platform/context.server";
import { workspaces, type WorkspaceStatus } from "../db/schema";
import type { Workspace } from "./workspaces.server";

/** The dashboard's list of a user's workspaces: keyset-paged, filtered by status, searched by name and repository. */

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
  const limit = query.limit ?? WORKSPACE_PAGE_SIZE;
  const filters = [eq(workspaces.userId, userId)];
  if (query.status) filters.push(eq(workspaces.status, query.status));
  if (query.search) {
    const pattern = likePattern(query.search);
    filters.push(
      or(
        sql`${workspaces.name} LIKE ${pattern} ESCAPE '\\'`,
        sql`${workspaces.repository} LIKE ${pattern} ESCAPE '\\'`,
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
      .select()
      .from(workspaces)
      .where(page)
      .orderBy(desc(createdMs), desc(workspaces.id))
      .limit(limit + 1),
    db.select({ total: count() }).from(workspaces).where(matching),
  ]);
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  return {
    workspaces: shown,
    nextCursor: more ? cursorOf(shown[shown.length - 1]!) : null,
    total: counted?.total ?? 0,
  };
}
