import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLog, githubInstallations, users } from "../db/schema";
import { installation, repo, user as sender } from "../../tests/support/github-webhooks";
import { parseWebhook } from "./webhook.server";
import { applyWebhook, userOwnsInstallation } from "./installations.server";
import { testContext } from "../../tests/support/context.workers";

/** What a verified webhook does to the installations SAM recorded, and so to who may clone through them. */
describe("applyWebhook", () => {
  it("suspend and unsuspend gate git tokens; repository changes move the count; delete removes every user's record", async () => {
    const { context } = testContext();
    const installationId = Math.floor(Math.random() * 1e9);
    const hook = { ...installation, id: installationId };
    const owners: string[] = [];
    for (const login of ["hook-a", "hook-b"]) {
      const [row] = await context.db
        .insert(users)
        .values({ githubId: Math.floor(Math.random() * 1e9), login })
        .returning();
      await context.db.insert(githubInstallations).values({
        userId: row!.id,
        installationId,
        accountLogin: "acme",
        accountType: "Organization",
        repositorySelection: "selected",
        repositoryCount: 3,
      });
      owners.push(row!.id);
    }
    const request = new Request("http://localhost/api/github/webhook", { method: "POST" });
    const apply = (event: string, payload: Record<string, unknown>) =>
      applyWebhook(request, context, parseWebhook(event, { installation: hook, sender, ...payload })!);
    const rows = () =>
      context.db.query.githubInstallations.findMany({ where: eq(githubInstallations.installationId, installationId) });
    const owns = () => Promise.all(owners.map((userId) => userOwnsInstallation(context, userId, installationId)));

    expect(await owns()).toEqual([true, true]);
    await apply("installation", {
      action: "suspend",
      installation: { ...hook, suspended_at: "2026-01-01T00:00:00Z", suspended_by: sender },
    });
    expect(await owns()).toEqual([false, false]);
    await apply("installation", { action: "unsuspend" });
    expect(await owns()).toEqual([true, true]);

    await apply("installation_repositories", {
      action: "added",
      repository_selection: "selected",
      repositories_added: [repo(1), repo(2)],
      repositories_removed: [],
      requester: null,
    });
    await apply("installation_repositories", {
      action: "removed",
      repository_selection: "selected",
      repositories_added: [],
      repositories_removed: [repo(3)],
      requester: null,
    });
    expect((await rows()).map((row) => row.repositoryCount)).toEqual([4, 4]);

    await apply("installation", { action: "deleted" });
    expect(await rows()).toEqual([]);
    expect(await owns()).toEqual([false, false]);
    const audit = await context.db.query.auditLog.findMany({ where: eq(auditLog.userId, owners[1]!) });
    expect(audit.map((entry) => entry.action)).toEqual(
      expect.arrayContaining([
        "installation.suspended",
        "installation.unsuspended",
        "installation.repositories_changed",
        "installation.deleted",
      ]),
    );
  });
});
