import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listCredentials, readCredential, removeCredential, saveCredential } from "./credentials.server";
import { users, workspaces } from "../db/schema";
import { createUserSession } from "../auth/auth.server";
import { commitSession, destroySession, getSession, sessionCookieName } from "../auth/session.server";
import { settingsAction } from "./settings.server";
import { testContext } from "../../tests/support/context.workers";

async function newUser(login: string) {
  const { context } = testContext();
  const [user] = await context.db.insert(users).values({ githubId: Math.floor(Math.random() * 1e9), login }).returning();
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
    expect(await listCredentials(context, user.id)).toEqual([{ kind: "hetzner", last4: "wxyz", updatedAt: expect.any(Date) }]);
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
    await saveCredential(context, user.id, "github_user_token", "ghu_expired", { expiresAt: new Date(Date.now() - 1000) });
    expect(await readCredential(context, user.id, "github_user_token")).toBeNull();
  });
});

describe("sessions", () => {
  it("live in KV behind a signed, HttpOnly, SameSite=Lax cookie and are destroyed on sign-out", async () => {
    const { context } = testContext();
    const session = await getSession(new Request("http://localhost/"), context);
    session.set("userId", "user-1");
    const cookie = await commitSession(session, context);
    expect(cookie).toMatch(/^__session=[^;]+; Max-Age=1209600; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(cookie).not.toContain("user-1");

    const request = new Request("http://localhost/", { headers: { Cookie: cookie.split(";")[0]! } });
    const loaded = await getSession(request, context);
    expect(loaded.get("userId")).toBe("user-1");
    expect((await env.SESSIONS.list()).keys.length).toBeGreaterThan(0);

    await destroySession(loaded, context);
    expect((await getSession(request, context)).get("userId")).toBeUndefined();
  });

  it("are read once per request: the root loader and the route share one session", async () => {
    const { context } = testContext();
    const session = await getSession(new Request("http://localhost/"), context);
    session.set("userId", "user-1");
    const cookie = (await commitSession(session, context)).split(";")[0]!;
    const request = new Request("http://localhost/", { headers: { Cookie: cookie } });
    const first = await getSession(request, context);
    expect(await getSession(new Request("http://localhost/dashboard", { headers: { Cookie: cookie } }), context)).toBe(first);
    // A new request (a new load context) reads it afresh.
    expect(await getSession(request, testContext().context)).not.toBe(first);
  });

  it("ignore a cookie whose signature does not match", async () => {
    const { context } = testContext();
    const session = await getSession(new Request("http://localhost/"), context);
    session.set("userId", "user-1");
    const [name, value] = (await commitSession(session, context)).split(";")[0]!.split("=") as [string, string];
    // Change the signature's first character: its 6 bits are all data (the last character's low bits are
    // base64 padding, so changing those can leave the signature intact).
    const signed = decodeURIComponent(value);
    const dot = signed.lastIndexOf(".");
    const forged = signed.slice(0, dot + 1) + (signed[dot + 1] === "A" ? "B" : "A") + signed.slice(dot + 2);
    const loaded = await getSession(new Request("http://localhost/", { headers: { Cookie: `${name}=${encodeURIComponent(forged)}` } }), context);
    expect(loaded.get("userId")).toBeUndefined();
  });

  it("a mangled cookie (signature not even base64) is a fresh session, not an error", async () => {
    const { context } = testContext();
    const session = await getSession(new Request("http://localhost/"), context);
    session.set("userId", "user-1");
    const [pair] = (await commitSession(session, context)).split(";");
    const mangled = `${pair!.slice(0, pair!.lastIndexOf(".") + 1)}%%not*base64`;
    const loaded = await getSession(new Request("http://localhost/", { headers: { Cookie: mangled } }), context);
    expect(loaded.get("userId")).toBeUndefined();
  });
});

describe("session fixation", () => {
  it("sign-in issues a new session id even when the browser brings a valid one", async () => {
    const { context } = testContext();
    const planted = await getSession(new Request("http://localhost/"), context);
    planted.set("userId", "attacker");
    const plantedCookie = (await commitSession(planted, context)).split(";")[0]!;

    const response = await createUserSession(new Request("http://localhost/auth/github/callback", { headers: { Cookie: plantedCookie } }), context, "victim", "/dashboard");
    const issued = response.headers.get("Set-Cookie")!.split(";")[0]!;
    expect(issued).not.toBe(plantedCookie);
    // The planted id still belongs to its owner; the victim's session is one the attacker does not know.
    expect((await getSession(new Request("http://localhost/", { headers: { Cookie: plantedCookie } }), context)).get("userId")).toBe("attacker");
    expect((await getSession(new Request("http://localhost/", { headers: { Cookie: issued } }), context)).get("userId")).toBe("victim");
  });

  it("the cookie is __Host- prefixed over https, so a workspace host cannot set it", () => {
    expect(sessionCookieName("https://app.example.com")).toBe("__Host-session");
    expect(sessionCookieName("http://localhost:8788")).toBe("__session");
  });
});

describe("the Hetzner token while servers exist", () => {
  const post = (fields: Record<string, string>) =>
    new Request("http://localhost/settings", { method: "POST", body: new URLSearchParams(fields), headers: { Origin: "http://localhost:8788" } });

  it("cannot be replaced or removed, since the servers can only be deleted with it", async () => {
    const { context } = testContext();
    const user = await newUser("carol");
    await saveCredential(context, user.id, "hetzner", "A".repeat(60) + "keep");
    await context.db.insert(workspaces).values({ userId: user.id, name: "live", size: "small", serverType: "cx23", location: "fsn1", status: "running", serverId: 42 });

    const replaced = await settingsAction(post({ intent: "save-hetzner", token: "B".repeat(64) }), context, user);
    expect(JSON.stringify(replaced)).toContain("Stop your workspaces first");
    const removed = await settingsAction(post({ intent: "remove", kind: "hetzner" }), context, user);
    expect(removed).toBeInstanceOf(Response);
    expect((removed as Response).status).toBe(302);
    expect(await readCredential(context, user.id, "hetzner")).toBe("A".repeat(60) + "keep");
  });
});

