import { describe, expect, it } from "vitest";
import { readCredential, saveCredential } from "./credentials.server";
import { users, workspaces } from "../db/schema";
import { settingsAction } from "./settings.server";
import { testContext } from "../../tests/support/context.workers";

async function newUser(login: string) {
  const { context } = testContext();
  const [user] = await context.db
    .insert(users)
    .values({ githubId: Math.floor(Math.random() * 1e9), login })
    .returning();
  return user!;
}
describe("the Hetzner token while servers exist", () => {
  const post = (fields: Record<string, string>) =>
    new Request("http://localhost/settings", {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { Origin: "http://localhost:8788" },
    });

  it("cannot be replaced or removed, since the servers can only be deleted with it", async () => {
    const { context } = testContext();
    const user = await newUser("carol");
    await saveCredential(context, user.id, "hetzner", "A".repeat(60) + "keep");
    await context.db.insert(workspaces).values({
      userId: user.id,
      name: "live",
      size: "small",
      serverType: "cx23",
      location: "fsn1",
      status: "running",
      serverId: 42,
    });

    const replaced = await settingsAction(post({ intent: "save-hetzner", token: "B".repeat(64) }), context, user);
    expect(JSON.stringify(replaced)).toContain("Stop your workspaces first");
    const removed = await settingsAction(post({ intent: "remove", kind: "hetzner" }), context, user);
    expect(removed).toBeInstanceOf(Response);
    expect((removed as Response).status).toBe(302);
    expect(await readCredential(context, user.id, "hetzner")).toBe("A".repeat(60) + "keep");
  });
});
