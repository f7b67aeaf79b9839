import { IMAGE_MARKER, installToolsScript, TOOLS_DIR, toolsFor } from "../workspaces/cloud-init.server";
import { instanceLabel, MANAGED_BY } from "../workspaces/clouds.server";
import type { AppLoadContext } from "@remix-run/cloudflare";
import type { Config } from "../platform/config.server";
import { audit } from "../platform/audit.server";
import { hetzner, type HetznerClient, type HetznerImage, type HetznerServer } from "../providers/hetzner.server";
import { readCredential } from "../settings/credentials.server";
import { explainError } from "../workspaces/errors.server";

/**
 * The SAM image: a Hetzner snapshot of ubuntu-24.04 with Node.js, npm and the pinned coding-agent CLIs
 * installed under /opt/sam, so a workspace booted from it skips those downloads. SAM builds it on a
 * throw-away server whose user-data installs everything, writes the marker and powers off (cloud-init's
 * power_state); the powered-off server is snapshotted, then deleted, and older SAM images go.
 *
 * Nothing is kept in D1: the build's state is what the Hetzner project shows (labels), so any step can be
 * repeated, and a build that stops making progress for BUILD_TIMEOUT_MS is deleted with what it made.
 */

/**
 * The coding-agent CLIs and the ACP adapters chats run them through, as the image holds them:
 * agent/internal/bootstrap's pins (a test keeps them equal; the agent skips its install only when both are there).
 */
export const IMAGE_CLIS = {
  "@anthropic-ai/claude-code": "2.1.332",
  "@agentclientprotocol/claude-agent-acp": "0.101.0",
  "@openai/codex": "0.171.0",
  "@agentclientprotocol/codex-acp": "2.6.0",
} as const;

/** Snapshots are x86 or arm; SAM builds on x86 (the cx sizes), so arm workspaces boot ubuntu-24.04. */
export const IMAGE_ARCHITECTURE = "x86";
const BUILD_SERVER_TYPE = "cx23";
const BUILD_LOCATION = "fsn1";
/** A build that has not finished after this long is deleted with what it made. */
export const BUILD_TIMEOUT_MS = 30 * 60_000;
/** Bumped whenever the build script changes what an image holds. */
const RECIPE = 1;

export type ImageClient = Pick<
  HetznerClient,
  "createServer" | "deleteServer" | "listServers" | "listImages" | "createImage" | "deleteImage"
>;
type ImageConfig = Pick<
  Config,
  "APP_URL" | "NODE_URL_AMD64" | "NODE_SHA256_AMD64" | "NODE_URL_ARM64" | "NODE_SHA256_ARM64" | "NPM_URL" | "NPM_SHA256"
>;

/**
 * What the image holds, as a label value: the same archives (by SHA-256, wherever they are downloaded from) and
 * CLIs give the same version, so `npm run image` and the app agree without sharing the registry's URL.
 */
export async function samImageVersion(config: ImageConfig): Promise<string> {
  const { nodeSha256, npmSha256 } = toolsFor(config, "amd64");
  const recipe = JSON.stringify({ RECIPE, tools: { nodeSha256, npmSha256 }, clis: IMAGE_CLIS });
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(recipe)));
  return `v${RECIPE}-${[...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

const selectorFor = (config: ImageConfig, role: "sam-image" | "sam-image-build") =>
  `managed-by=${MANAGED_BY},instance=${instanceLabel(config)},role=${role}`;

/** The image every new x86 workspace of this instance boots from, when the project has one of this version. */
export async function findSamImage(client: Pick<HetznerClient, "listImages">, config: ImageConfig) {
  const version = await samImageVersion(config);
  const images = await client.listImages({
    type: "snapshot",
    labelSelector: `${selectorFor(config, "sam-image")},sam-image-version=${version}`,
    architecture: IMAGE_ARCHITECTURE,
  });
  return newest(images.filter((image) => image.status === "available")) ?? null;
}

const newest = (images: HetznerImage[]) =>
  [...images].sort((a, b) => b.created.localeCompare(a.created) || b.id - a.id)[0];

/** The build server's user-data: Node.js and npm as a workspace installs them, the CLIs, the marker, poweroff. */
export function buildUserData(config: ImageConfig, version: string): string {
  const tools = toolsFor(config, "amd64");
  const specs = Object.entries(IMAGE_CLIS).map(([name, v]) => `${name}@${v}`);
  const marker = [
    `version=${version}`,
    `node-sha256=${tools.nodeSha256}`,
    `npm-sha256=${tools.npmSha256}`,
    ...Object.entries(IMAGE_CLIS).map(([name, v]) => `${name}=${v}`),
  ];
  const installClis = [
    "set -e",
    `export PATH=${TOOLS_DIR}/node/bin:$PATH`,
    `npm install --global --prefix ${TOOLS_DIR} --no-audit --no-fund --no-update-notifier ${specs.join(" ")}`,
    `printf '%s\\n' ${marker.map((line) => `'${line}'`).join(" ")} > ${IMAGE_MARKER}.part`,
    `mv ${IMAGE_MARKER}.part ${IMAGE_MARKER}`,
  ].join("; ");
  return `#cloud-config
runcmd:
  - [sh, -c, "${installToolsScript(tools)}"]
  - [sh, -c, "${installClis}"]
power_state:
  mode: poweroff
  condition: "test -f ${IMAGE_MARKER}"
`;
}

export type ImageBuildPhase = "none" | "installing" | "snapshotting" | "available" | "failed";
export interface ImageBuildState {
  phase: ImageBuildPhase;
  message: string;
  version: string;
  image: { id: number; created: string; version: string } | null;
  /** True only from the call that ended a build (its image available, or the build deleted as failed). */
  finished: boolean;
}

/** Starts a build; refuses while one runs. The server bills from here: advanceImageBuild ends it. */
export async function startImageBuild(client: ImageClient, config: ImageConfig): Promise<ImageBuildState> {
  const running = await client.listServers({ labelSelector: selectorFor(config, "sam-image-build") });
  if (running.length) return advanceImageBuild(client, config);
  const version = await samImageVersion(config);
  const { server } = await client.createServer({
    name: `sam-image-${Date.now().toString(36)}`,
    serverType: BUILD_SERVER_TYPE,
    location: BUILD_LOCATION,
    image: "ubuntu-24.04",
    userData: buildUserData(config, version),
    labels: { ...labels(config, version), role: "sam-image-build" },
  });
  return {
    phase: "installing",
    message: `Build server ${server.id} is installing Node.js and the CLIs`,
    version,
    image: null,
    finished: false,
  };
}

const labels = (config: ImageConfig, version: string) => ({
  "managed-by": MANAGED_BY,
  instance: instanceLabel(config),
  "sam-image-version": version,
});

/**
 * Moves a build on by what the project shows: a powered-off build server is snapshotted; an available
 * snapshot means its server goes and older SAM images go; a build past BUILD_TIMEOUT_MS is deleted with its
 * snapshot. Safe to call again and from two places at once (Hetzner locks the server while it is snapshotted).
 */
export async function advanceImageBuild(
  client: ImageClient,
  config: ImageConfig,
  now = Date.now(),
): Promise<ImageBuildState> {
  const version = await samImageVersion(config);
  const [builds, images] = await Promise.all([
    client.listServers({ labelSelector: selectorFor(config, "sam-image-build") }),
    client.listImages({ type: "snapshot", labelSelector: selectorFor(config, "sam-image") }),
  ]);
  const state = (phase: ImageBuildPhase, message: string): ImageBuildState => {
    const current = newest(images.filter((i) => i.status === "available" && i.labels["sam-image-version"] === version));
    return {
      phase,
      message,
      version,
      image: current
        ? { id: current.id, created: current.created, version: current.labels["sam-image-version"] ?? "" }
        : null,
      finished: phase === "available" || phase === "failed",
    };
  };
  for (const build of builds) {
    const snapshot = images.find((image) => image.labels["build-server"] === String(build.id));
    const late = now - Date.parse(build.created) > BUILD_TIMEOUT_MS;
    if (snapshot?.status === "available") {
      await client.deleteServer(build.id);
      const superseded = images.filter((image) => image.id !== snapshot.id);
      for (const old of superseded) await client.deleteImage(old.id);
      const current = { ...state("available", ""), image: imageOf(snapshot) };
      current.message = `SAM image ${snapshot.id} is ready${superseded.length ? `; deleted the superseded ${superseded.map((i) => i.id).join(", ")}` : ""}`;
      return current;
    }
    if (late) return fail(client, build, snapshot, state);
    if (snapshot) return state("snapshotting", `Hetzner is saving server ${build.id} as image ${snapshot.id}`);
    if (build.status === "off") {
      const { image } = await client.createImage(build.id, {
        description: `SAM image ${build.labels["sam-image-version"] ?? version} (Node.js and coding-agent CLIs)`,
        labels: {
          ...labels(config, build.labels["sam-image-version"] ?? version),
          role: "sam-image",
          "build-server": String(build.id),
        },
      });
      return state("snapshotting", `Hetzner is saving server ${build.id} as image ${image.id}`);
    }
    return state("installing", `Build server ${build.id} is installing Node.js and the CLIs`);
  }
  const current = state("none", "");
  if (current.image) current.phase = "available";
  current.finished = false;
  current.message = current.image
    ? `SAM image ${current.image.id} (${version}) is used for new workspaces`
    : `No SAM image of version ${version}: workspaces boot ubuntu-24.04 and install Node.js and the CLIs`;
  return current;
}

const imageOf = (image: HetznerImage) => ({
  id: image.id,
  created: image.created,
  version: image.labels["sam-image-version"] ?? "",
});

async function fail(
  client: ImageClient,
  build: HetznerServer,
  snapshot: HetznerImage | undefined,
  state: (phase: ImageBuildPhase, message: string) => ImageBuildState,
): Promise<ImageBuildState> {
  if (snapshot) await client.deleteImage(snapshot.id);
  await client.deleteServer(build.id);
  const minutes = BUILD_TIMEOUT_MS / 60_000;
  return state(
    "failed",
    snapshot
      ? `Hetzner did not finish image ${snapshot.id} within ${minutes} minutes: deleted it and build server ${build.id}. Try again; if it repeats, check Hetzner's status page.`
      : `Build server ${build.id} did not finish installing within ${minutes} minutes (a download failed or did not match its SHA-256; /var/log/cloud-init-output.log on it says which): deleted it. Check NODE_URL_AMD64, NPM_URL and the npm registry are reachable, then try again.`,
  );
}

/** What the admin page shows: a build's state, or why SAM cannot look (no token, Hetzner refused). */
export type AdminImageView = ImageBuildState | { phase: "unavailable"; message: string };

const PLACE = { serverType: BUILD_SERVER_TYPE, location: BUILD_LOCATION };

/**
 * The admin page's SAM image, built in the admin's own Hetzner project with the token they saved in Settings
 * (workspaces of users with other projects do not see it). Each call moves a running build on; the call that
 * ends one records the outcome in the audit log.
 */
export async function adminImageBuild(
  context: Pick<AppLoadContext, "db" | "config">,
  request: Request,
  adminId: string,
  start: boolean,
): Promise<AdminImageView> {
  const token = await readCredential(context, adminId, "hetzner");
  if (!token)
    return {
      phase: "unavailable",
      message: "Save a Hetzner token in Settings first: the image is built in that token's project.",
    };
  const client = hetzner({ baseUrl: context.config.HETZNER_API_URL, token });
  try {
    const state = await (start ? startImageBuild : advanceImageBuild)(client, context.config);
    // A click while a build runs only moves that build on; it is recorded all the same.
    if (start)
      await audit(context, request, {
        userId: adminId,
        action: "image.build_requested",
        details: { version: state.version, message: state.message },
      });
    if (state.finished)
      await audit(context, request, {
        userId: adminId,
        action: state.phase === "available" ? "image.built" : "image.build_failed",
        details: { version: state.version, image: state.image?.id ?? null, message: state.message },
      });
    return state;
  } catch (error) {
    return { phase: "unavailable", message: explainError(error, PLACE) };
  }
}
