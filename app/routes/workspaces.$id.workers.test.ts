import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { commitSession, getSession } from "~/auth/session.server";
import * as schema from "~/db/schema";
import { testContext } from "../../tests/support/context.workers";
import { newWorkspace, reload, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { action } from "./workspaces.$id";

useFreshUser();

/** Posts the workspace page's form as the signed-in test user; the answer, whether returned or thrown. */
async function post(workspaceId: string, fields: Record<string, string>, as = userId) {
  const { context } = testContext();
  const session = await getSession(new Request("http://localhost/"), context);
  session.set("userId", as);
  const cookie = (await commitSession(session, context)).split(";")[0]!;
  const request = new Request(`http://localhost/workspaces/${workspaceId}`, {
    method: "POST",
    headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  const answer: unknown = await action({ request, context: testContext().context, params: { id: workspaceId } }).catch(
    (thrown: unknown) => thrown,
  );
  return answer as Response | { data: { error: string }; init: { status: number } | null };
}

const statusOf = (answer: Awaited<ReturnType<typeof post>>) =>
  answer instanceof Response ? answer.status : (answer.init?.status ?? 200);

describe("the workspace page's actions", () => {
  it("refuses to delete a workspace with unsaved work without the explicit confirmation, saying what would be lost", async () => {
    const workspace = await newWorkspace({
      status: "stopped",
      volumeId: 7,
      volumeSizeGb: 10,
      unsavedWork: { uncommitted: 3, unpushed: 1 },
    });
    const refused = await post(workspace.id, { intent: "delete" });
    expect(statusOf(refused)).toBe(400);
    expect(!(refused instanceof Response) && refused.data.error).toContain(
      "3 uncommitted changes and 1 unpushed commit will be lost with the volume",
    );
    expect((await reload(workspace.id))!.status).toBe("stopped");

    const confirmed = await post(workspace.id, { intent: "delete", confirmLoss: "on" });
    expect(statusOf(confirmed)).toBe(302);
    expect((await reload(workspace.id))?.status ?? "deleted").not.toBe("stopped");
  });

  it("deletes without asking when nothing is unsaved, or when a stopped workspace's volume is already gone", async () => {
    const clean = await newWorkspace({ status: "stopped", volumeId: 8, unsavedWork: { uncommitted: 0, unpushed: 0 } });
    expect(statusOf(await post(clean.id, { intent: "delete" }))).toBe(302);
    // The agent's last count stays on the row, but the volume it was about is gone: nothing left to lose.
    const noVolume = await newWorkspace({
      status: "stopped",
      volumeId: null,
      unsavedWork: { uncommitted: 2, unpushed: 0 },
    });
    expect(statusOf(await post(noVolume.id, { intent: "delete" }))).toBe(302);
  });

  it("'Run setup again' marks the owner's workspace for the next start, and is audited; someone else's is a 404", async () => {
    const workspace = await newWorkspace({ status: "stopped", volumeId: 9 });
    const answer = await post(workspace.id, { intent: "rerun-setup" });
    expect(statusOf(answer)).toBe(302);
    expect((await reload(workspace.id))!.rerunSetup).toBe(true);
    const audit = await testContext().context.db.query.auditLog.findMany({
      where: eq(schema.auditLog.userId, userId),
    });
    expect(audit.map((entry) => entry.action)).toContain("workspace.setup_rerun_requested");

    const [stranger] = await testContext()
      .context.db.insert(schema.users)
      .values({ githubId: Math.floor(Math.random() * 1e9), login: `stranger-${crypto.randomUUID().slice(0, 8)}` })
      .returning();
    const other = await newWorkspace({ status: "stopped", volumeId: 10 });
    expect(statusOf(await post(other.id, { intent: "rerun-setup" }, stranger!.id))).toBe(404);
    expect((await reload(other.id))!.rerunSetup).toBe(false);
  });
});
