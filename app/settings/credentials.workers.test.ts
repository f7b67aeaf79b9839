import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listCredentials, readCredential, removeCredential, saveCredential } from "./credentials.server";
import { users } from "../db/schema";
import { testContext } from "../../tests/support/context.workers";

async function newUser(login: string) {
  const { context } = testContext();
  const [user] = await context.db
    .insert(users)
    .values({ githubId: Math.floor(Math.random() * 1e9), login })
    .returning();
  return user!;
}
describe("stored credentials", () => {
  it("are encrypted in D1, shown by their last 4 only, replaceable and removable", async () => {
    const { context } = testContext();
    const user = await newUser("alice");
    const token = "Z".repeat(60) + "wxyz";
    await saveCredential(context, user.id, "hetzner", token);

    const { results } = await env.DB.prepare("SELECT * FROM credentials WHERE user_id = ?").bind(user.id).all();
    expect(JSON.stringify(results)).not.toContain("Z".repeat(20));
    expect(await listCredentials(context, user.id)).toEqual([
      { kind: "hetzner", last4: "wxyz", updatedAt: expect.any(Date) },
    ]);
    expect(await readCredential(context, user.id, "hetzner")).toBe(token);

    await saveCredential(context, user.id, "hetzner", "Y".repeat(60) + "1234");
    expect((await listCredentials(context, user.id)).map((credential) => credential.last4)).toEqual(["1234"]);

    expect(await removeCredential(context, user.id, "hetzner")).toBe(true);
    expect(await readCredential(context, user.id, "hetzner")).toBeNull();
  });

  it("are readable only by their owner", async () => {
    const { context } = testContext();
    const alice = await newUser("alice2");
    const mallory = await newUser("mallory");
    await saveCredential(context, alice.id, "openai_api_key", "sk-proj-secret-secret-secret");
    expect(await readCredential(context, mallory.id, "openai_api_key")).toBeNull();
    expect(await removeCredential(context, mallory.id, "openai_api_key")).toBe(false);
    expect(await readCredential(context, alice.id, "openai_api_key")).toBe("sk-proj-secret-secret-secret");
  });

  it("treat an expired GitHub token as absent", async () => {
    const { context } = testContext();
    const user = await newUser("bob");
    await saveCredential(context, user.id, "github_user_token", "ghu_expired", {
      expiresAt: new Date(Date.now() - 1000),
    });
    expect(await readCredential(context, user.id, "github_user_token")).toBeNull();
  });
});
