import { z } from "zod";
import { PINNED_SHA256, pinnedToolUrls } from "../workspaces/tools";
import { AGENT_PORT, workspaceUrlTemplateProblem } from "../workspaces/url";

/**
 * Every configuration value the control plane reads, validated once per isolate.
 * Non-secret values live in wrangler.toml `[vars]`; secrets are set with
 * `wrangler pages secret put` (production) or in `.dev.vars` (local, written by `npm start`).
 */

const url = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .transform((value) => value.replace(/\/+$/, ""));
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a SHA-256 in lowercase hex");
const pem = (kind: string) =>
  z
    .string()
    .transform((value) => value.replace(/\\n/g, "\n").trim())
    .refine((value) => value.startsWith("-----BEGIN") && value.includes(kind), `must be a ${kind} PEM`);
const loginList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? "")
      .split(",")
      .map((login) => login.trim().toLowerCase())
      .filter(Boolean),
  );

/** Local development serves plain http from this machine; anywhere else cookies and tokens need https. */
function isLoopback(value: string): boolean {
  const { hostname } = new URL(value);
  return ["localhost", "127.0.0.1", "[::1]"].includes(hostname) || hostname.endsWith(".localhost");
}

export const configSchema = z.object({
  VERSION: z.string().min(1),
  APP_URL: url.refine(
    (value) => value.startsWith("https://") || isLoopback(value),
    "must be an https:// URL (plain http is for local development on localhost only)",
  ),
  BASE_DOMAIN: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
      "must be a bare domain name such as example.com",
    ),
  ENCRYPTION_KEY: z
    .string()
    .refine(
      (value) => /^[A-Za-z0-9+/]{43}=$/.test(value),
      "must be 32 random bytes in base64 (run `npm run generate-keys`)",
    ),
  ENCRYPTION_KEY_PREVIOUS: z
    .string()
    .refine((value) => /^[A-Za-z0-9+/]{43}=$/.test(value), "must be 32 random bytes in base64")
    .optional(),
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters (run `npm run generate-keys`)"),
  JWT_PRIVATE_KEY: pem("PRIVATE KEY"),
  JWT_PUBLIC_KEY: pem("PUBLIC KEY"),
  JWT_KEY_ID: z.string().min(1),
  JWT_PREVIOUS_PUBLIC_KEY: pem("PUBLIC KEY").optional(),
  JWT_PREVIOUS_KEY_ID: z.string().min(1).optional(),
  // Checked against BASE_DOMAIN in parseConfig: the URL, the agent's port and the firewall must agree.
  WORKSPACE_URL_TEMPLATE: z.string().default(`https://ws-{id}.{BASE_DOMAIN}:${AGENT_PORT}`),
  HETZNER_API_URL: url,
  CLOUDFLARE_API_URL: url,
  GITHUB_URL: url,
  GITHUB_API_URL: url,
  GITHUB_CLIENT_ID: z.string().min(1),
  GITHUB_CLIENT_SECRET: z.string().min(1),
  GITHUB_APP_ID: z.string().regex(/^\d+$/, "must be the numeric App ID"),
  GITHUB_APP_SLUG: z.string().regex(/^[a-z0-9-]+$/, "must be the App's URL name"),
  GITHUB_APP_PRIVATE_KEY: z.string().min(1),
  GITHUB_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters"),
  CLOUDFLARE_API_TOKEN: z.string().min(1),
  CLOUDFLARE_ZONE_ID: z.string().regex(/^[0-9a-f]{32}$/, "must be the 32-character zone id"),
  ALLOWED_GITHUB_LOGINS: loginList,
  ADMIN_GITHUB_LOGINS: loginList,
  // Node.js and npm for the coding-agent CLIs, which cloud-init installs under /opt/sam and checks against
  // these SHA-256s. The pinned archives (tools.ts) come from the npm registry at TOOLS_REGISTRY_URL; each
  // URL can be overridden to point at a copy, with its SHA-256.
  TOOLS_REGISTRY_URL: url,
  NODE_URL_AMD64: url.optional(),
  NODE_SHA256_AMD64: sha256.default(PINNED_SHA256.node.amd64),
  NODE_URL_ARM64: url.optional(),
  NODE_SHA256_ARM64: sha256.default(PINNED_SHA256.node.arm64),
  NPM_URL: url.optional(),
  NPM_SHA256: sha256.default(PINNED_SHA256.npm),
  // How long a coding agent's permission request waits with nobody watching before the owner is notified.
  PERMISSION_NOTIFY_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  // Web Push (RFC 8292): without the key pair, notifications stay in the app and none is pushed.
  VAPID_PUBLIC_KEY: z
    .string()
    .regex(/^B[A-Za-z0-9_-]{86}$/, "must be an uncompressed P-256 public key in base64url (87 characters)")
    .optional(),
  VAPID_PRIVATE_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, "must be a P-256 private key in base64url (43 characters)")
    .optional(),
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)\S+$/, "must be a mailto: or https:// contact for push services' operators")
    .optional(),
});

type DerivedUrls = "NODE_URL_AMD64" | "NODE_URL_ARM64" | "NPM_URL";
export type Config = Omit<z.infer<typeof configSchema>, DerivedUrls> & Record<DerivedUrls, string>;

/** How to set each value, shown when it is missing or malformed. */
const hints: Partial<Record<keyof Config, string>> = {
  ENCRYPTION_KEY: "run `npm run generate-keys -- --env` and set it as a secret",
  SESSION_SECRET: "run `npm run generate-keys -- --env` and set it as a secret",
  JWT_PRIVATE_KEY: "run `npm run generate-keys -- --env` and set it as a secret",
  JWT_PUBLIC_KEY: "run `npm run generate-keys -- --env` and set it as a secret",
  JWT_KEY_ID: "run `npm run generate-keys -- --env` and set it as a secret",
  GITHUB_CLIENT_ID: "copy the Client ID from your GitHub App's settings page (docs/self-hosting.md)",
  GITHUB_CLIENT_SECRET: "generate a client secret in your GitHub App and set it as a secret",
  GITHUB_APP_ID: "copy it from your GitHub App's settings page",
  GITHUB_APP_SLUG: "the last part of your GitHub App's public URL",
  GITHUB_APP_PRIVATE_KEY: "generate a private key in your GitHub App and set it as a secret",
  GITHUB_WEBHOOK_SECRET: "the webhook secret you entered in your GitHub App",
  CLOUDFLARE_API_TOKEN:
    "create a Cloudflare API token with the permissions docs/self-hosting.md lists (Zone · DNS · Edit and Zone · SSL and Certificates · Edit at least)",
  CLOUDFLARE_ZONE_ID: "copy it from the Overview page of your zone in the Cloudflare dashboard",
  TOOLS_REGISTRY_URL:
    "the npm registry VMs download Node.js, npm and the coding-agent CLIs from: `npm config get registry` (npm run setup writes it)",
  NODE_URL_AMD64:
    "leave it unset for the pinned Node.js from the npm registry, or point it at a copy (docs/self-hosting.md)",
  NODE_SHA256_AMD64: "the SHA-256 of the archive at NODE_URL_AMD64 (sha256sum), or unset for the pinned one",
  NODE_URL_ARM64: "leave it unset for the pinned Node.js from the npm registry, or point it at a copy",
  NODE_SHA256_ARM64: "the SHA-256 of the archive at NODE_URL_ARM64 (sha256sum), or unset for the pinned one",
  NPM_URL: "leave it unset for the pinned npm from the npm registry, or point it at a copy",
  NPM_SHA256: "the SHA-256 of the archive at NPM_URL (sha256sum), or unset for the pinned one",
  VAPID_PUBLIC_KEY: "run `npm run generate-keys -- --env` and set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY",
  VAPID_PRIVATE_KEY: "run `npm run generate-keys -- --env` and set it as a secret",
  VAPID_SUBJECT: "a contact for push services, e.g. mailto:you@example.com",
  WORKSPACE_URL_TEMPLATE: "leave it unset for the default https://ws-{id}.{BASE_DOMAIN}:8443 (docs/self-hosting.md)",
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Configuration is invalid:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseConfig(env: Record<string, unknown>): Config {
  const result = configSchema.safeParse(env);
  if (result.success) {
    const { WORKSPACE_URL_TEMPLATE: template, BASE_DOMAIN: baseDomain } = result.data;
    const problem = workspaceUrlTemplateProblem(template, baseDomain);
    if (problem) throw new ConfigError([`WORKSPACE_URL_TEMPLATE ${problem}: ${hints.WORKSPACE_URL_TEMPLATE}.`]);
    if (!result.data.VAPID_PUBLIC_KEY !== !result.data.VAPID_PRIVATE_KEY)
      throw new ConfigError([
        `VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together: set both or neither (${hints.VAPID_PUBLIC_KEY}).`,
      ]);
    const pinned = pinnedToolUrls(result.data.TOOLS_REGISTRY_URL);
    return {
      ...result.data,
      NODE_URL_AMD64: result.data.NODE_URL_AMD64 ?? pinned.node.amd64,
      NODE_URL_ARM64: result.data.NODE_URL_ARM64 ?? pinned.node.arm64,
      NPM_URL: result.data.NPM_URL ?? pinned.npm,
    };
  }
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "config") as keyof Config;
    const hint = hints[name] ?? "set it in wrangler.toml [vars] or as a secret (see README)";
    const what = env[name] === undefined || env[name] === "" ? "is missing" : issue.message;
    return `${name} ${what}: ${hint}.`;
  });
  throw new ConfigError(problems);
}

const cache = new WeakMap<object, Config>();

/** Parses the Worker env once per isolate; a bad value fails every request with the same message. */
export function getConfig(env: object): Config {
  let config = cache.get(env);
  if (!config) {
    config = parseConfig(env as Record<string, unknown>);
    cache.set(env, config);
  }
  return config;
}
