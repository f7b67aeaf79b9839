import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { action } from "./api.github.webhook";
import { githubInstallations, users } from "~/db/schema";
import { installation, repo, user as sender } from "../../tests/support/github-webhooks";
import { testContext } from "../../tests/support/context.workers";

async function signed(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
  return `sha256=${[...mac].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

describe("POST /api/github/webhook", () => {
  it("processes each delivery once: a redelivered or replayed X-GitHub-Delivery changes nothing again", async () => {
    const { context } = testContext();
    const installationId = Math.floor(Math.random() * 1e9);
    const [owner] = await context.db
      .insert(users)
      .values({ githubId: Math.floor(Math.random() * 1e9), login: "hook-owner" })
      .returning();
    await context.db.insert(githubInstallations).values({
      userId: owner!.id,
      installationId,
      accountLogin: "acme",
      accountType: "Organization",
      repositorySelection: "selected",
      repositoryCount: 1,
    });
    const body = JSON.stringify({
      action: "added",
      installation: { ...installation, id: installationId },
      sender,
      repository_selection: "selected",
      repositories_added: [repo(1), repo(2)],
      repositories_removed: [],
      requester: null,
    });
    const signature = await signed(context.config.GITHUB_WEBHOOK_SECRET, body);
    const deliver = (delivery: string | null) =>
      action({
        request: new Request("http://localhost/api/github/webhook", {
          method: "POST",
          body,
          headers: {
            "Content-Type": "application/json",
            "X-GitHub-Event": "installation_repositories",
            "X-Hub-Signature-256": signature,
            ...(delivery ? { "X-GitHub-Delivery": delivery } : {}),
          },
        }),
        context,
        params: {},
      });
    const count = async () =>
      (
        await context.db.query.githubInstallations.findFirst({
          where: eq(githubInstallations.installationId, installationId),
        })
      )?.repositoryCount;

    const delivery = crypto.randomUUID();
    expect(await (await deliver(delivery)).json()).toEqual({ status: "processed" });
    expect(await count()).toBe(3);
    const again = await deliver(delivery);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: "duplicate" });
    expect(await count()).toBe(3);

    const missing = await deliver(null);
    expect(missing.status).toBe(400);
    expect(await count()).toBe(3);
    // A new delivery of the same event is new work.
    await deliver(crypto.randomUUID());
    expect(await count()).toBe(5);
  });
});
