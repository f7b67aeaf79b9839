import { z } from "zod";
import { describe, expect, it } from "vitest";
import { fakeFetch, hang, json, networkDown, rejection } from "../../tests/support/fake-fetch";
import { buildUrl, nextLink, ProviderError, request, retryAfterSeconds, type HttpConfig } from "./http.server";

const TOKEN = "secret-token-value-123";

function config(fetch: typeof globalThis.fetch, overrides: Partial<HttpConfig> = {}): HttpConfig {
  return {
    provider: "hetzner",
    baseUrl: "https://api.example.test/v1/",
    token: TOKEN,
    fetch,
    retryDelayMs: 1,
    parseError: (response, body) => ({
      message: (body as { error?: string } | undefined)?.error ?? `status ${response.status}`,
    }),
    ...overrides,
  };
}

describe("request", () => {
  it("joins base URL and path, adds query values (arrays repeated) and sends JSON with bearer auth", async () => {
    const { fetch, requests } = fakeFetch(() => json(201, { ok: true }));
    const result = await request(config(fetch), {
      method: "POST",
      path: "/things",
      query: { a: "x y", b: [1, 2], skip: undefined },
      body: { n: 1 },
      schema: z.object({ ok: z.boolean() }),
    });
    expect(result).toMatchObject({ data: { ok: true }, status: 201 });
    expect(requests[0]!.url.href).toBe("https://api.example.test/v1/things?a=x+y&b=1&b=2");
    expect(requests[0]!.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(requests[0]!.headers.get("content-type")).toBe("application/json");
    expect(requests[0]!.body).toEqual({ n: 1 });
  });

  it("retries GET and DELETE but never POST, PUT or PATCH", async () => {
    for (const [method, expected] of [
      ["GET", 3],
      ["DELETE", 3],
      ["POST", 1],
      ["PUT", 1],
      ["PATCH", 1],
    ] as const) {
      const { fetch, requests } = fakeFetch(() => json(503, { error: "unavailable" }));
      const error = await rejection(request(config(fetch), { method, path: "/x", schema: z.unknown() }));
      expect(error.status).toBe(503);
      expect(requests, method).toHaveLength(expected);
    }
  });

  it("does not retry a client error", async () => {
    const { fetch, requests } = fakeFetch(() => json(422, { error: "invalid input" }));
    expect(await rejection(request(config(fetch), { path: "/x", schema: z.unknown() }))).toMatchObject({
      status: 422,
      message: "invalid input",
    });
    expect(requests).toHaveLength(1);
  });

  it("gives up instead of sleeping through a long Retry-After, or past the retry budget", async () => {
    const long = fakeFetch(() => json(429, { error: "slow down" }, { "Retry-After": "60" }));
    const cfg = config(long.fetch, {
      parseError: (response) => ({ message: "slow down", retryAfterSeconds: retryAfterSeconds(response.headers) }),
    });
    expect(await rejection(request(cfg, { path: "/x", schema: z.unknown() }))).toMatchObject({
      status: 429,
      retryAfterSeconds: 60,
    });
    expect(long.requests).toHaveLength(1);

    const budget = fakeFetch(() => json(500, { error: "boom" }));
    await rejection(request(config(budget.fetch, { retryBudgetMs: 0 }), { path: "/x", schema: z.unknown() }));
    expect(budget.requests).toHaveLength(1);
  });

  it("maps network failure and timeout to status 0 without leaking the token", async () => {
    const down = fakeFetch(() => Promise.reject(new TypeError(`connect failed for ${TOKEN}`)));
    const error = await rejection(request(config(down.fetch, { maxAttempts: 1 }), { path: "/x", schema: z.unknown() }));
    expect(error).toMatchObject({ status: 0, code: "network_error", provider: "hetzner" });
    expect(error.message).not.toContain(TOKEN);

    const slow = fakeFetch(hang);
    const started = Date.now();
    expect(
      await rejection(request(config(slow.fetch, { timeoutMs: 20 }), { path: "/x", schema: z.unknown() })),
    ).toMatchObject({ status: 0, code: "timeout" });
    expect(slow.requests).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(2000);

    const flaky = fakeFetch((_, i) => (i === 0 ? networkDown() : json(200, {})));
    await request(config(flaky.fetch), { path: "/x", schema: z.object({}) });
    expect(flaky.requests).toHaveLength(2);
  });

  it("reports a body that does not match the schema, or is not JSON, as an unexpected response", async () => {
    const wrong = fakeFetch(() => json(200, { id: "x" }));
    expect(
      await rejection(request(config(wrong.fetch), { path: "/x", schema: z.object({ id: z.number() }) })),
    ).toMatchObject({ status: 200, code: "unexpected_response" });
    const html = fakeFetch(() => new Response("<html></html>", { status: 200 }));
    expect((await rejection(request(config(html.fetch), { path: "/x", schema: z.unknown() }))).message).toMatch(
      /unexpected response/,
    );
  });
});

describe("helpers", () => {
  it("finds rel=next in a Link header", () => {
    const header =
      '<https://api.github.com/user/repos?page=1>; rel="prev", <https://api.github.com/user/repos?page=3&per_page=100>; rel="next", <https://api.github.com/user/repos?page=50>; rel="last"';
    expect(nextLink(header)).toBe("https://api.github.com/user/repos?page=3&per_page=100");
    expect(nextLink('<https://a.test/?page=9>; rel="last"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });

  it("reads Retry-After as seconds or a date, and reset headers as UNIX time", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterSeconds(new Headers({ "Retry-After": "7" }), now)).toBe(7);
    expect(retryAfterSeconds(new Headers({ "Retry-After": new Date(now + 5000).toUTCString() }), now)).toBe(5);
    expect(retryAfterSeconds(new Headers({ "RateLimit-Reset": String(now / 1000 + 42) }), now)).toBe(42);
    expect(retryAfterSeconds(new Headers({ "x-ratelimit-reset": String(now / 1000 - 10) }), now)).toBe(0);
    expect(retryAfterSeconds(new Headers(), now)).toBeUndefined();
  });

  it("refuses to send the token to a link on another host", () => {
    expect(() =>
      buildUrl({ provider: "github", baseUrl: "https://api.github.com" }, "https://elsewhere.test/x"),
    ).toThrow(ProviderError);
    expect(
      buildUrl({ provider: "github", baseUrl: "https://ghe.test/api/v3" }, "https://ghe.test/api/v3/user?page=2").href,
    ).toBe("https://ghe.test/api/v3/user?page=2");
  });
});
