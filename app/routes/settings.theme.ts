import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { requireUser, safeRedirect } from "~/auth/auth.server";
import { themes, users } from "~/db/schema";
import { notFound } from "~/platform/responses.server";

const themeSchema = z.object({ theme: z.enum(themes, { error: "Choose system, light or dark." }) });

/**
 * Saves the signed-in user's theme, then goes back to the page it was chosen on (`redirectTo`), so the toggle
 * works before the page's JavaScript has loaded too; with it, the toggle's fetcher shows the choice at once.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const form = await request.formData();
  const parsed = themeSchema.safeParse({ theme: form.get("theme") });
  if (!parsed.success) throw new Response(parsed.error.issues[0]!.message, { status: 400 });
  await context.db.update(users).set({ theme: parsed.data.theme }).where(eq(users.id, user.id));
  return redirect(safeRedirect(form.get("redirectTo")));
}

export const loader = () => notFound("There is no such page.");
