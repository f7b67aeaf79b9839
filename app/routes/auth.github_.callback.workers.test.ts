import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loader } from "./auth.github_.callback";
import { startGitHubSignIn } from "~/auth/github-oauth.server";
import { auditLog, githubLoginPins, users } from "~/db/schema";
import { defaultPolicy, isAdmin, savePolicy } from "~/admin/policy.server";
import { limits } from "~/platform/rate-limit.server";
import { testContext } from "../../tests/support/context.workers";

/** The local GitHub's answers for one account: token exchange, /user and /user/emails. */
function githubAs(account: { login: string; id: number }) {
  const exchanges: URLSearchParams[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path.endsWith("/login/oauth/access_token")) {
      const form = await request.formData();
      exchanges.push(new URLSearchParams([...form].map(([key, value]) => [key, String(value)])));
      return Response.json({ access_token: `ghu_${crypto.randomUUID()}`, token_type: "bearer", scope: "" });
    }
    if (path.endsWith("/user")) return Response.json({ ...account, name: null, avatar_url: "" });
    if (path.endsWith("/user/emails")) return Response.json([]);
    return new Response("not found", { status: 404 });
  });
  return exchanges;
}

/** Starts a flow as a browser would and returns the callback request GitHub would send that browser to. */
async function callbackRequest(context: ReturnType<typeof testContext>["context"], ip: string, returnTo = "/settings") {
  const start = await startGitHubSignIn(context, returnTo);
  const state = new URL(start.headers.get("Location")!).searchParams.get("state")!;
  const cookie = start.headers.get("Set-Cookie")!.split(";")[0]!;
  return new Request(`http://localhost:8788/auth/github/callback?code=c0de&state=${state}`, {
    headers: { Cookie: cookie, "CF-Connecting-IP": ip },
  });
}

async function answer(promise: Promise<Response>): Promise<Response> {
  return promise.catch((thrown: unknown) => {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  });
}

const randomIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}`;

afterEach(() => vi.restoreAllMocks());

describe("the GitHub callback", () => {
  it("signs in with the PKCE verifier, returns where the flow began, and clears the flow cookie", async () => {
    const { context } = testContext();
    const exchanges = githubAs({ login: "callback-user", id: 7_000_001 });
    const request = await callbackRequest(context, randomIp(), "/settings/audit");
    const response = await answer(loader({ request, context, params: {} }));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/settings/audit");
    expect(exchanges[0]!.get("code_verifier")).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(response.headers.getSetCookie()).toContainEqual(expect.stringMatching(/^sam_oauth=; Max-Age=0/));
  });

  it("answers a forged, mangled or missing flow cookie with a sentence, never a 500, and signs nobody in", async () => {
    const { context } = testContext();
    githubAs({ login: "attacker", id: 7_000_002 });
    for (const cookie of [
      "sam_oauth=state%3Dx",
      "sam_oauth=%E0%A4%A; __sam_return_to=%E0%A4%A",
      "sam_oauth=eyJzdGF0ZSI6IngifQ%3D%3D.%%%",
      "",
    ]) {
      const request = new Request("http://localhost:8788/auth/github/callback?code=c0de&state=x", {
        headers: { Cookie: cookie, "CF-Connecting-IP": randomIp() },
      });
      const response = await answer(loader({ request, context, params: {} }));
      expect(response.status, cookie).toBe(400);
      expect(await response.text()).toMatch(/not started in this browser/);
    }
    expect(await context.db.query.users.findFirst({ where: eq(users.login, "attacker") })).toBeUndefined();
  });

  it("trusts neither cookie when the browser brings two flows (one was planted)", async () => {
    const { context } = testContext();
    githubAs({ login: "planted", id: 7_000_003 });
    const ip = randomIp();
    const mine = await callbackRequest(context, ip);
    const planted = await callbackRequest(context, ip);
    const request = new Request(mine.url, {
      headers: { Cookie: `${planted.headers.get("Cookie")}; ${mine.headers.get("Cookie")}`, "CF-Connecting-IP": ip },
    });
    expect((await answer(loader({ request, context, params: {} }))).status).toBe(400);
  });

  it("past the sign-in limit answers 429 before GitHub is asked, so refused attempts stop adding audit rows", async () => {
    const { context } = testContext();
    await savePolicy(context, { ...defaultPolicy, allowedLogins: ["someone-else"] });
    const exchanges = githubAs({ login: "stranger", id: 7_000_004 });
    const ip = randomIp();
    const statuses: number[] = [];
    const { limit } = limits["sign-in"];
    for (let attempt = 0; attempt < limit + 3; attempt++) {
      const request = await callbackRequest(context, ip);
      statuses.push((await answer(loader({ request, context, params: {} }))).status);
    }
    expect(statuses.slice(0, limit)).toEqual(Array(limit).fill(302));
    expect(statuses.slice(limit)).toEqual([429, 429, 429]);
    expect(exchanges).toHaveLength(limit);
    const refused = await context.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "sign_in.refused"), eq(auditLog.ip, ip)));
    expect(refused).toHaveLength(limit);
  });
});

describe("admins and the allow-list", () => {
  it("a listed login is pinned to the first GitHub account seen; another account under it is refused", async () => {
    const { context } = testContext();
    await savePolicy(context, { ...defaultPolicy, allowedLogins: ["renamed-away"] });
    githubAs({ login: "renamed-away", id: 7_000_010 });
    const first = await answer(loader({ request: await callbackRequest(context, randomIp()), context, params: {} }));
    expect(first.headers.get("Location")).toBe("/settings");

    // The login was renamed and registered by someone else: same login, another id.
    vi.restoreAllMocks();
    githubAs({ login: "renamed-away", id: 7_000_011 });
    const squatter = await answer(
      loader({ request: await callbackRequest(context, randomIp()), context: testContext().context, params: {} }),
    );
    expect(squatter.headers.get("Location")).toBe("/private");
    expect(await context.db.query.users.findFirst({ where: eq(users.githubId, 7_000_011) })).toBeUndefined();
    expect(
      await context.db.query.githubLoginPins.findFirst({ where: eq(githubLoginPins.login, "renamed-away") }),
    ).toMatchObject({ githubId: 7_000_010 });
  });

  it("an admin login under another GitHub id is not an admin", async () => {
    const { context } = testContext();
    expect(await isAdmin(context, { login: "sam-dev", githubId: 7_000_020 })).toBe(true);
    expect(await isAdmin(testContext().context, { login: "SAM-dev", githubId: 7_000_021 })).toBe(false);
    expect(await isAdmin(testContext().context, { login: "sam-dev", githubId: 7_000_020 })).toBe(true);
  });
});
