import { describe, expect, it } from "vitest";
import { consumeRateLimit, limits, rateLimit } from "./rate-limit.server";
import { action as redeemBootstrap } from "../routes/api.bootstrap.$token";
import { testContext } from "../../tests/support/context.workers";

const subject = () => crypto.randomUUID();

async function thrown(promise: Promise<unknown>): Promise<Response> {
  const reason = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(reason).toBeInstanceOf(Response);
  return reason as Response;
}

describe("rate limits (fixed windows in D1)", () => {
  it("allow `limit` attempts per window and caller, then refuse until the next window", async () => {
    const { context } = testContext();
    const who = subject();
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const { limit } = limits["sign-in"];
    const results = [];
    for (let attempt = 0; attempt <= limit; attempt++) {
      results.push((await consumeRateLimit(context, "sign-in", who, now + attempt)).allowed);
    }
    expect(results).toEqual([...Array(limit).fill(true), false]);
    // Another caller, or another limit, has its own count.
    expect((await consumeRateLimit(context, "sign-in", subject(), now)).allowed).toBe(true);
    expect((await consumeRateLimit(context, "bootstrap", who, now)).allowed).toBe(true);
    // The next window starts afresh.
    expect((await consumeRateLimit(context, "sign-in", who, now + 60_000)).allowed).toBe(true);
  });

  it("counts concurrent attempts exactly: one statement per attempt", async () => {
    const { context } = testContext();
    const who = subject();
    const { limit } = limits["terminal-token"];
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: limit + 5 }, () => consumeRateLimit(context, "terminal-token", who, now)),
    );
    expect(results.filter((result) => result.allowed)).toHaveLength(limit);
  });

  it("past the limit a page gets a sentence and Retry-After; an API caller gets { error } JSON", async () => {
    const { context } = testContext();
    const who = subject();
    for (let attempt = 0; attempt < limits["workspace-create"].limit; attempt++) {
      await rateLimit(context, "workspace-create", who);
    }
    const page = await thrown(rateLimit(context, "workspace-create", who));
    expect(page.status).toBe(429);
    expect(Number(page.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await page.text()).toMatch(/^Too many workspaces were created\. Try again in (a minute|\d+ minutes)\.$/);

    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const redeem = () =>
      redeemBootstrap({
        request: new Request(`http://localhost/api/bootstrap/${"x".repeat(43)}`, {
          method: "POST",
          headers: { "CF-Connecting-IP": ip },
        }),
        context,
        params: { token: "x".repeat(43) },
      }).catch((error: unknown) => error as Response);
    for (let attempt = 0; attempt < limits.bootstrap.limit; attempt++) expect((await redeem()).status).not.toBe(429);
    const refused = await redeem();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/^Too many bootstrap attempts/) });
  });
});
