import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { runSweep, sweepSecret } from "~/workspaces/sweep.server";
import { notFound } from "~/platform/responses.server";

async function sameSecret(given: string, expected: string): Promise<boolean> {
  // Compare digests so the time taken says nothing about the secret.
  const digest = async (value: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return a.every((byte, index) => byte === b[index]);
}

/**
 * Runs the sweep now. For the local runner (scripts/dev.mjs) only: it authenticates with a bearer derived
 * from SESSION_SECRET, which nobody outside the instance knows. Production runs the sweep from a cron.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const given = /^Bearer (.+)$/.exec(request.headers.get("Authorization") ?? "")?.[1] ?? "";
  if (request.method !== "POST" || !(await sameSecret(given, await sweepSecret(context.config)))) {
    return notFound("There is no such page.");
  }
  const report = await runSweep({ db: context.db, config: context.config });
  return Response.json(report);
}

export const loader = () => notFound("There is no such page.");
