import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalCloud } from "../server";
import { call, contractErrors, HETZNER_TOKEN, startTestCloud } from "../test-support";

let cloud: LocalCloud;
let base: string;
const h = (method: string, path: string, body?: unknown, token = HETZNER_TOKEN) =>
  call(base, method, path, { token, body });

beforeAll(async () => {
  cloud = await startTestCloud();
  base = `${cloud.url}/hetzner/v1`;
});
afterAll(async () => {
  await cloud?.close();
});

const server = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  server_type: "cx23",
  image: "ubuntu-24.04",
  location: "fsn1",
  ...extra,
});

describe("Hetzner auth and rate limits", () => {
  it("refuses a missing or unknown token with the documented error shape and rate-limit headers", async () => {
    for (const token of [undefined, "wrong"]) {
      const res = await call(base, "GET", "/servers", { token });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe("unauthorized");
      expect(contractErrors("hetzner", "operations.list_servers.4xx", res.json)).toEqual([]);
      expect(Number(res.headers.get("ratelimit-limit"))).toBe(3600);
      expect(res.headers.get("ratelimit-remaining")).toMatch(/^\d+$/);
      expect(Number(res.headers.get("ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000 - 1);
    }
  });

  it("lets a read-only token GET, and answers anything else with 401 token_readonly before reading the body", async () => {
    const readOnly = "r".repeat(64);
    expect(
      (await call(cloud.url, "POST", "/_local/hetzner/tokens", { body: { token: readOnly, read_only: true } })).status,
    ).toBe(201);
    expect((await h("GET", "/servers", undefined, readOnly)).status).toBe(200);
    for (const body of [{}, server("read-only-attempt")]) {
      const refused = await h("POST", "/servers", body, readOnly);
      expect(refused.status).toBe(401);
      expect(refused.json.error.code).toBe("token_readonly");
      expect(contractErrors("hetzner", "operations.create_server.4xx", refused.json)).toEqual([]);
    }
    // The same empty create with the Read & Write token fails on its input instead: how the app tells them apart.
    const writable = await h("POST", "/firewalls", {});
    expect(writable.status).toBe(422);
    expect(writable.json.error.code).toBe("invalid_input");
  });

  it("answers 429 rate_limit_exceeded once the (lowered) limit is spent, and refills 1/s at 3600/h", async () => {
    const lowered = await call(cloud.url, "PUT", "/_local/rate-limit", { body: { service: "hetzner", limit: 2 } });
    expect(lowered.status).toBe(200);
    expect((await h("GET", "/locations")).headers.get("ratelimit-remaining")).toBe("1");
    expect((await h("GET", "/locations")).status).toBe(200);
    const refused = await h("GET", "/locations");
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe("rate_limit_exceeded");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    await call(cloud.url, "PUT", "/_local/rate-limit", { body: { service: "hetzner", limit: 3600 } });
    expect((await h("GET", "/locations")).headers.get("ratelimit-remaining")).toBe("3599");
  });
});

describe("Hetzner catalog", () => {
  it.each([
    ["/server_types", "list_server_types"],
    ["/locations", "list_locations"],
    ["/datacenters", "list_datacenters"],
    ["/images?type=system", "list_images"],
  ])("GET %s matches the official schema", async (path, operation) => {
    const res = await h("GET", path);
    expect(res.status).toBe(200);
    expect(contractErrors("hetzner", `operations.${operation}.200`, res.json)).toEqual([]);
  });

  it("offers cx23/cx33/cx43 with per-location string prices and fsn1/nbg1/hel1", async () => {
    const types = (await h("GET", "/server_types")).json.server_types;
    for (const name of ["cx23", "cx33", "cx43"]) {
      const type = types.find((t: { name: string }) => t.name === name);
      expect(type.prices.map((p: { location: string }) => p.location)).toEqual(["fsn1", "nbg1", "hel1"]);
      expect(type.prices[0].price_monthly.net).toMatch(/^\d+\.\d{10}$/);
    }
    const names = (await h("GET", "/locations")).json.locations.map((l: { name: string }) => l.name);
    expect(names).toEqual(expect.arrayContaining(["fsn1", "nbg1", "hel1"]));
    expect((await h("GET", "/images?name=ubuntu-24.04&architecture=x86")).json.images).toHaveLength(1);
  });
});

describe("Hetzner servers", () => {
  it("creates a server (201, initializing, a loopback address of this cloud's own) and it becomes running", async () => {
    const res = await h("POST", "/servers", server("create-me", { labels: { "managed-by": "sam", workspace: "w1" } }));
    expect(res.status).toBe(201);
    expect(contractErrors("hetzner", "operations.create_server.201", res.json)).toEqual([]);
    expect(res.json.server.status).toBe("initializing");
    expect(res.json.root_password).toBeNull();
    // Its agent listens there on 8443; the middle bytes are the cloud's port, so two clouds never collide.
    expect(res.json.server.public_net.ipv4.ip).toBe(`127.${cloud.port >> 8}.${cloud.port & 255}.2`);
    expect(res.json.action.command).toBe("create_server");
    await cloud.settled();
    const got = await h("GET", `/servers/${res.json.server.id}`);
    expect(got.json.server.status).toBe("running");
    expect(contractErrors("hetzner", "operations.get_server.200", got.json)).toEqual([]);
    const action = await h("GET", `/actions/${res.json.action.id}`);
    expect(action.json.action.status).toBe("success");
    expect(contractErrors("hetzner", "operations.get_action.200", action.json)).toEqual([]);
  });

  it.each([
    ["a name that is no hostname", { name: "bad_name!" }, "name"],
    ["an unknown server type", { server_type: "cx999" }, "server_type"],
    ["an unknown image", { image: "windows-95" }, "image"],
    ["an unknown location", { location: "mars1" }, "location"],
    ["a reserved label prefix", { labels: { "hetzner.cloud/x": "y" } }, "labels"],
    ["a label value with leading dash", { labels: { ok: "-bad-" } }, "labels"],
    ["user_data over 32 KiB", { user_data: "#cloud-config\n" + "x".repeat(32 * 1024) }, "user_data"],
  ])("refuses %s with 422 invalid_input naming the field", async (_, override, field) => {
    const res = await h("POST", "/servers", { ...server("valid-name"), ...override });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("invalid_input");
    expect(res.json.error.details.fields[0].name).toBe(field);
  });

  it("refuses broken JSON with 400 json_error and a duplicate name with 409 uniqueness_error", async () => {
    const broken = await fetch(`${base}/servers`, {
      method: "POST",
      headers: { Authorization: `Bearer ${HETZNER_TOKEN}`, "Content-Type": "application/json" },
      body: "{",
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe("json_error");
    expect((await h("POST", "/servers", server("dupe"))).status).toBe(201);
    const dupe = await h("POST", "/servers", server("dupe"));
    expect(dupe.status).toBe(409);
    expect(dupe.json.error.code).toBe("uniqueness_error");
  });

  it("filters by label selector (=, !=, in, notin, key, !key) and name", async () => {
    await h("POST", "/servers", server("sel-a", { labels: { app: "sam", env: "prod", tier: "web" } }));
    await h("POST", "/servers", server("sel-b", { labels: { app: "sam", env: "dev" } }));
    await h("POST", "/servers", server("sel-c", { labels: { app: "other" } }));
    const names = async (selector: string) =>
      (await h("GET", `/servers?label_selector=${encodeURIComponent(selector)}`)).json.servers
        .map((s: { name: string }) => s.name)
        .filter((n: string) => n.startsWith("sel-"))
        .sort();
    expect(await names("app=sam")).toEqual(["sel-a", "sel-b"]);
    expect(await names("app==sam,env!=prod")).toEqual(["sel-b"]);
    expect(await names("env in (prod,dev)")).toEqual(["sel-a", "sel-b"]);
    // As in Kubernetes selectors, `notin` and `!=` also match resources without the key.
    expect(await names("app,env notin (prod)")).toEqual(["sel-b", "sel-c"]);
    expect(await names("app,!env")).toEqual(["sel-c"]);
    expect(await names("tier")).toEqual(["sel-a"]);
    const bad = await h("GET", `/servers?label_selector=${encodeURIComponent("a in (b")}`);
    expect(bad.status).toBe(422);
    expect((await h("GET", "/servers?name=sel-b")).json.servers).toHaveLength(1);
  });

  it("paginates with meta.pagination and a Link header (per_page capped at 50)", async () => {
    for (let i = 0; i < 4; i++) await h("POST", "/servers", server(`page-${i}`, { labels: { paged: "yes" } }));
    const first = await h("GET", "/servers?label_selector=paged&per_page=3");
    expect(contractErrors("hetzner", "operations.list_servers.200", first.json)).toEqual([]);
    expect(first.json.meta.pagination).toEqual({
      page: 1,
      per_page: 3,
      previous_page: null,
      next_page: 2,
      last_page: 2,
      total_entries: 4,
    });
    expect(first.headers.get("link")).toContain('rel="next"');
    const second = await h("GET", "/servers?label_selector=paged&per_page=3&page=2");
    expect(second.json.servers).toHaveLength(1);
    expect(second.json.meta.pagination.next_page).toBeNull();
    expect((await h("GET", "/servers?per_page=500")).json.meta.pagination.per_page).toBe(50);
  });

  it("deletes a server: {action}, then 404 with the error shape", async () => {
    const created = await h("POST", "/servers", server("delete-me"));
    await cloud.settled();
    const deleted = await h("DELETE", `/servers/${created.json.server.id}`);
    expect(deleted.status).toBe(200);
    expect(contractErrors("hetzner", "operations.delete_server.200", deleted.json)).toEqual([]);
    await cloud.settled();
    expect((await h("GET", `/actions/${deleted.json.action.id}`)).json.action.status).toBe("success");
    const gone = await h("GET", `/servers/${created.json.server.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe("not_found");
  });
});

describe("Hetzner server locks", () => {
  it("answers 423 locked to DELETE while the create action runs, and deletes once it has finished", async () => {
    expect((await call(cloud.url, "PUT", "/_local/boot-delay", { body: { ms: 1500 } })).status).toBe(200);
    const created = await h("POST", "/servers", server("locked-while-creating"));
    await call(cloud.url, "PUT", "/_local/boot-delay", { body: { ms: 0 } });
    const refused = await h("DELETE", `/servers/${created.json.server.id}`);
    expect(refused.status).toBe(423);
    expect(refused.json.error.code).toBe("locked");
    expect(contractErrors("hetzner", "operations.delete_server.4xx", refused.json)).toEqual([]);
    expect((await h("GET", `/servers/${created.json.server.id}`)).status).toBe(200);
    await cloud.settled();
    expect((await h("GET", `/actions/${created.json.action.id}`)).json.action.status).toBe("success");
    expect((await h("DELETE", `/servers/${created.json.server.id}`)).status).toBe(200);
  });
});

describe("Hetzner firewalls", () => {
  it("creates, applies, refuses deletion while in use, removes and deletes", async () => {
    const target = await h("POST", "/servers", server("fw-target", { labels: { fw: "yes" } }));
    const id = target.json.server.id;
    const rules = [
      { direction: "in", protocol: "tcp", port: "8443", source_ips: ["173.245.48.0/20", "2400:cb00::/32"] },
    ];
    const created = await h("POST", "/firewalls", {
      name: "sam-agents",
      labels: { "managed-by": "sam" },
      rules,
      apply_to: [{ type: "server", server: { id } }],
    });
    expect(created.status).toBe(201);
    expect(contractErrors("hetzner", "operations.create_firewall.201", created.json)).toEqual([]);
    const fw = created.json.firewall.id;
    expect((await h("GET", `/servers/${id}`)).json.server.public_net.firewalls).toEqual([
      { id: fw, status: "applied" },
    ]);
    const listed = await h("GET", "/firewalls?label_selector=managed-by%3Dsam");
    expect(contractErrors("hetzner", "operations.list_firewalls.200", listed.json)).toEqual([]);
    expect(listed.json.firewalls.map((f: { id: number }) => f.id)).toEqual([fw]);
    const refused = await h("DELETE", `/firewalls/${fw}`);
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe("resource_in_use");
    const again = await h("POST", `/firewalls/${fw}/actions/apply_to_resources`, {
      apply_to: [{ type: "server", server: { id } }],
    });
    expect(again.json.error.code).toBe("firewall_already_applied");
    const bySelector = await h("POST", `/firewalls/${fw}/actions/apply_to_resources`, {
      apply_to: [{ type: "label_selector", label_selector: { selector: "fw=yes" } }],
    });
    expect(bySelector.status).toBe(201);
    expect(contractErrors("hetzner", "operations.apply_firewall_to_resources.201", bySelector.json)).toEqual([]);
    const removed = await h("POST", `/firewalls/${fw}/actions/remove_from_resources`, {
      remove_from: [
        { type: "server", server: { id } },
        { type: "label_selector", label_selector: { selector: "fw=yes" } },
      ],
    });
    expect(removed.status).toBe(201);
    expect(contractErrors("hetzner", "operations.remove_firewall_from_resources.201", removed.json)).toEqual([]);
    expect((await h("GET", `/firewalls/${fw}`)).json.firewall.applied_to).toEqual([]);
    expect((await h("DELETE", `/firewalls/${fw}`)).status).toBe(204);
    expect((await h("GET", `/firewalls/${fw}`)).status).toBe(404);
  });

  it("applies firewalls given at server creation", async () => {
    const fw = (await h("POST", "/firewalls", { name: "at-create", rules: [] })).json.firewall.id;
    const created = await h("POST", "/servers", server("with-fw", { firewalls: [{ firewall: fw }] }));
    expect(created.json.server.public_net.firewalls).toEqual([{ id: fw, status: "applied" }]);
    expect(created.json.next_actions.map((a: { command: string }) => a.command)).toContain("apply_firewall");
  });
});

describe("fault injection", () => {
  it("fails the next N matching calls, then behaves normally", async () => {
    const added = await call(cloud.url, "POST", "/_local/faults", {
      body: {
        service: "hetzner",
        method: "GET",
        path: "^/locations$",
        times: 2,
        fault: { status: 503, body: { error: { code: "unavailable", message: "injected", details: null } } },
      },
    });
    expect(added.status).toBe(201);
    expect((await h("GET", "/locations")).status).toBe(503);
    expect((await h("GET", "/locations")).status).toBe(503);
    expect((await h("GET", "/locations")).status).toBe(200);
  });

  it("can delay, reset or hang a call", async () => {
    await call(cloud.url, "POST", "/_local/faults", {
      body: { service: "hetzner", path: "^/images", fault: { delay_ms: 150 } },
    });
    const started = Date.now();
    expect((await h("GET", "/images")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await call(cloud.url, "POST", "/_local/faults", {
      body: { service: "hetzner", path: "^/images", fault: { reset: true } },
    });
    await expect(h("GET", "/images")).rejects.toThrow();
    await call(cloud.url, "POST", "/_local/faults", {
      body: { service: "hetzner", path: "^/images", fault: { hang: true } },
    });
    await expect(
      fetch(`${base}/images`, {
        headers: { Authorization: `Bearer ${HETZNER_TOKEN}` },
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    await call(cloud.url, "DELETE", "/_local/faults");
  });
});

describe("Hetzner images", () => {
  // An image build: installs into /opt/sam, writes its marker, and powers off once the marker is there.
  const buildUserData = `#cloud-config
runcmd:
  - [sh, -c, "mkdir -p /opt/sam/bin && echo 'version=v1' > /opt/sam/sam-image"]
power_state:
  mode: poweroff
  condition: "test -f /opt/sam/sam-image"
`;
  const serverDir = (id: number) => cloud.state().servers.find((s) => s.id === id)!.agent!.dir;

  it("snapshots a server (creating, then available), lists it by label, boots a server from it and deletes it", async () => {
    const built = await h("POST", "/servers", server("image-build", { user_data: buildUserData }));
    await cloud.settled();
    const buildId = built.json.server.id;
    // power_state: the build shut itself down once its condition held.
    expect((await h("GET", `/servers/${buildId}`)).json.server.status).toBe("off");

    const labels = { "managed-by": "sam", "sam-image-version": "v1" };
    const created = await h("POST", `/servers/${buildId}/actions/create_image`, {
      type: "snapshot",
      description: "SAM image v1",
      labels,
    });
    expect(created.status).toBe(201);
    expect(contractErrors("hetzner", "operations.create_image.201", created.json)).toEqual([]);
    expect(created.json.image).toMatchObject({ type: "snapshot", status: "creating", labels, name: null });
    expect(created.json.action.command).toBe("create_image");
    const imageId = created.json.image.id;
    // Not bootable until it is available; the server is locked while the action runs.
    const early = await h("POST", "/servers", server("too-early", { image: imageId }));
    expect(early.status).toBe(422);
    expect(early.json.error.details.fields[0].name).toBe("image");
    expect((await h("DELETE", `/servers/${buildId}`)).status).toBe(423);
    await cloud.settled();

    const listed = await h("GET", "/images?type=snapshot&label_selector=managed-by=sam,sam-image-version=v1");
    expect(contractErrors("hetzner", "operations.list_images.200", listed.json)).toEqual([]);
    expect(listed.json.images.map((i: { id: number; status: string }) => [i.id, i.status])).toEqual([
      [imageId, "available"],
    ]);
    expect((await h("GET", "/images?type=snapshot&label_selector=sam-image-version=v0")).json.images).toEqual([]);
    expect(
      (await h("GET", "/images?type=system")).json.images.every((i: { type: string }) => i.type === "system"),
    ).toBe(true);
    const got = await h("GET", `/images/${imageId}`);
    expect(contractErrors("hetzner", "operations.get_image.200", got.json)).toEqual([]);
    expect(got.json.image.created_from).toEqual({ id: buildId, name: "image-build" });

    // The build server can go; the image stays, and a server made from it starts with the build's files.
    expect((await h("DELETE", `/servers/${buildId}`)).status).toBe(200);
    const booted = await h("POST", "/servers", server("from-image", { image: imageId }));
    expect(booted.status).toBe(201);
    expect(booted.json.server.image.id).toBe(imageId);
    await cloud.settled();
    const dir = serverDir(booted.json.server.id);
    expect(readFileSync(join(dir, "opt/sam/sam-image"), "utf8")).toBe("version=v1\n");
    expect(existsSync(join(dir, "cloud-init.log"))).toBe(true);

    expect((await h("DELETE", `/images/${imageId}`)).status).toBe(204);
    const gone = await h("GET", `/images/${imageId}`);
    expect(gone.status).toBe(404);
    expect(contractErrors("hetzner", "operations.get_image.4xx", gone.json)).toEqual([]);
    expect((await h("DELETE", "/images/161547269")).status).toBe(422);
    expect((await h("POST", "/servers", server("after-delete", { image: imageId }))).status).toBe(422);
    await h("DELETE", `/servers/${booted.json.server.id}`);
  });

  it("refuses a backup (backups are not enabled) and bad labels with 422", async () => {
    const res = await h("POST", "/servers", server("no-backups"));
    await cloud.settled();
    const backup = await h("POST", `/servers/${res.json.server.id}/actions/create_image`, { type: "backup" });
    expect(backup.status).toBe(422);
    expect(contractErrors("hetzner", "operations.create_image.4xx", backup.json)).toEqual([]);
    const badLabels = await h("POST", `/servers/${res.json.server.id}/actions/create_image`, {
      labels: { "hetzner.cloud/x": "y" },
    });
    expect(badLabels.status).toBe(422);
    await h("DELETE", `/servers/${res.json.server.id}`);
  });
});
