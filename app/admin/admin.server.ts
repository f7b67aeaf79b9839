import { parseWithZod } from "@conform-to/zod/v4";
import { data, type AppLoadContext } from "@remix-run/cloudflare";
import { count, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { BUILD_IMAGE_INTENT, policyFormSchema } from "./schema";
import { audit } from "../platform/audit.server";
import type { User } from "../auth/auth.server";
import { auditLog, users, workspaces } from "../db/schema";
import { getPolicy, isLoginAllowed, savePolicy, type Policy } from "./policy.server";
import { readForm } from "../platform/responses.server";
import { redirectWithToast } from "../platform/toast.server";
import { costSoFar, volumeMonthlyCost } from "../workspaces/cost";
import { endAccessOfDisallowedUsers } from "../workspaces/access.server";
import {
  listAllVolumes,
  listAllWorkspaces,
  pageCursorParam,
  WORKSPACE_CURSOR,
  WORKSPACE_PAGE_SIZE,
  workspaceListParams,
} from "../workspaces/list.server";
import { volumeDeadlines } from "../workspaces/volume-retention.server";
import { adminImageBuild } from "./image.server";

/** A user's id (a UUID) names the last user shown; an audit entry's id the last entry. */
const USER_CURSOR = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AUDIT_CURSOR = /^\d{1,15}$/;

/**
 * Where each of the page's lists is, in the URL so a view can be bookmarked: each list has its own parameters,
 * so paging one keeps the others where they are.
 */
const adminQuerySchema = z.object({
  users_cursor: pageCursorParam(USER_CURSOR),
  ws_status: workspaceListParams.status,
  ws_q: workspaceListParams.q,
  ws_cursor: workspaceListParams.cursor,
  vol_cursor: pageCursorParam(WORKSPACE_CURSOR),
  audit_cursor: pageCursorParam(AUDIT_CURSOR),
});

/** The admin page's data: the policy, and a page each of users, everyone's workspaces and the audit log. */
export async function loadAdmin(context: AppLoadContext, url: URL) {
  const parsed = adminQuerySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) throw new Response(parsed.error.issues[0]!.message, { status: 400 });
  const query = parsed.data;
  const { db } = context;
  const limit = WORKSPACE_PAGE_SIZE;
  const [policy, userRows, [userCount], workspacePage, volumePage, auditRows] = await Promise.all([
    getPolicy(context),
    db
      .select({
        id: users.id,
        login: users.login,
        name: users.name,
        createdAt: users.createdAt,
        lastSignInAt: users.lastSignInAt,
        workspaces: count(workspaces.id),
      })
      .from(users)
      .leftJoin(workspaces, eq(workspaces.userId, users.id))
      .where(
        query.users_cursor
          ? sql`(${users.login}, ${users.id}) > (SELECT last_shown.login, last_shown.id FROM users AS last_shown WHERE last_shown.id = ${query.users_cursor})`
          : undefined,
      )
      .groupBy(users.id)
      .orderBy(users.login, users.id)
      .limit(limit + 1),
    db.select({ total: count() }).from(users),
    listAllWorkspaces(db, { status: query.ws_status, search: query.ws_q, cursor: query.ws_cursor }),
    listAllVolumes(db, { cursor: query.vol_cursor }),
    db
      .select({
        id: auditLog.id,
        action: auditLog.action,
        ip: auditLog.ip,
        details: auditLog.details,
        createdAt: auditLog.createdAt,
        login: users.login,
      })
      .from(auditLog)
      .leftJoin(users, eq(users.id, auditLog.userId))
      .where(query.audit_cursor ? lt(auditLog.id, Number(query.audit_cursor)) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(limit + 1),
  ]);
  const shownUsers = userRows.slice(0, limit);
  const shownAudit = auditRows.slice(0, limit);
  const now = Date.now();
  const volumes = await Promise.all(
    volumePage.volumes.map(async ({ workspace, ownerLogin, ownerGithubId }) => {
      const resting = workspace.status === "stopped" || workspace.status === "error";
      const deadlines = resting ? volumeDeadlines(workspace, policy) : null;
      return {
        volumeId: workspace.volumeId!,
        workspaceId: workspace.id,
        workspaceName: workspace.name,
        status: workspace.status,
        login: ownerLogin,
        // Taken off the allow-list: the volume bills on until the retention deletes it.
        ownerMaySignIn: await isLoginAllowed(context, { login: ownerLogin, githubId: ownerGithubId }),
        sizeGb: workspace.volumeSizeGb,
        location: workspace.location,
        monthlyPrice: volumeMonthlyCost(workspace),
        restingSince: deadlines?.since ?? null,
        deleteAt: deadlines?.deleteAt ?? null,
      };
    }),
  );
  return {
    policy,
    users: shownUsers.map((row) => ({
      ...row,
      createdAt: row.createdAt.toISOString(),
      lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
    })),
    usersTotal: userCount?.total ?? 0,
    usersNextCursor: userRows.length > limit ? shownUsers[shownUsers.length - 1]!.id : null,
    workspaces: workspacePage.workspaces.map((workspace) => ({
      id: workspace.id,
      name: workspace.name,
      status: workspace.status,
      repository: workspace.repository,
      login: workspace.ownerLogin,
      size: workspace.size,
      location: workspace.location,
      hourlyPrice: workspace.hourlyPrice,
      createdAt: workspace.createdAt.toISOString(),
      cost: costSoFar(workspace, now),
    })),
    workspacesTotal: workspacePage.total,
    workspacesNextCursor: workspacePage.nextCursor,
    workspacesFiltered: Boolean(query.ws_status || query.ws_q),
    volumes,
    volumesTotal: volumePage.total,
    volumesTotalGb: volumePage.totalGb,
    volumesMonthlyPrice: volumePage.monthlyPrice,
    volumesNextCursor: volumePage.nextCursor,
    now,
    audit: shownAudit.map((row) => ({ ...row, createdAt: row.createdAt.toISOString() })),
    auditNextCursor: auditRows.length > limit ? String(shownAudit[shownAudit.length - 1]!.id) : null,
  };
}

export async function adminAction(request: Request, context: AppLoadContext, admin: User) {
  const formData = await readForm(request);
  if (formData.get("intent") === BUILD_IMAGE_INTENT) return buildImage(request, context, admin);
  return savePolicyForm(request, context, admin, formData);
}

async function buildImage(request: Request, context: AppLoadContext, admin: User) {
  const image = await adminImageBuild(context, request, admin.id, true);
  const toast =
    image.phase === "unavailable" || image.phase === "failed"
      ? { kind: "error" as const, title: "The SAM image was not built", description: image.message }
      : { kind: "success" as const, title: "Building the SAM image", description: image.message };
  return redirectWithToast(request, context, "/admin", toast);
}

async function savePolicyForm(request: Request, context: AppLoadContext, admin: User, formData: FormData) {
  const submission = parseWithZod(formData, { schema: policyFormSchema });
  if (submission.status !== "success") return data({ result: submission.reply() }, { status: 400 });
  const before = await getPolicy(context);
  const policy: Policy = {
    ...submission.value,
    allowedLogins: submission.value.allowedLogins.length ? submission.value.allowedLogins : null,
  };
  await savePolicy(context, policy);
  await endAccessOfDisallowedUsers(context);
  const changed = Object.fromEntries(
    Object.entries(policy).filter(
      ([key, value]) => JSON.stringify(value) !== JSON.stringify(before[key as keyof Policy]),
    ),
  );
  await audit(context, request, { userId: admin.id, action: "policy.updated", details: changed });
  return redirectWithToast(request, context, "/admin", { kind: "success", title: "Instance policy saved" });
}
