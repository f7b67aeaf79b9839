// The npm registry's package archives, as the local cloud's servers download them: Node.js and npm for
// cloud-init (app/workspaces/tools.ts pins the registry's own archives), served at /npm-registry/<name>/-/<file>
// from a cache under .cache/ that outlives the cloud. A missing archive is fetched once with this machine's own
// npm (`npm pack`, so its registry and CA settings apply), like a caching proxy in front of the registry.
import { execFile, spawnSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Request } from "./context";
import { sendJson } from "./http";

/** Where archives and the npm cache live across runs (git-ignored). */
export const TOOLS_CACHE_DIR = resolve(process.env.LOCAL_CLOUD_TOOLS_CACHE ?? ".cache/sam-tools");
export const NPM_CACHE_DIR = resolve(process.env.LOCAL_CLOUD_NPM_CACHE ?? ".cache/npm");

const ARCHIVE = /^\/((?:@[a-z0-9][a-z0-9._-]*\/)?([a-z0-9][a-z0-9._-]*))\/-\/([a-z0-9][a-z0-9._-]*)\.tgz$/;

let settings: Record<string, string> | undefined;

/**
 * This machine's npm registry and CA file (`npm config get`), for npm inside a local server: its HOME is its
 * own, so without them npm would not find a registry this machine can reach.
 */
export function hostNpmSettings(): Record<string, string> {
  if (settings) return settings;
  settings = {};
  for (const key of ["registry", "cafile"]) {
    const result = spawnSync("npm", ["config", "get", key], { encoding: "utf8" });
    const value = result.status === 0 ? result.stdout.trim() : "";
    if (value && value !== "null" && value !== "undefined") settings[`npm_config_${key}`] = value;
  }
  return settings;
}

const inFlight = new Map<string, Promise<void>>();

/** The archive `file` of package `name` in the cache, fetched with this machine's npm when missing. */
export async function cachedArchive(name: string, file: string): Promise<string> {
  const short = name.split("/").pop()!;
  const version = file.startsWith(`${short}-`) ? file.slice(short.length + 1) : "";
  if (!/^\d+\.\d+\.\d+[a-z0-9.-]*$/.test(version)) throw new Error(`${file}.tgz is not ${short}-<version>.tgz`);
  const packed = `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
  const path = join(TOOLS_CACHE_DIR, packed);
  if (existsSync(path)) return path;
  let pending = inFlight.get(path);
  if (!pending) {
    mkdirSync(TOOLS_CACHE_DIR, { recursive: true });
    pending = promisify(execFile)("npm", ["pack", `${name}@${version}`, "--pack-destination", TOOLS_CACHE_DIR], {
      timeout: 300_000,
    })
      .then(() => undefined)
      .finally(() => inFlight.delete(path));
    inFlight.set(path, pending);
  }
  await pending;
  return path;
}

export async function handleNpmRegistry(r: Request): Promise<void> {
  const match = ARCHIVE.exec(r.path);
  if (r.method !== "GET" || !match)
    return sendJson(r.res, 404, { error: "the local registry serves package archives only: GET /<name>/-/<file>.tgz" });
  const [, name, , file] = match;
  let path: string;
  try {
    path = await cachedArchive(name!, file!);
  } catch (error) {
    return sendJson(r.res, 404, { error: `could not fetch ${name}: ${(error as Error).message}` });
  }
  r.res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": statSync(path).size });
  createReadStream(path).pipe(r.res);
}
