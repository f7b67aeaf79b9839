import { describe, expect, it } from "vitest";
import { fakeFetch, hang, json, networkDown, rejection } from "../../tests/support/fake-fetch";
import { hetzner } from "./hetzner.server";

const BASE = "https://api.hetzner.test/v1";
const TOKEN = "LRK9DAWQ1ZAEFSrCNEEzLCUwhYX1U3g7wMg4dTlkkDC96fyDuyJ39nVbVjCKSDfj";
const fast = { maxAttempts: 3, retryDelayMs: 1 };

// Shaped from the spec's create_server example, trimmed to what the client reads plus a few extras.
function server(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: `ws-${id}`,
    status: "running",
    created: "2016-01-30T23:50:00Z",
    public_net: {
      ipv4: { ip: "1.2.3.4", blocked: false, dns_ptr: "server01.example.com" },
      ipv6: { ip: "2001:db8::/64", blocked: false, dns_ptr: [] },
      floating_ips: [],
      firewalls: [{ id: 38, status: "applied" }],
    },
    private_net: [],
    server_type: { id: 1, name: "cpx22", description: "CPX22", cores: 2, memory: 4, disk: 80 },
    location: { id: 1, name: "fsn1", description: "Falkenstein DC Park 1", country: "DE", city: "Falkenstein" },
    datacenter: { id: 1, name: "fsn1-dc8", location: { id: 1, name: "fsn1" } },
    labels: { "managed-by": "sam", workspace: String(id) },
    ...overrides,
  };
}

const action = {
  id: 1,
  command: "create_server",
  status: "running",
  progress: 0,
  started: "2016-01-30T23:50:00Z",
  finished: null,
  resources: [{ id: 42, type: "server" }],
  error: null,
};

function page(items: unknown[], key: string, pageNumber: number, last: number) {
  return {
    [key]: items,
    meta: {
      pagination: {
        page: pageNumber,
        per_page: 50,
        previous_page: pageNumber > 1 ? pageNumber - 1 : null,
        next_page: pageNumber < last ? pageNumber + 1 : null,
        last_page: last,
        total_entries: null,
      },
    },
  };
}

const hetznerError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json(status, { error: { code, message, details: null } }, headers);

describe("hetzner client", () => {
  it("verifies a token with an authenticated read against the configured base URL", async () => {
    const { fetch, requests } = fakeFetch(() => json(200, page([], "servers", 1, 1)));
    await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).verifyToken();
    expect(requests).toHaveLength(1);
    expect(requests[0]!.method).toBe("GET");
    expect(requests[0]!.url.origin + requests[0]!.url.pathname).toBe(`${BASE}/servers`);
    expect(requests[0]!.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
  });

  it("maps a 401 to ProviderError with Hetzner's own message and code, without the token", async () => {
    const { fetch, requests } = fakeFetch(() => hetznerError(401, "unauthorized", "unable to authenticate"));
    const error = await rejection(hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).verifyToken());
    expect(error).toMatchObject({
      provider: "hetzner",
      status: 401,
      code: "unauthorized",
      message: "unable to authenticate",
    });
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(TOKEN);
    expect(requests).toHaveLength(1);
  });

  it("lists servers across every page of meta.pagination, passing the label selector", async () => {
    const { fetch, requests } = fakeFetch((request) => {
      const n = Number(request.url.searchParams.get("page"));
      return json(200, page([server(n * 10), server(n * 10 + 1)], "servers", n, 3));
    });
    const servers = await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).listServers({
      labelSelector: "managed-by=sam,workspace",
    });
    expect(servers.map((s) => s.id)).toEqual([10, 11, 20, 21, 30, 31]);
    expect(requests.map((r) => r.url.searchParams.get("page"))).toEqual(["1", "2", "3"]);
    expect(requests[0]!.url.searchParams.get("label_selector")).toBe("managed-by=sam,workspace");
    expect(requests[0]!.url.search).toContain("label_selector=managed-by%3Dsam%2Cworkspace");
    expect(servers[0]).toMatchObject({
      name: "ws-10",
      status: "running",
      public_net: { ipv4: { ip: "1.2.3.4" } },
      location: { name: "fsn1" },
    });
  });

  it("reads the location from the deprecated datacenter when location is absent", async () => {
    const { fetch } = fakeFetch(() =>
      json(200, {
        server: server(7, {
          location: undefined,
          datacenter: { id: 3, name: "hel1-dc2", location: { id: 3, name: "hel1" } },
        }),
      }),
    );
    const found = await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).getServer(7);
    expect(found?.location.name).toBe("hel1");
  });

  it("creates a server with the documented body and returns server and action", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(201, { server: server(42, { status: "initializing" }), action, next_actions: [], root_password: null }),
    );
    const result = await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).createServer({
      name: "ws-42",
      serverType: "cpx22",
      location: "fsn1",
      image: "ubuntu-24.04",
      userData: "#cloud-config\n",
      labels: { "managed-by": "sam", workspace: "42" },
      firewallIds: [38],
      publicNet: { enableIpv6: false },
    });
    expect(requests[0]!.method).toBe("POST");
    expect(requests[0]!.headers.get("content-type")).toBe("application/json");
    expect(requests[0]!.body).toEqual({
      name: "ws-42",
      server_type: "cpx22",
      location: "fsn1",
      image: "ubuntu-24.04",
      user_data: "#cloud-config\n",
      labels: { "managed-by": "sam", workspace: "42" },
      start_after_create: true,
      firewalls: [{ firewall: 38 }],
      public_net: { enable_ipv4: true, enable_ipv6: false },
    });
    expect(result.server).toMatchObject({ id: 42, status: "initializing", server_type: { name: "cpx22" } });
    expect(result.action).toMatchObject({ id: 1, status: "running" });
  });

  it.each([
    [409, "uniqueness_error", "server name is already used"],
    [422, "invalid_input", "invalid input in field 'name': is too long"],
    [403, "resource_limit_exceeded", "project limit exceeded"],
  ])("maps %i %s on create to a ProviderError", async (status, code, message) => {
    const { fetch } = fakeFetch(() => hetznerError(status, code, message));
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch }).createServer({
        name: "x",
        serverType: "cpx22",
        location: "fsn1",
        image: "i",
        userData: "",
        labels: {},
      }),
    );
    expect(error).toMatchObject({ status, code, message });
  });

  it("never retries a POST, even on 503", async () => {
    const { fetch, requests } = fakeFetch(() => hetznerError(503, "unavailable", "service unavailable"));
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).createServer({
        name: "x",
        serverType: "cpx22",
        location: "fsn1",
        image: "i",
        userData: "",
        labels: {},
      }),
    );
    expect(error.status).toBe(503);
    expect(requests).toHaveLength(1);
  });

  it("retries a GET on 5xx and succeeds", async () => {
    const { fetch, requests } = fakeFetch((_, i) =>
      i < 2 ? hetznerError(504, "timeout", "timed out") : json(200, { action: { ...action, status: "success" } }),
    );
    const result = await hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).getAction(1);
    expect(result.status).toBe("success");
    expect(requests).toHaveLength(3);
  });

  it("gives up after three attempts", async () => {
    const { fetch, requests } = fakeFetch(() => hetznerError(500, "server_error", "backend error"));
    const error = await rejection(hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).getAction(1));
    expect(error).toMatchObject({ status: 500, code: "server_error", message: "backend error" });
    expect(requests).toHaveLength(3);
  });

  it("treats a 404 on get and delete as gone", async () => {
    const { fetch } = fakeFetch(() => hetznerError(404, "not_found", "server with ID '5' not found"));
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch });
    expect(await client.getServer(5)).toBeNull();
    expect(await client.deleteServer(5)).toBeNull();
    await expect(client.deleteFirewall(5)).resolves.toBeUndefined();
  });

  it("retries a DELETE on a network failure, and a delete that already happened reads as gone", async () => {
    const { fetch, requests } = fakeFetch((request, i) =>
      i === 0 ? networkDown() : hetznerError(404, "not_found", "not found"),
    );
    expect(await hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).deleteServer(9)).toBeNull();
    expect(requests.map((r) => r.method)).toEqual(["DELETE", "DELETE"]);
  });

  it("waits out 423 locked while the create action runs, then deletes", async () => {
    const { fetch, requests } = fakeFetch((request, i) =>
      i < 2 ? hetznerError(423, "locked", "server is locked") : json(200, { action: { ...action, id: 7 } }),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch, locked: { waitMs: 1000, pollMs: 5 } });
    expect(await client.deleteServer(42)).toMatchObject({ id: 7 });
    expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(Array(3).fill("DELETE /v1/servers/42"));
  });

  it("gives up on a lock that outlasts the wait with Hetzner's 423, and never waits on other refusals", async () => {
    const { fetch } = fakeFetch(() => hetznerError(423, "locked", "server is locked"));
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch, locked: { waitMs: 30, pollMs: 10 } });
    expect(await rejection(client.deleteServer(42))).toMatchObject({ status: 423, code: "locked" });
    const protectedServer = fakeFetch(() => hetznerError(423, "protected", "delete protection is on"));
    const refused = hetzner({ baseUrl: BASE, token: TOKEN, fetch: protectedServer.fetch, locked: { pollMs: 5 } });
    expect(await rejection(refused.deleteServer(42))).toMatchObject({ status: 423, code: "protected" });
    expect(protectedServer.requests).toHaveLength(1);
  });

  it("tells a Read & Write token (422 on an empty create) from a read-only one (401 token_readonly)", async () => {
    const writable = fakeFetch(() => hetznerError(422, "invalid_input", "invalid input in field 'name'"));
    await hetzner({ baseUrl: BASE, token: TOKEN, fetch: writable.fetch }).verifyWriteAccess();
    expect(writable.requests[0]).toMatchObject({ method: "POST" });
    expect(writable.requests[0]!.url.pathname).toBe("/v1/firewalls");
    const readOnly = fakeFetch(() =>
      hetznerError(401, "token_readonly", "the token is only allowed to perform GET requests"),
    );
    const error = await rejection(hetzner({ baseUrl: BASE, token: TOKEN, fetch: readOnly.fetch }).verifyWriteAccess());
    expect(error).toMatchObject({ status: 401, code: "token_readonly" });
  });

  it("deletes a firewall answered with 204 No Content", async () => {
    const { fetch, requests } = fakeFetch(() => new Response(null, { status: 204 }));
    await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).deleteFirewall(38);
    expect(requests[0]).toMatchObject({ method: "DELETE" });
    expect(requests[0]!.url.pathname).toBe("/v1/firewalls/38");
  });

  it("reports a network failure as status 0 after retrying", async () => {
    const { fetch, requests } = fakeFetch(() => networkDown());
    const error = await rejection(hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: fast }).listLocations());
    expect(error).toMatchObject({ provider: "hetzner", status: 0, code: "network_error" });
    expect(requests).toHaveLength(3);
  });

  it("honours the timeout", async () => {
    const { fetch } = fakeFetch(hang);
    const started = Date.now();
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch, timeoutMs: 50, retry: { maxAttempts: 1 } }).verifyToken(),
    );
    expect(error).toMatchObject({ status: 0, code: "timeout" });
    expect(error.message).toMatch(/did not answer within 0\.1 s|did not answer within 0\.05 s/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("maps 429 to rate_limit_exceeded with the wait until the next request is allowed, and keeps the rate-limit headers", async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const headers = { "RateLimit-Limit": "3600", "RateLimit-Remaining": "0", "RateLimit-Reset": String(reset) };
    const { fetch } = fakeFetch(() =>
      hetznerError(429, "rate_limit_exceeded", "limit of 3600 requests per hour reached", headers),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: { maxRetryWaitMs: 0 } });
    const error = await rejection(client.listServers());
    expect(error).toMatchObject({
      status: 429,
      code: "rate_limit_exceeded",
      message: "limit of 3600 requests per hour reached",
      retryAfterSeconds: 1,
    });
    expect(client.rateLimit).toEqual({ limit: 3600, remaining: 0, resetAt: new Date(reset * 1000) });
  });

  it("waits out a 429 on a GET and then succeeds", async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 1);
    const { fetch, requests } = fakeFetch((_, i) =>
      i === 0
        ? hetznerError(429, "rate_limit_exceeded", "rate limit", {
            "RateLimit-Limit": "3600",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": reset,
          })
        : json(200, page([], "locations", 1, 1), {
            "RateLimit-Limit": "3600",
            "RateLimit-Remaining": "1",
            "RateLimit-Reset": reset,
          }),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch });
    expect(await client.listLocations()).toEqual([]);
    expect(requests).toHaveLength(2);
    expect(client.rateLimit?.remaining).toBe(1);
  });

  it("rejects a success body that does not match the documented shape", async () => {
    const { fetch } = fakeFetch(() => json(200, { server: { id: "not-a-number" } }));
    const error = await rejection(hetzner({ baseUrl: BASE, token: TOKEN, fetch }).getServer(1));
    expect(error).toMatchObject({ status: 200, code: "unexpected_response" });
    expect(error.message).toMatch(/unexpected response/);
  });

  it("reads a non-JSON error page without losing the status", async () => {
    const { fetch } = fakeFetch(
      () => new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    );
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: { maxAttempts: 1 } }).getAction(1),
    );
    expect(error).toMatchObject({ status: 502, message: "Hetzner answered 502 Bad Gateway" });
  });

  it("lists server types with hourly prices per location", async () => {
    const type = {
      id: 1,
      name: "cpx22",
      description: "CPX22",
      cores: 2,
      memory: 4,
      disk: 80,
      deprecated: false,
      prices: [
        {
          location: "fsn1",
          price_hourly: { net: "0.0100", gross: "0.0119" },
          price_monthly: { net: "6.00", gross: "7.14" },
          included_traffic: 21990232555520,
          price_per_tb_traffic: { net: "1.00", gross: "1.19" },
        },
      ],
      storage_type: "local",
      cpu_type: "shared",
      architecture: "x86",
      locations: [{ id: 1, name: "fsn1", deprecation: null, available: true, recommended: true }],
    };
    const { fetch } = fakeFetch(() => json(200, page([type], "server_types", 1, 1)));
    const [parsed] = await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).listServerTypes();
    expect(parsed?.prices[0]).toMatchObject({ location: "fsn1", price_hourly: { gross: "0.0119", net: "0.0100" } });
  });

  it("creates a firewall with the documented body", async () => {
    const firewall = {
      id: 38,
      name: "sam",
      labels: {},
      created: "2016-01-30T23:55:00Z",
      rules: [
        {
          direction: "in",
          protocol: "tcp",
          port: "8443",
          source_ips: ["173.245.48.0/20"],
          destination_ips: [],
          description: null,
        },
      ],
      applied_to: [],
    };
    const { fetch, requests } = fakeFetch(() => json(201, { firewall, actions: [] }));
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch });
    const created = await client.createFirewall({
      name: "sam",
      labels: { "managed-by": "sam" },
      rules: [{ direction: "in", protocol: "tcp", port: "8443", source_ips: ["173.245.48.0/20"] }],
      applyTo: [{ type: "label_selector", label_selector: { selector: "managed-by=sam" } }],
    });
    expect(created.firewall.id).toBe(38);
    expect(requests[0]!.body).toMatchObject({
      apply_to: [{ type: "label_selector", label_selector: { selector: "managed-by=sam" } }],
    });
  });
});

describe("hetzner images", () => {
  const snapshot = (id: number, status = "available") => ({
    id,
    type: "snapshot",
    status,
    name: null,
    description: `SAM image ${id}`,
    image_size: 1.2,
    disk_size: 40,
    created: "2026-01-30T23:50:00Z",
    created_from: { id: 42, name: "sam-image-build" },
    labels: { "managed-by": "sam", "sam-image-version": "v1" },
    architecture: "x86",
  });

  it("snapshots a server with the documented body and reads image and action", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(201, { image: snapshot(7, "creating"), action: { ...action, command: "create_image" } }),
    );
    const { image } = await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).createImage(42, {
      description: "SAM image v1",
      labels: { "managed-by": "sam" },
    });
    expect(image).toMatchObject({ id: 7, status: "creating", type: "snapshot" });
    expect(requests[0]!.url.pathname).toBe("/v1/servers/42/actions/create_image");
    expect(requests[0]!.body).toEqual({
      type: "snapshot",
      description: "SAM image v1",
      labels: { "managed-by": "sam" },
    });
  });

  it("lists snapshots by label selector, newest first, and treats a 404 on get and delete as gone", async () => {
    const { fetch, requests } = fakeFetch((request) =>
      request.method === "GET" && request.url.pathname === "/v1/images"
        ? json(200, page([snapshot(8), snapshot(7)], "images", 1, 1))
        : hetznerError(404, "not_found", "image not found"),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch });
    const images = await client.listImages({ type: "snapshot", labelSelector: "managed-by=sam", architecture: "x86" });
    expect(images.map((i) => i.id)).toEqual([8, 7]);
    const query = requests[0]!.url.searchParams;
    expect([query.get("type"), query.get("label_selector"), query.get("sort")]).toEqual([
      "snapshot",
      "managed-by=sam",
      "created:desc",
    ]);
    expect(await client.getImage(9)).toBeNull();
    await expect(client.deleteImage(9)).resolves.toBeUndefined();
    expect(requests.at(-1)).toMatchObject({ method: "DELETE" });
  });
});

describe("hetzner volumes", () => {
  // Shaped from the spec's create_volume example.
  const volume = (id: number, overrides: Record<string, unknown> = {}) => ({
    id,
    created: "2016-01-30T23:50:11Z",
    name: `sam-ws-${id}`,
    server: null,
    location: {
      id: 1,
      name: "fsn1",
      description: "Falkenstein DC Park 1",
      country: "DE",
      city: "Falkenstein",
      latitude: 50.47612,
      longitude: 12.370071,
      network_zone: "eu-central",
    },
    size: 10,
    linux_device: `/dev/disk/by-id/scsi-0HC_Volume_${id}`,
    protection: { delete: false },
    labels: { "managed-by": "sam", workspace: "ws1" },
    status: "creating",
    format: "ext4",
    ...overrides,
  });
  const volumeAction = (command: string, status = "running") => ({
    ...action,
    command,
    status,
    resources: [{ id: 4711, type: "volume" }],
  });

  it("creates a volume with the documented body, once even on 503, and reads volume and action", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(201, { volume: volume(4711), action: volumeAction("create_volume"), next_actions: [] }),
    );
    const created = await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).createVolume({
      name: "sam-ws-4711",
      sizeGb: 10,
      location: "fsn1",
      labels: { "managed-by": "sam", workspace: "ws1" },
      format: "ext4",
    });
    expect(requests[0]!.method).toBe("POST");
    expect(requests[0]!.url.pathname).toBe("/v1/volumes");
    expect(requests[0]!.body).toEqual({
      name: "sam-ws-4711",
      size: 10,
      location: "fsn1",
      labels: { "managed-by": "sam", workspace: "ws1" },
      format: "ext4",
    });
    expect(created.volume).toMatchObject({
      id: 4711,
      status: "creating",
      server: null,
      location: { name: "fsn1" },
      linux_device: "/dev/disk/by-id/scsi-0HC_Volume_4711",
      format: "ext4",
      protection: { delete: false },
    });
    expect(created.action.command).toBe("create_volume");
    expect(created.nextActions).toEqual([]);

    const unavailable = fakeFetch(() => hetznerError(503, "unavailable", "service unavailable"));
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch: unavailable.fetch, retry: fast }).createVolume({
        name: "v",
        sizeGb: 10,
        location: "fsn1",
        labels: {},
      }),
    );
    expect(error.status).toBe(503);
    expect(unavailable.requests).toHaveLength(1);
    expect(unavailable.requests[0]!.body).not.toHaveProperty("format");
  });

  it("maps a quota refusal on volume create to Hetzner's code", async () => {
    const { fetch } = fakeFetch(() => hetznerError(403, "resource_limit_exceeded", "volume limit exceeded"));
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch }).createVolume({
        name: "v",
        sizeGb: 10,
        location: "fsn1",
        labels: {},
      }),
    );
    expect(error).toMatchObject({ status: 403, code: "resource_limit_exceeded" });
  });

  it("gets a volume (null once gone) and lists volumes across pages by label selector and name", async () => {
    const { fetch, requests } = fakeFetch((request) => {
      if (request.url.pathname === "/v1/volumes/9") return hetznerError(404, "not_found", "volume not found");
      if (request.url.pathname === "/v1/volumes/8")
        return json(200, { volume: volume(8, { server: 42, status: "available" }) });
      const n = Number(request.url.searchParams.get("page"));
      return json(200, page([volume(n)], "volumes", n, 2));
    });
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch });
    expect(await client.getVolume(9)).toBeNull();
    expect(await client.getVolume(8)).toMatchObject({ id: 8, server: 42, status: "available" });
    const volumes = await client.listVolumes({ labelSelector: "managed-by=sam", name: "sam-ws-1" });
    expect(volumes.map((v) => v.id)).toEqual([1, 2]);
    const query = requests.at(-1)!.url.searchParams;
    expect([query.get("label_selector"), query.get("name"), query.get("page")]).toEqual([
      "managed-by=sam",
      "sam-ws-1",
      "2",
    ]);
  });

  it("deletes a volume (204), takes a volume already gone as deleted, and waits out 423 locked", async () => {
    const { fetch, requests } = fakeFetch((_, i) =>
      i === 0
        ? hetznerError(423, "locked", "volume is locked")
        : i === 1
          ? new Response(null, { status: 204 })
          : hetznerError(404, "not_found", "volume not found"),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch, locked: { waitMs: 1000, pollMs: 5 } });
    await client.deleteVolume(4711);
    await client.deleteVolume(4711);
    expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(Array(3).fill("DELETE /v1/volumes/4711"));
  });

  it("throws Hetzner's refusal to delete a volume still attached, without asking again", async () => {
    const { fetch, requests } = fakeFetch(() =>
      hetznerError(422, "service_error", "volume with ID '4711' is still attached to a server"),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch, retry: fast, locked: { pollMs: 5 } });
    expect(await rejection(client.deleteVolume(4711))).toMatchObject({ status: 422, code: "service_error" });
    expect(requests).toHaveLength(1);
  });

  it("attaches with server and automount, detaches, and reads a detach of a volume gone as null", async () => {
    const { fetch, requests } = fakeFetch((request, i) =>
      i === 2
        ? hetznerError(404, "not_found", "volume not found")
        : json(201, {
            action: volumeAction(request.url.pathname.endsWith("attach") ? "attach_volume" : "detach_volume"),
          }),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch });
    expect(await client.attachVolume(4711, 42, true)).toMatchObject({ command: "attach_volume" });
    expect(await client.detachVolume(4711)).toMatchObject({ command: "detach_volume" });
    expect(await client.detachVolume(4711)).toBeNull();
    expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual([
      "POST /v1/volumes/4711/actions/attach",
      "POST /v1/volumes/4711/actions/detach",
      "POST /v1/volumes/4711/actions/detach",
    ]);
    expect(requests[0]!.body).toEqual({ server: 42, automount: true });
  });

  it("waits out a lock before attaching, and gives up on an attach Hetzner refuses", async () => {
    const { fetch, requests } = fakeFetch((_, i) =>
      i === 0
        ? hetznerError(423, "locked", "server is locked")
        : i === 1
          ? json(201, { action: volumeAction("attach_volume") })
          : hetznerError(422, "volume_already_attached", "volume is already attached to a server"),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch, locked: { waitMs: 1000, pollMs: 5 } });
    expect(await client.attachVolume(4711, 42)).toMatchObject({ command: "attach_volume" });
    expect(requests[1]!.body).toEqual({ server: 42 });
    expect(await rejection(client.attachVolume(4711, 43))).toMatchObject({
      status: 422,
      code: "volume_already_attached",
    });
    expect(requests).toHaveLength(3);
  });

  it("creates a server with volumes attached and automount, as documented", async () => {
    const { fetch, requests } = fakeFetch(() => json(201, { server: server(42), action, next_actions: [] }));
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch });
    const input = { name: "ws-42", serverType: "cpx22", location: "fsn1", image: "ubuntu-24.04", userData: "" };
    await client.createServer({ ...input, labels: {}, volumes: [4711], automount: true });
    await client.createServer({ ...input, labels: {}, automount: true });
    expect(requests[0]!.body).toMatchObject({ volumes: [4711], automount: true });
    expect(requests[1]!.body).not.toHaveProperty("volumes");
    expect(requests[1]!.body).not.toHaveProperty("automount");
  });

  it("shuts a server down (ACPI) after waiting out a lock", async () => {
    const { fetch, requests } = fakeFetch((_, i) =>
      i === 0
        ? hetznerError(423, "locked", "server is locked")
        : json(201, { action: { ...action, command: "shutdown_server" } }),
    );
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch, locked: { waitMs: 1000, pollMs: 5 } });
    expect(await client.shutdownServer(42)).toMatchObject({ command: "shutdown_server", status: "running" });
    expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(
      Array(2).fill("POST /v1/servers/42/actions/shutdown"),
    );
  });

  it("waits for a shut-down server to be off, reads one gone as null, and times out on one that stays on", async () => {
    const stopping = fakeFetch((_, i) => json(200, { server: server(42, { status: i < 2 ? "running" : "off" }) }));
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch: stopping.fetch });
    expect(await client.waitForServerOff(42, { timeoutMs: 1000, pollMs: 5 })).toMatchObject({ status: "off" });
    expect(stopping.requests).toHaveLength(3);
    const gone = fakeFetch(() => hetznerError(404, "not_found", "server not found"));
    expect(
      await hetzner({ baseUrl: BASE, token: TOKEN, fetch: gone.fetch }).waitForServerOff(42, { timeoutMs: 100 }),
    ).toBeNull();
    const stubborn = fakeFetch(() => json(200, { server: server(42) }));
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch: stubborn.fetch }).waitForServerOff(42, {
        timeoutMs: 30,
        pollMs: 5,
      }),
    );
    expect(error).toMatchObject({ status: 0, code: "timeout_off" });
  });

  it("waits for an action: success resolves, error rejects with the action's error, a slow one times out", async () => {
    const finished = { ...action, status: "success", progress: 100, finished: "2016-01-30T23:51:00Z" };
    const succeeding = fakeFetch((_, i) => json(200, { action: i < 2 ? action : finished }));
    const client = hetzner({ baseUrl: BASE, token: TOKEN, fetch: succeeding.fetch });
    expect(await client.waitForAction(1, { timeoutMs: 1000, pollMs: 5 })).toMatchObject({ status: "success" });
    expect(succeeding.requests).toHaveLength(3);

    const failed = { ...finished, status: "error", error: { code: "action_failed", message: "attach failed" } };
    const failing = fakeFetch(() => json(200, { action: failed }));
    const error = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch: failing.fetch }).waitForAction(1, { timeoutMs: 1000 }),
    );
    expect(error).toMatchObject({ provider: "hetzner", code: "action_failed", message: "attach failed" });

    const running = fakeFetch(() => json(200, { action }));
    const slow = await rejection(
      hetzner({ baseUrl: BASE, token: TOKEN, fetch: running.fetch }).waitForAction(1, { timeoutMs: 30, pollMs: 5 }),
    );
    expect(slow).toMatchObject({ status: 0, code: "action_timeout" });
  });

  it("reads the volume price per GB and month, and the currency, from GET /pricing", async () => {
    const { fetch, requests } = fakeFetch(() =>
      json(200, {
        pricing: {
          currency: "EUR",
          vat_rate: "19.00",
          image: { price_per_gb_month: { net: "0.0110", gross: "0.0131" } },
          volume: { price_per_gb_month: { net: "0.0440", gross: "0.0524" } },
          floating_ip: { price_monthly: { net: "3.00", gross: "3.57" } },
          floating_ips: [],
          primary_ips: [],
          server_backup: { percentage: "20.00" },
          server_types: [],
          load_balancer_types: [],
        },
      }),
    );
    expect(await hetzner({ baseUrl: BASE, token: TOKEN, fetch }).getPricing()).toEqual({
      volumePerGbMonthGross: "0.0524",
      volumePerGbMonthNet: "0.0440",
      currency: "EUR",
      vatRate: "19.00",
    });
    expect(requests[0]!.url.pathname).toBe("/v1/pricing");
  });
});
