import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq } from "drizzle-orm";
import { getPolicy } from "../admin/policy.server";
import { workspaces } from "../db/schema";
import type { Database } from "../platform/context.server";
import { volumeMonthlyCost } from "./cost";
import { unsavedWorkAtRisk } from "./unsaved-work";
import { volumeDeadlines } from "./volume-retention.server";
import type { Workspace } from "./workspaces.server";

/** What the workspace page says of a workspace's volume and the work on it. */
export async function presentVolume(context: Pick<AppLoadContext, "db" | "config">, workspace: Workspace) {
  const unsavedWork = unsavedWorkAtRisk(workspace);
  if (workspace.volumeId === null) return { volume: null, unsavedWork };
  const resting = workspace.status === "stopped" || workspace.status === "error";
  const deleteAt = resting ? volumeDeadlines(workspace, await getPolicy(context)).deleteAt : null;
  return {
    volume: {
      sizeGb: workspace.volumeSizeGb,
      monthlyPrice: volumeMonthlyCost(workspace),
      location: workspace.location,
      /** When the retention deletes it, while nothing runs on it. */
      deleteAt,
      rerunSetup: workspace.rerunSetup,
    },
    unsavedWork,
  };
}

/** "Run setup again": the next boot runs the setup script though the volume says it ran. False: not theirs. */
export async function requestSetupRerun(db: Database, scope: { id: string; userId: string }): Promise<boolean> {
  const updated = await db
    .update(workspaces)
    .set({ rerunSetup: true })
    .where(and(eq(workspaces.id, scope.id), eq(workspaces.userId, scope.userId)))
    .returning({ id: workspaces.id });
  return updated.length > 0;
}
