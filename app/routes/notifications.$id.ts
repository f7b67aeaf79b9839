import { redirect, type LoaderFunctionArgs } from "@remix-run/cloudflare";
import { and, eq } from "drizzle-orm";
import { requireUser } from "~/auth/auth.server";
import { notifications } from "~/db/schema";
import { markRead } from "~/notifications/notifications.server";
import { notFound } from "~/platform/responses.server";

/** Opens a notification: marks it read and goes where it leads. */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const row = await context.db.query.notifications.findFirst({
    where: and(eq(notifications.id, params.id ?? ""), eq(notifications.userId, user.id)),
  });
  if (!row) throw notFound("No such notification.");
  await markRead(context, user.id, [row.id]);
  // Only a path in this app: a stored URL never sends the user elsewhere.
  return redirect(row.url.startsWith("/") && !row.url.startsWith("//") ? row.url : "/notifications");
}
