#!/usr/bin/env node
// Builds the Pages output: `remix vite:build`, then bundles app/entry.worker.ts into build/client/_worker.js.
import { execFileSync } from "node:child_process";
import { build } from "esbuild";

execFileSync("npx", ["remix", "vite:build"], { stdio: "inherit" });
await build({
  entryPoints: ["app/entry.worker.ts"],
  outfile: "build/client/_worker.js",
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  mainFields: ["browser", "module", "main"],
  conditions: ["workerd", "worker", "browser"],
  external: ["cloudflare:*", "node:*"],
  alias: { "sam-server-build": "./build/server/index.js" },
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});
console.log("built build/client/_worker.js");
