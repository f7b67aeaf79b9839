import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { HetznerImage, HetznerServer } from "../providers/hetzner.server";
import { installToolsScript, toolsFor } from "../workspaces/cloud-init.server";
import { PINNED_SHA256, pinnedToolUrls } from "../workspaces/tools";

const PINNED_URLS = pinnedToolUrls("https://registry.test");
import {
  advanceImageBuild,
  BUILD_TIMEOUT_MS,
  buildUserData,
  IMAGE_CLIS,
  type ImageClient,
  samImageVersion,
  startImageBuild,
} from "./image.server";

const config = {
  APP_URL: "https://sam.example.test",
  NODE_URL_AMD64: PINNED_URLS.node.amd64,
  NODE_SHA256_AMD64: PINNED_SHA256.node.amd64,
  NODE_URL_ARM64: PINNED_URLS.node.arm64,
  NODE_SHA256_ARM64: PINNED_SHA256.node.arm64,
  NPM_URL: PINNED_URLS.npm,
  NPM_SHA256: PINNED_SHA256.npm,
};

describe("the SAM image's contents", () => {
  it("holds the CLIs and their ACP adapters at the versions the agent pins", () => {
    const steps = readFileSync(join(__dirname, "../../agent/internal/bootstrap/steps.go"), "utf8");
    const pinned = Object.fromEntries([
      ...[...steps.matchAll(/\{Package: "([^"]+)", Version: "([^"]+)"/g)].map((m) => [m[1], m[2]]),
      ...[...steps.matchAll(/Adapter: "([^"]+)", AdapterVersion: "([^"]+)"/g)].map((m) => [m[1], m[2]]),
    ]);
    expect(IMAGE_CLIS).toEqual(pinned);
  });

  it("changes version with what it holds", async () => {
    const version = await samImageVersion(config);
    expect(version).toMatch(/^v\d+-[0-9a-f]{12}$/);
    expect(await samImageVersion({ ...config, NPM_SHA256: "0".repeat(64) })).not.toBe(version);
  });

  it("is built by user-data that installs, writes the marker and powers off only once the marker is there", async () => {
    const version = await samImageVersion(config);
    const doc = parse(buildUserData(config, version));
    expect(doc.power_state).toEqual({ mode: "poweroff", condition: "test -f /opt/sam/sam-image" });
    const [, clis] = doc.runcmd.map((c: string[]) => c[2]);
    expect(clis).toContain("npm install --global --prefix /opt/sam");
    for (const [name, v] of Object.entries(IMAGE_CLIS)) expect(clis).toContain(`${name}@${v}`);
    expect(clis).toContain(`'version=${version}'`);
    expect(clis).toContain(`'node-sha256=${PINNED_SHA256.node.amd64}'`);
  });

  it("lets a workspace's boot skip Node.js and npm only when the image's marker names the same archives", () => {
    const tools = toolsFor({ ...config, NODE_URL_AMD64: "http://127.0.0.1:9/node.tgz" }, "amd64");
    const run = (marker: string | null) => {
      const root = mkdtempSync(join(tmpdir(), "sam-image-"));
      mkdirSync(join(root, "opt/sam"), { recursive: true });
      if (marker !== null) writeFileSync(join(root, "opt/sam/sam-image"), marker);
      const script = installToolsScript(tools).replaceAll("/opt/sam", join(root, "opt/sam"));
      try {
        return { code: 0, out: execFileSync("sh", ["-c", script.replace("--retry 10", "--retry 0")]).toString() };
      } catch (error) {
        return { code: (error as { status: number }).status, out: "" };
      }
    };
    const marker = `version=v1\nnode-sha256=${tools.nodeSha256}\nnpm-sha256=${tools.npmSha256}\n`;
    expect(run(marker)).toEqual({ code: 0, out: "Node.js and npm from the SAM image\n" });
    // No image, or one with other archives: the download runs (and here fails: nothing listens on port 9).
    expect(run(null).code).not.toBe(0);
    expect(run(marker.replace(tools.npmSha256, "0".repeat(64))).code).not.toBe(0);
  });
});

/** A Hetzner project with just servers and snapshots, for the build's steps. */
function fakeProject() {
  const servers = new Map<number, HetznerServer>();
  const images = new Map<number, HetznerImage>();
  let nextId = 1;
  const matches = (labels: Record<string, string>, selector = "") =>
    selector.split(",").every((term) => !term || labels[term.split("=")[0]!] === term.split("=")[1]);
  const client: ImageClient = {
    createServer: async (input) => {
      const server = {
        id: nextId++,
        name: input.name,
        status: "running",
        created: new Date().toISOString(),
        labels: input.labels,
      } as unknown as HetznerServer;
      servers.set(server.id, server);
      return { server, action: {} as never, nextActions: [] };
    },
    deleteServer: async (id) => (servers.delete(id), null),
    listServers: async (filter = {}) => [...servers.values()].filter((s) => matches(s.labels, filter.labelSelector)),
    createImage: async (serverId, input) => {
      const image: HetznerImage = {
        id: nextId++,
        type: "snapshot",
        status: "creating",
        name: null,
        description: input.description,
        created: new Date(Date.now() + nextId).toISOString(),
        labels: input.labels,
        architecture: "x86",
      };
      images.set(image.id, image);
      return { image, action: {} as never };
    },
    listImages: async (filter = {}) => [...images.values()].filter((i) => matches(i.labels, filter.labelSelector)),
    deleteImage: async (id) => void images.delete(id),
  };
  return { client, servers, images };
}

describe("building the SAM image", () => {
  it("snapshots the powered-off build server, deletes it and the superseded image", async () => {
    const { client, servers, images } = fakeProject();
    const first = await buildOnce(client, servers, images);
    expect(first.phase).toBe("available");
    expect([...images.keys()]).toEqual([first.image!.id]);
    const second = await buildOnce(client, servers, images);
    expect(second.message).toContain(`deleted the superseded ${first.image!.id}`);
    expect([...images.keys()]).toEqual([second.image!.id]);
    expect(servers.size).toBe(0);
  });

  it("deletes a build that outlives its timeout, with its snapshot, and says what to check", async () => {
    const { client, servers, images } = fakeProject();
    await startImageBuild(client, config);
    const later = Date.now() + BUILD_TIMEOUT_MS + 60_000;
    const failed = await advanceImageBuild(client, config, later);
    expect(failed.phase).toBe("failed");
    expect(failed.message).toMatch(/did not finish installing within 30 minutes.*Check NODE_URL_AMD64/);
    expect(servers.size).toBe(0);

    await startImageBuild(client, config);
    [...servers.values()][0]!.status = "off";
    expect((await advanceImageBuild(client, config)).phase).toBe("snapshotting");
    expect((await advanceImageBuild(client, config, later)).phase).toBe("failed");
    expect([servers.size, images.size]).toEqual([0, 0]);
  });
});

async function buildOnce(client: ImageClient, servers: Map<number, HetznerServer>, images: Map<number, HetznerImage>) {
  expect((await startImageBuild(client, config)).phase).toBe("installing");
  // A second start while one runs does not start another server.
  expect((await startImageBuild(client, config)).phase).toBe("installing");
  expect(servers.size).toBe(1);
  [...servers.values()][0]!.status = "off"; // power_state: the install finished
  expect((await advanceImageBuild(client, config)).phase).toBe("snapshotting");
  for (const image of images.values()) image.status = "available";
  return advanceImageBuild(client, config);
}
