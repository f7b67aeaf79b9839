import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createUserSession } from "./auth.server";
import { commitSession, destroySession, getSession, sessionCookieName } from "./session.server";
import { testContext } from "../../tests/support/context.workers";

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
    expect(await getSession(new Request("http://localhost/dashboard", { headers: { Cookie: cookie } }), context)).toBe(
      first,
    );
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
    const loaded = await getSession(
      new Request("http://localhost/", { headers: { Cookie: `${name}=${encodeURIComponent(forged)}` } }),
      context,
    );
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

    const response = await createUserSession(
      new Request("http://localhost/auth/github/callback", { headers: { Cookie: plantedCookie } }),
      context,
      "victim",
      "/dashboard",
    );
    const issued = response.headers.get("Set-Cookie")!.split(";")[0]!;
    expect(issued).not.toBe(plantedCookie);
    // The planted id still belongs to its owner; the victim's session is one the attacker does not know.
    expect(
      (await getSession(new Request("http://localhost/", { headers: { Cookie: plantedCookie } }), context)).get(
        "userId",
      ),
    ).toBe("attacker");
    expect(
      (await getSession(new Request("http://localhost/", { headers: { Cookie: issued } }), context)).get("userId"),
    ).toBe("victim");
  });

  it("the cookie is __Host- prefixed over https, so a workspace host cannot set it", () => {
    expect(sessionCookieName("https://app.example.com")).toBe("__Host-session");
    expect(sessionCookieName("http://localhost:8788")).toBe("__session");
  });
});
