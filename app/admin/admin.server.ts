import { parseWithZod } from "@conform-to/zod/v4";
import { data, type AppLoadContext } from "@remix-run/cloudflare";
import { count, desc, eq } from "drizzle-orm";
import { BUILD_IMAGE_INTENT, policyFormSchema } from "./schema";
import { audit } from "../platform/audit.server";
import type { User } from "../auth/auth.server";
import { auditLog, users, workspaces } from "../db/schema";
import { getPolicy, savePolicy, type Policy } from "./policy.server";
import { readForm } from "../platform/responses.server";
import { redirectWithToast } from "../platform/toast.server";
import { costSoFar } from "../workspaces/cost";
import { endAccessOfDisallowedUsers } from "../workspaces/access.server";
import { adminImageBuild } from "./image.server";

export async function loadAdmin(context: AppLoadContext) {
  const { db } = context;
  const [policy, userRows, workspaceRows, auditRows] = await Promise.all([
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
      .groupBy(users.id)
      .orderBy(users.login),
    db
      .select({
        id: workspaces.id,
        name: workspaces.name,
        status: workspaces.status,
        login: users.login,
        size: workspaces.size,
        location: workspaces.location,
        hourlyPrice: workspaces.hourlyPrice,
        billedSeconds: workspaces.billedSeconds,
        startedAt: workspaces.startedAt,
        createdAt: workspaces.createdAt,
      })
      .from(workspaces)
      .innerJoin(users, eq(users.id, workspaces.userId))
      .orderBy(desc(workspaces.createdAt))
      .limit(500),
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
      .orderBy(desc(auditLog.id))
      .limit(200),
  ]);
  const now = Date.now();
  return {
    policy,
    users: userRows.map((row) => ({
      ...row,
      createdAt: row.createdAt.toISOString(),
      lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
    })),
    workspaces: workspaceRows.map(({ startedAt, createdAt, billedSeconds, ...row }) => ({
      ...row,
      createdAt: createdAt.toISOString(),
      cost: costSoFar({ hourlyPrice: row.hourlyPrice, billedSeconds, startedAt, status: row.status }, now),
    })),
    audit: auditRows.map((row) => ({ ...row, createdAt: row.createdAt.toISOString() })),
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
