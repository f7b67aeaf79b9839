import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { useLoaderData } from "@remix-run/react";
import { desc, eq } from "drizzle-orm";
import { requireUser } from "~/auth/auth.server";
import { AuditTable } from "~/components/audit-table";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { auditLog } from "~/db/schema";

export const meta: MetaFunction = () => [{ title: "Audit log · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const entries = await context.db
    .select({
      id: auditLog.id,
      action: auditLog.action,
      ip: auditLog.ip,
      details: auditLog.details,
      createdAt: auditLog.createdAt,
    })
    .from(auditLog)
    .where(eq(auditLog.userId, user.id))
    .orderBy(desc(auditLog.id))
    .limit(200);
  return { entries: entries.map((entry) => ({ ...entry, createdAt: entry.createdAt.toISOString(), login: null })) };
}

export default function AuditLog() {
  const { entries } = useLoaderData<typeof loader>();
  return <AuditTable entries={entries} />;
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing your activity log" />;
}
