#!/usr/bin/env node
// npm run generate-keys          → the keys, with where each goes
// npm run generate-keys -- --env → dotenv lines only (append to .dev.vars, or pipe into a secret store)
import { dotenvLine, generateKeys } from "./keys.mjs";

const keys = generateKeys();
if (process.argv.includes("--env")) {
  for (const [name, value] of Object.entries(keys)) console.log(dotenvLine(name, value));
} else {
  console.log("New keys for a SAM instance. Set each as a secret (wrangler pages secret put NAME), or put the");
  console.log("`--env` form of this output in .dev.vars for local development. Keep them out of git.\n");
  for (const [name, value] of Object.entries(keys)) console.log(`${name}:\n${value.trim()}\n`);
  console.log("To rotate the signing key, move the old JWT_PUBLIC_KEY and JWT_KEY_ID to JWT_PREVIOUS_PUBLIC_KEY and");
  console.log("JWT_PREVIOUS_KEY_ID, so tokens signed before the switch still verify; see docs/self-hosting.md.");
}
