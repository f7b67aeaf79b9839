// npm run image: builds the SAM image (app/admin/image.server.ts) in the Hetzner project of HETZNER_TOKEN
// and waits until it is available; run it again to resume a build it left. See docs/self-hosting.md.
//   HETZNER_TOKEN=… APP_URL=https://sam.example.com npm run image
// The build server downloads Node.js and npm from TOOLS_REGISTRY_URL (default: the registry this machine's npm
// uses) or NODE_URL_AMD64 / NPM_URL; NODE_SHA256_AMD64 / NPM_SHA256 must be the deployment's, if it sets them.
import { execFileSync } from "node:child_process";
import { advanceImageBuild, startImageBuild } from "../app/admin/image.server";
import { hetzner } from "../app/providers/hetzner.server";
import { PINNED_SHA256, pinnedToolUrls } from "../app/workspaces/tools";

const env = process.env;
const token = env.HETZNER_TOKEN;
const appUrl = env.APP_URL;
if (!token || !appUrl) {
  console.error(
    "Set HETZNER_TOKEN (Read & Write, the project workspaces run in) and APP_URL (the instance's URL, which labels the image).",
  );
  process.exit(2);
}

/** The registry this machine's npm uses, which the instance's VMs are configured with too (TOOLS_REGISTRY_URL). */
function npmRegistry(): string {
  try {
    const registry = execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim();
    if (registry) return registry;
  } catch {}
  console.error(
    "Set TOOLS_REGISTRY_URL (the instance's value): this machine's npm did not say which registry it uses.",
  );
  process.exit(2);
}

const pinned = pinnedToolUrls(env.TOOLS_REGISTRY_URL ?? npmRegistry());
const config = {
  APP_URL: appUrl,
  NODE_URL_AMD64: env.NODE_URL_AMD64 ?? pinned.node.amd64,
  NODE_SHA256_AMD64: env.NODE_SHA256_AMD64 ?? PINNED_SHA256.node.amd64,
  NODE_URL_ARM64: env.NODE_URL_ARM64 ?? pinned.node.arm64,
  NODE_SHA256_ARM64: env.NODE_SHA256_ARM64 ?? PINNED_SHA256.node.arm64,
  NPM_URL: env.NPM_URL ?? pinned.npm,
  NPM_SHA256: env.NPM_SHA256 ?? PINNED_SHA256.npm,
};
const client = hetzner({ baseUrl: env.HETZNER_API_URL ?? "https://api.hetzner.cloud/v1", token });
const pollMs = Number(env.IMAGE_POLL_MS ?? 10_000);

let state = await startImageBuild(client, config);
let last = "";
while (state.phase === "installing" || state.phase === "snapshotting") {
  if (state.message !== last) console.log(`${state.phase}: ${state.message}`);
  last = state.message;
  await new Promise((resolve) => setTimeout(resolve, pollMs));
  state = await advanceImageBuild(client, config);
}
console.log(`${state.phase}: ${state.message}`);
process.exit(state.phase === "failed" ? 1 : 0);
