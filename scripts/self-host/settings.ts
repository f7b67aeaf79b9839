// What a self-hosted deployment is made of: resource names, where the operator's files live, and which
// configuration values are secrets. Shared by setup, deploy and teardown.
import { join } from "node:path";
import { configSchema, type Config } from "../../app/platform/config.server";

export type ConfigName = keyof Config;

/** Values set with `wrangler pages secret put` / `wrangler secret put` (README "Configuration"). */
export const SECRET_NAMES = [
  "CLOUDFLARE_API_TOKEN",
  "GITHUB_CLIENT_SECRET",
  "GITHUB_APP_PRIVATE_KEY",
  "GITHUB_WEBHOOK_SECRET",
  "ENCRYPTION_KEY",
  "ENCRYPTION_KEY_PREVIOUS",
  "SESSION_SECRET",
  "JWT_PRIVATE_KEY",
  "JWT_PUBLIC_KEY",
  "JWT_KEY_ID",
  "JWT_PREVIOUS_PUBLIC_KEY",
  "JWT_PREVIOUS_KEY_ID",
  "VAPID_PUBLIC_KEY",
  "VAPID_PRIVATE_KEY",
] as const satisfies readonly ConfigName[];

/** Values kept in `[vars]` of both wrangler configs (nothing secret: the files are committed). */
export const VAR_NAMES = [
  "VERSION",
  "APP_URL",
  "BASE_DOMAIN",
  "WORKSPACE_URL_TEMPLATE",
  "HETZNER_API_URL",
  "CLOUDFLARE_API_URL",
  "GITHUB_URL",
  "GITHUB_API_URL",
  "GITHUB_CLIENT_ID",
  "GITHUB_APP_ID",
  "GITHUB_APP_SLUG",
  "CLOUDFLARE_ZONE_ID",
  "ALLOWED_GITHUB_LOGINS",
  "ADMIN_GITHUB_LOGINS",
  "TOOLS_REGISTRY_URL",
  "NODE_URL_AMD64",
  "NODE_SHA256_AMD64",
  "NODE_URL_ARM64",
  "NODE_SHA256_ARM64",
  "NPM_URL",
  "NPM_SHA256",
  "VAPID_SUBJECT",
  "PERMISSION_NOTIFY_DELAY_SECONDS",
] as const satisfies readonly ConfigName[];

export type SecretName = (typeof SECRET_NAMES)[number];
export type VarName = (typeof VAR_NAMES)[number];

/** Every name the app's schema reads, for consistency checks. */
export const CONFIG_NAMES = Object.keys(configSchema.shape) as ConfigName[];

/** Optional values: present only during a key rotation or when an allow-list is wanted. */
export const OPTIONAL_NAMES = new Set<ConfigName>(
  CONFIG_NAMES.filter((name) => configSchema.shape[name].safeParse(undefined).success),
);

export const GITHUB_APP_VARS = ["GITHUB_CLIENT_ID", "GITHUB_APP_ID", "GITHUB_APP_SLUG"] as const;
export const GITHUB_APP_SECRETS = ["GITHUB_CLIENT_SECRET", "GITHUB_APP_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET"] as const;

/** Names of what setup creates; the bindings are those in wrangler.toml. */
export interface ResourceNames {
  pagesProject: string;
  schedulerWorker: string;
  d1Database: string;
  kvNamespace: string;
  r2Bucket: string;
  productionBranch: string;
}

export const DEFAULT_RESOURCES: ResourceNames = {
  pagesProject: "sam",
  schedulerWorker: "sam-scheduler",
  d1Database: "sam",
  kvNamespace: "sam-sessions",
  r2Bucket: "sam-agents",
  productionBranch: "main",
};

/** The ids in the committed wrangler.toml before setup has run (local development ignores them). */
export const PLACEHOLDER_IDS = { d1: "00000000-0000-0000-0000-000000000000", kv: "00000000000000000000000000000000" };

/** Where the operator's files are; tests point these at a temporary copy. */
export interface Paths {
  root: string;
  wranglerToml: string;
  schedulerToml: string;
  /** Generated keys and secrets entered during setup (git-ignored, mode 0600). */
  secretsFile: string;
  /** Fingerprints of the secrets already sent to Cloudflare, so a second run sends nothing. */
  stateFile: string;
}

export function defaultPaths(root: string): Paths {
  return {
    root,
    wranglerToml: join(root, "wrangler.toml"),
    schedulerToml: join(root, "scripts", "scheduler.wrangler.toml"),
    secretsFile: join(root, ".sam", "secrets.env"),
    stateFile: join(root, ".sam", "state.json"),
  };
}

/** The Cloudflare API base setup and teardown talk to; tests point it at the local cloud. */
export const CLOUDFLARE_API_URL = "https://api.cloudflare.com/client/v4";

export function appHostFrom(appUrl: string): string {
  return new URL(appUrl).hostname;
}

/** Agent binaries built by `make -C agent build-all` (agent/Makefile PLATFORMS), plus version.json. */
export const AGENT_PLATFORMS = ["linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64"] as const;
export const AGENT_OBJECTS = [...AGENT_PLATFORMS.map((platform) => `vm-agent-${platform}`), "version.json"];
