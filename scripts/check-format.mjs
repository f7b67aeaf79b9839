#!/usr/bin/env node
// The format check `npm test` runs: Biome for TypeScript, JavaScript, JSON and CSS (biome.json), gofmt for Go.
// Exits non-zero and names each unformatted file; `npm run format` fixes them.
//
//   node scripts/check-format.mjs [path…]    check these paths, relative to the repository (default: all of it)
import { spawnSync } from "node:child_process";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const paths = process.argv.slice(2);

const biome = spawnSync(
  join(repo, "node_modules", ".bin", "biome"),
  ["format", "--reporter", "github", "--max-diagnostics", "none", ...(paths.length ? paths : ["."])],
  { encoding: "utf8", cwd: repo },
);
if (biome.error) throw new Error(`biome could not start: ${biome.error.message}`);
const unformattedScripts = [...biome.stdout.matchAll(/^::error[^:]*file=([^,]+),/gm)].map((match) => match[1]);
if (biome.status !== 0 && unformattedScripts.length === 0) {
  process.stderr.write(biome.stdout + biome.stderr);
  process.exit(biome.status ?? 1);
}

const gofmt = spawnSync("gofmt", ["-l", ...(paths.length ? paths : ["agent"])], { encoding: "utf8", cwd: repo });
if (gofmt.error) throw new Error(`gofmt could not start: ${gofmt.error.message}`);
if (gofmt.status !== 0) {
  process.stderr.write(gofmt.stderr);
  process.exit(gofmt.status ?? 1);
}
const unformattedGo = gofmt.stdout.split("\n").filter(Boolean);

const unformatted = [...new Set([...unformattedScripts, ...unformattedGo])].map((file) =>
  relative(repo, resolve(repo, file)),
);
if (unformatted.length > 0) {
  console.error(`These files are not formatted (width 120, see biome.json; Go by gofmt):`);
  for (const file of unformatted) console.error(`  ${file}`);
  console.error("Run `npm run format` to format them.");
  process.exit(1);
}
console.log("Every TypeScript, JavaScript, JSON, CSS and Go file is formatted.");
