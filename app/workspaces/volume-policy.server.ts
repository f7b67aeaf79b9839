import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq, isNotNull, sum } from "drizzle-orm";
import { getPolicy } from "../admin/policy.server";
import { workspaces } from "../db/schema";

/** What a new volume may be: its size, or why the user may not have one. */
export type VolumePlan = { sizeGb: number } | { error: string };

/**
 * The volume a new workspace of `userId` gets under the admin policy: null when volumes are off, the size to
 * create, or a sentence saying why not when the user's volumes would pass the total the policy allows.
 * Volumes count as long as SAM knows them (a workspace row with a volume id), stopped workspaces' too: those
 * bill by the month all the same.
 */
export async function volumePlan(
  context: Pick<AppLoadContext, "db" | "config">,
  userId: string,
): Promise<VolumePlan | null> {
  const policy = await getPolicy(context);
  if (!policy.volumesEnabled) return null;
  const usedGb = await userVolumeGb(context, userId);
  const sizeGb = policy.volumeDefaultGb;
  if (usedGb + sizeGb > policy.volumeTotalGbPerUser) {
    return {
      error:
        `Your workspaces' volumes take ${usedGb} GB of the ${policy.volumeTotalGbPerUser} GB this instance allows ` +
        `each user, and a new one needs ${sizeGb} GB: delete a stopped workspace you no longer need, or ask an ` +
        "admin to raise the limit.",
    };
  }
  return { sizeGb };
}

/** The sum of the sizes of the volumes SAM knows for the user's workspaces. */
async function userVolumeGb(context: Pick<AppLoadContext, "db">, userId: string): Promise<number> {
  const [row] = await context.db
    .select({ total: sum(workspaces.volumeSizeGb) })
    .from(workspaces)
    .where(and(eq(workspaces.userId, userId), isNotNull(workspaces.volumeId)));
  return Number(row?.total ?? 0);
}
