import { describe, expect, it } from "vitest";
import { cloudflare } from "./cloudflare.server";
import { fakeFetch, hang, json, networkDown, rejection } from "../../tests/support/fake-fetch";

const BASE = "https://api.cloudflare.test/client/v4";
const TOKEN = "YQSn-xWAQiiEh9qM58wZNnyQS7FUdoqGIUAbrh7T";
const ZONE = "023e105f4ecef8ad9ca31a8372d0c353";
const fast = { maxAttempts: 3, retryDelayMs: 1 };

const ok = (result: unknown, resultInfo?: unknown) =>
  json(200, { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) });
const failure = (
  status: number,
  errors: Array<{ code: number; message: string }>,
  headers: Record<string, string> = {},
) => json(status, { success: false, errors, messages: [], result: null }, headers);

// Shaped from the dns-records_ARecord schema and its examples.
const record = (id: string, name = "ws-1.example.com") => ({
  id,
  zone_id: ZONE,
  zone_name: "example.com",
  name,
  type: "A",
  content: "198.51.100.4",
  proxiable: true,
  proxied: true,
  ttl: 1,
  comment: null,
  tags: [],
  meta: { auto_added: false, source: "primary" },
  created_on: "2014-01-01T05:20:00.12345Z",
  modified_on: "2014-01-01T05:20:00.12345Z",
});

describe("cloudflare client", () => {
  it("verifies a token with a bearer header against the configured base URL", async () => {
    const { fetch, requests } = fakeFetch(() =>
      ok({ id: "ed17574386854bf78a67040be0a770b0", status: "active", not_before: "2018-07-01T05:20:00Z" }),
    );
    expect(await cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).verifyToken()).toEqual({
      id: "ed17574386854bf78a67040be0a770b0",
      status: "active",
    });
    expect(requests[0]!.url.href).toBe(`${BASE}/user/tokens/verify`);
    expect(requests[0]!.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
  });

  it("maps envelope errors to ProviderError: first code, all messages, never the token", async () => {
    const { fetch, requests } = fakeFetch(() =>
      failure(401, [
        { code: 1000, message: "Invalid API Token" },
        { code: 9109, message: "Unauthorized to access requested resource" },
      ]),
    );
    const error = await rejection(cloudflare({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).verifyToken());
    expect(error).toMatchObject({
      provider: "cloudflare",
      status: 401,
      code: "1000",
      message: "Invalid API Token; Unauthorized to access requested resource",
    });
    expect(error.message).not.toContain(TOKEN);
    expect(requests).toHaveLength(1);
  });

  it("treats success:false in a 200 answer as an error", async () => {
    const { fetch } = fakeFetch(() => failure(200, [{ code: 7003, message: "No route for the URI" }]));
    expect(await rejection(cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).getZone(ZONE))).toMatchObject({
      status: 200,
      code: "7003",
      message: "No route for the URI",
    });
  });

  it("lists DNS records across 3 pages of result_info, with the name and type filter", async () => {
    const { fetch, requests } = fakeFetch((request) => {
      const page = Number(request.url.searchParams.get("page"));
      const records = page < 3 ? [record(`r${page}a`), record(`r${page}b`)] : [record("r3a")];
      return ok(records, { page, per_page: 2, count: records.length, total_count: 5, total_pages: 3 });
    });
    const records = await cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).listDnsRecords(ZONE, {
      name: "ws-1.example.com",
      type: "A",
    });
    expect(records.map((r) => r.id)).toEqual(["r1a", "r1b", "r2a", "r2b", "r3a"]);
    expect(requests.map((r) => r.url.searchParams.get("page"))).toEqual(["1", "2", "3"]);
    expect(requests[0]!.url.pathname).toBe(`/client/v4/zones/${ZONE}/dns_records`);
    expect(requests[0]!.url.searchParams.get("name")).toBe("ws-1.example.com");
    expect(requests[0]!.url.searchParams.get("type")).toBe("A");
    expect(requests[0]!.url.searchParams.has("comment.exact")).toBe(false);
  });

  it("filters DNS records by comment with Cloudflare's comment.exact", async () => {
    const { fetch, requests } = fakeFetch(() =>
      ok([record("r1")], { page: 1, per_page: 100, count: 1, total_count: 1, total_pages: 1 }),
    );
    await cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).listDnsRecords(ZONE, {
      type: "A",
      comment: "managed-by=sam",
    });
    expect(requests[0]!.url.searchParams.get("comment.exact")).toBe("managed-by=sam");
  });

  it("pages on count and total_count when total_pages is absent (the 2024 description's result_info)", async () => {
    const { fetch, requests } = fakeFetch((request) => {
      const page = Number(request.url.searchParams.get("page"));
      const zones = [1, 2].map((n) => ({
        id: `z${page}${n}`,
        name: `z${page}${n}.example`,
        account: { id: "acc", name: "Demo" },
      }));
      return ok(page < 3 ? zones : zones.slice(0, 1), { page, per_page: 2, count: page < 3 ? 2 : 1, total_count: 5 });
    });
    const zones = await cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).listZones();
    expect(zones.map((z) => z.id)).toEqual(["z11", "z12", "z21", "z22", "z31"]);
    expect(requests).toHaveLength(3);
  });

  it("creates a proxied DNS record with automatic TTL and never retries the POST", async () => {
    const { fetch, requests } = fakeFetch(() => ok(record("372e67954025e0ba6aaa6d586b9e0b59")));
    const created = await cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).createDnsRecord(ZONE, {
      type: "A",
      name: "ws-1.example.com",
      content: "198.51.100.4",
      proxied: true,
      comment: "workspace 1",
    });
    expect(created).toMatchObject({ id: "372e67954025e0ba6aaa6d586b9e0b59", proxied: true });
    expect(requests[0]).toMatchObject({
      method: "POST",
      body: {
        type: "A",
        name: "ws-1.example.com",
        content: "198.51.100.4",
        proxied: true,
        ttl: 1,
        comment: "workspace 1",
      },
    });

    const failing = fakeFetch(() => failure(503, [{ code: 10000, message: "Service unavailable" }]));
    const error = await rejection(
      cloudflare({ baseUrl: BASE, token: TOKEN, fetch: failing.fetch, retry: fast }).createDnsRecord(ZONE, {
        type: "A",
        name: "x",
        content: "1.2.3.4",
        proxied: true,
      }),
    );
    expect(error).toMatchObject({ status: 503, code: "10000" });
    expect(failing.requests).toHaveLength(1);
  });

  it("surfaces a duplicate record with Cloudflare's code", async () => {
    const { fetch } = fakeFetch(() => failure(400, [{ code: 81058, message: "An identical record already exists." }]));
    const error = await rejection(
      cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).createDnsRecord(ZONE, {
        type: "A",
        name: "x",
        content: "1.2.3.4",
        proxied: true,
      }),
    );
    expect(error).toMatchObject({ status: 400, code: "81058", message: "An identical record already exists." });
  });

  it("treats a missing record as gone on get and delete", async () => {
    const { fetch } = fakeFetch(() => failure(404, [{ code: 81044, message: "Record does not exist." }]));
    const client = cloudflare({ baseUrl: BASE, token: TOKEN, fetch });
    expect(await client.getDnsRecord(ZONE, "missing")).toBeNull();
    await expect(client.deleteDnsRecord(ZONE, "missing")).resolves.toBeUndefined();
    await expect(client.revokeOriginCertificate("missing")).resolves.toBeUndefined();
  });

  it("retries a DELETE on 5xx, honouring Retry-After", async () => {
    const { fetch, requests } = fakeFetch((_, i) =>
      i === 0 ? failure(502, [{ code: 10000, message: "Bad gateway" }], { "Retry-After": "0" }) : ok({ id: "r1" }),
    );
    await cloudflare({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).deleteDnsRecord(ZONE, "r1");
    expect(requests.map((r) => r.method)).toEqual(["DELETE", "DELETE"]);
    expect(requests[0]!.url.pathname).toBe(`/client/v4/zones/${ZONE}/dns_records/r1`);
  });

  it("reports 429 with the Retry-After it was given", async () => {
    const { fetch, requests } = fakeFetch(() =>
      failure(429, [{ code: 971, message: "Please wait and consider throttling your request speed" }], {
        "Retry-After": "300",
      }),
    );
    const error = await rejection(cloudflare({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).listZones());
    expect(error).toMatchObject({ status: 429, code: "971", retryAfterSeconds: 300 });
    expect(requests).toHaveLength(1);
  });

  it("reports network failure and timeout as status 0", async () => {
    const down = fakeFetch(() => networkDown());
    expect(
      await rejection(cloudflare({ baseUrl: BASE, token: TOKEN, fetch: down.fetch, retry: fast }).getZone(ZONE)),
    ).toMatchObject({ status: 0, code: "network_error" });
    expect(down.requests).toHaveLength(3);
    const slow = fakeFetch(hang);
    expect(
      await rejection(
        cloudflare({
          baseUrl: BASE,
          token: TOKEN,
          fetch: slow.fetch,
          timeoutMs: 30,
          retry: { maxAttempts: 1 },
        }).getZone(ZONE),
      ),
    ).toMatchObject({
      status: 0,
      code: "timeout",
    });
  });

  it("rejects a result that does not match the documented shape", async () => {
    const { fetch } = fakeFetch(() => ok({ id: 5 }));
    expect(await rejection(cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).getZone(ZONE))).toMatchObject({
      status: 200,
      code: "unexpected_response",
    });
  });

  it("creates an Origin CA certificate from a CSR", async () => {
    const certificate = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----";
    const { fetch, requests } = fakeFetch(() =>
      ok({
        id: "328578533902268680",
        certificate,
        csr: "csr",
        expires_on: "2027-01-01T05:20:00Z",
        hostnames: ["ws-1.example.com"],
        request_type: "origin-ecc",
        requested_validity: 90,
      }),
    );
    const created = await cloudflare({ baseUrl: BASE, token: TOKEN, fetch }).createOriginCertificate({
      csr: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----",
      hostnames: ["ws-1.example.com"],
      requestType: "origin-ecc",
      validityDays: 90,
    });
    expect(created).toEqual({ id: "328578533902268680", certificate, expires_on: "2027-01-01T05:20:00Z" });
    expect(requests[0]).toMatchObject({
      method: "POST",
      body: { hostnames: ["ws-1.example.com"], request_type: "origin-ecc", requested_validity: 90 },
    });
    expect(requests[0]!.url.pathname).toBe("/client/v4/certificates");
  });

  it("lists and creates the self-hosting resources", async () => {
    const { fetch, requests } = fakeFetch((request) => {
      const path = request.url.pathname.replace("/client/v4/accounts/acc", "");
      if (request.method === "POST")
        return ok({ ...(request.body as object), uuid: "u1", id: "k1", production_branch: "main" });
      if (path === "/d1/database")
        return ok([{ uuid: "u1", name: "sam", created_at: "2024-01-01", version: "production" }], {
          page: 1,
          per_page: 100,
          count: 1,
          total_count: 1,
        });
      if (path === "/storage/kv/namespaces")
        return ok([{ id: "k1", title: "sam-sessions", supports_url_encoding: true }], {
          page: 1,
          per_page: 100,
          count: 1,
          total_count: 1,
        });
      if (path === "/r2/buckets") {
        const cursor = request.url.searchParams.get("cursor");
        return ok(
          { buckets: [{ name: cursor ? "second" : "first", creation_date: "2024-01-01" }] },
          { per_page: 1, cursor: cursor ? "" : "next-1" },
        );
      }
      if (path === "/pages/projects")
        return ok([{ id: "p1", name: "sam", subdomain: "sam.pages.dev", production_branch: "main" }], {
          page: 1,
          per_page: 10,
          count: 1,
          total_count: 1,
        });
      return failure(404, [{ code: 7003, message: "No route for the URI" }]);
    });
    const client = cloudflare({ baseUrl: BASE, token: TOKEN, fetch });
    expect((await client.listD1Databases("acc")).map((d) => d.name)).toEqual(["sam"]);
    expect((await client.listKvNamespaces("acc")).map((n) => n.title)).toEqual(["sam-sessions"]);
    expect((await client.listR2Buckets("acc")).map((b) => b.name)).toEqual(["first", "second"]);
    expect((await client.listPagesProjects("acc")).map((p) => p.subdomain)).toEqual(["sam.pages.dev"]);
    expect(await client.createD1Database("acc", "sam")).toMatchObject({ uuid: "u1", name: "sam" });
    expect(await client.createKvNamespace("acc", "sam-sessions")).toMatchObject({ id: "k1", title: "sam-sessions" });
    expect(await client.createR2Bucket("acc", "sam-agents")).toMatchObject({ name: "sam-agents" });
    expect(await client.createPagesProject("acc", { name: "sam", productionBranch: "main" })).toMatchObject({
      name: "sam",
      production_branch: "main",
    });
    expect(requests.filter((r) => r.method === "POST").map((r) => r.body)).toEqual([
      { name: "sam" },
      { title: "sam-sessions" },
      { name: "sam-agents" },
      { name: "sam", production_branch: "main" },
    ]);
  });
});
