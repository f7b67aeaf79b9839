import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { users, workspaceStatuses, workspaces } from "~/db/schema";
import { notFound } from "~/platform/responses.server";
import { newWorkspaceId } from "~/workspaces/workspaces.server";

/**
 * Test support: adds many workspace rows for a user at once, so the end-to-end tests can page and filter a long
 * list without writing to the database behind the running server's back. It exists only against the local
 * cloud (the Hetzner API on loopback) and answers only the local runner's bearer: HMAC-SHA256(SESSION_SECRET,
 * "sam-internal-seed"). Anywhere else it is a 404 like any unknown address.
 */
const seedSchema = z.object({
  login: z.string().min(1),
  workspaces: z
    .array(
      z.object({
        name: z.string().min(1).max(64),
        status: z.enum(workspaceStatuses).refine((status) => status === "stopped" || status === "error", {
          message: "only stopped or error rows: anything live would be swept",
        }),
        repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
        // A volume as provisioning would record it (no such volume exists in the local cloud).
        volume: z
          .object({
            id: z.number().int().positive(),
            sizeGb: z.number().int().min(10),
            monthlyPrice: z.string().regex(/^\d+\.\d+$/),
          })
          .optional(),
        // As the agent's heartbeat would have reported it.
        unsavedWork: z.object({ uncommitted: z.number().int().min(0), unpushed: z.number().int().min(0) }).optional(),
      }),
    )
    .min(1)
    .max(2000),
});

async function seedSecret(sessionSecret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(sessionSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("sam-internal-seed"));
  return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function sameSecret(given: string, expected: string): Promise<boolean> {
  const digest = async (value: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return a.every((byte, index) => byte === b[index]);
}

const isLocalCloud = (hetznerApiUrl: string) => ["127.0.0.1", "localhost"].includes(new URL(hetznerApiUrl).hostname);

export async function action({ request, context }: ActionFunctionArgs) {
  const given = /^Bearer (.+)$/.exec(request.headers.get("Authorization") ?? "")?.[1] ?? "";
  if (
    request.method !== "POST" ||
    !isLocalCloud(context.config.HETZNER_API_URL) ||
    !(await sameSecret(given, await seedSecret(context.config.SESSION_SECRET)))
  ) {
    return notFound("There is no such page.");
  }
  const parsed = seedSchema.safeParse(await request.json().catch(() => null));
  if (!parsed.success) return Response.json({ error: parsed.error.issues[0]!.message }, { status: 400 });
  const user = await context.db.query.users.findFirst({ where: eq(users.login, parsed.data.login) });
  if (!user) return Response.json({ error: `no user ${parsed.data.login}: sign in first` }, { status: 400 });

  // Newest first in the order given, a second apart, so pages are predictable.
  const now = Date.now();
  const rows = parsed.data.workspaces.map((workspace, index) => ({
    id: newWorkspaceId(),
    userId: user.id,
    name: workspace.name,
    status: workspace.status,
    repository: workspace.repository,
    branch: "main",
    size: "small",
    serverType: "cx23",
    location: "fsn1",
    hourlyPrice: "0.0095",
    error: workspace.status === "error" ? "Seeded for a test" : null,
    stoppedAt: new Date(now - index * 1000),
    createdAt: new Date(now - index * 1000),
    updatedAt: new Date(now - index * 1000),
    volumeId: workspace.volume?.id ?? null,
    volumeSizeGb: workspace.volume?.sizeGb ?? null,
    volumeMonthlyPrice: workspace.volume?.monthlyPrice ?? null,
    unsavedWork: workspace.unsavedWork ?? null,
  }));
  // D1 binds at most 100 parameters per statement: 18 columns and a few defaults, so 4 rows an INSERT, in one batch.
  const inserts = [];
  for (let i = 0; i < rows.length; i += 4) inserts.push(context.db.insert(workspaces).values(rows.slice(i, i + 4)));
  await context.db.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
  return Response.json({ ids: rows.map((row) => row.id) });
}

export const loader = () => notFound("There is no such page.");
