import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { data } from "@remix-run/cloudflare";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { requireUser } from "~/auth/auth.server";
import { themes, users } from "~/db/schema";
import { notFound } from "~/platform/responses.server";

const themeSchema = z.object({ theme: z.enum(themes, { error: "Choose system, light or dark." }) });

/** Saves the signed-in user's theme; the header's toggle posts here with a fetcher and the root loader shows it. */
export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const parsed = themeSchema.safeParse(Object.fromEntries(await request.formData()));
  if (!parsed.success) return data({ error: parsed.error.issues[0]!.message }, { status: 400 });
  await context.db.update(users).set({ theme: parsed.data.theme }).where(eq(users.id, user.id));
  return data({ theme: parsed.data.theme });
}

export const loader = () => notFound("There is no such page.");
