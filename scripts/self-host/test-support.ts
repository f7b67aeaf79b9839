// Shared by the self-hosting tests: a temporary copy of the operator's files.
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultPaths, type Paths } from "./settings";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A temp directory with copies of wrangler.toml and scripts/scheduler.wrangler.toml, and no secrets yet. */
export function tempCheckout(): Paths {
  const root = mkdtempSync(join(tmpdir(), "sam-self-host-"));
  const paths = defaultPaths(root);
  mkdirSync(dirname(paths.schedulerToml), { recursive: true });
  copyFileSync(join(repoRoot, "wrangler.toml"), paths.wranglerToml);
  copyFileSync(join(repoRoot, "scripts", "scheduler.wrangler.toml"), paths.schedulerToml);
  return paths;
}
