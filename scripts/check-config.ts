// Validates the configuration the app will run with, before anything starts: wrangler.toml [vars]
// overlaid with the local values (SAM_CONFIG_JSON), through the app's own schema.
import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { ConfigError, parseConfig } from "../app/platform/config.server";

const wrangler = parse(readFileSync("wrangler.toml", "utf8")) as { vars?: Record<string, string> };
const local = JSON.parse(process.env.SAM_CONFIG_JSON ?? "{}") as Record<string, string>;
try {
  parseConfig({ ...wrangler.vars, ...local });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(
    `${error.message}\n\nLocal values come from .dev.vars (delete it to have \`npm start\` write a fresh one).`,
  );
  process.exit(1);
}
