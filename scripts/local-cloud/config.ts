// The local cloud's configuration: the process contract's environment, or options given by a test.

export interface LocalCloudOptions {
  /** 0 picks a free port. */
  port: number;
  /** Working directory; wiped and recreated at start. */
  dir: string;
  hetznerToken: string;
  githubLogin: string;
  appUrl: string;
  baseDomain: string;
  githubClientId: string;
  githubClientSecret: string;
  githubAppId: string;
  githubAppSlug: string;
  /** PKCS#1 or PKCS#8 PEM; its public half verifies App JWTs. */
  githubAppPrivateKey: string;
  githubWebhookSecret: string;
  cloudflareApiToken: string;
  cloudflareZoneId: string;
  /** Permissions of `cloudflareApiToken`; "*" or absent means all (see docs/local-cloud.md). */
  cloudflareTokenPermissions?: string[];
  bootDelayMs: number;
  /**
   * The Cloudflare port the cloud's own port stands for at the edge, i.e. the port the edge connects to on the
   * origin (default 8443, the port SAM's workspace URLs name; see docs/local-cloud.md).
   */
  edgePort?: number;
  log: (line: string) => void;
}

const required = [
  "LOCAL_CLOUD_DIR",
  "LOCAL_HETZNER_TOKEN",
  "APP_URL",
  "BASE_DOMAIN",
  "GITHUB_CLIENT_ID",
  "GITHUB_CLIENT_SECRET",
  "GITHUB_APP_ID",
  "GITHUB_APP_SLUG",
  "GITHUB_APP_PRIVATE_KEY",
  "GITHUB_WEBHOOK_SECRET",
  "CLOUDFLARE_API_TOKEN",
  "CLOUDFLARE_ZONE_ID",
] as const;

export function optionsFromEnv(env: NodeJS.ProcessEnv): LocalCloudOptions {
  const missing = required.filter((name) => !env[name]);
  if (missing.length) throw new Error(`local cloud: missing environment ${missing.join(", ")}`);
  const port = Number(env.LOCAL_CLOUD_PORT ?? "8790");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`local cloud: LOCAL_CLOUD_PORT "${env.LOCAL_CLOUD_PORT}" is not a port`);
  const bootDelayMs = Number(env.LOCAL_CLOUD_BOOT_DELAY_MS ?? "0");
  if (!Number.isFinite(bootDelayMs) || bootDelayMs < 0)
    throw new Error("local cloud: LOCAL_CLOUD_BOOT_DELAY_MS must be a number of milliseconds");
  const edgePort = Number(env.LOCAL_CLOUD_EDGE_PORT ?? "8443");
  if (!Number.isInteger(edgePort) || edgePort < 1 || edgePort > 65535)
    throw new Error(`local cloud: LOCAL_CLOUD_EDGE_PORT "${env.LOCAL_CLOUD_EDGE_PORT}" is not a port`);
  const permissions = env.LOCAL_CLOUDFLARE_TOKEN_PERMISSIONS?.split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  return {
    port,
    dir: env.LOCAL_CLOUD_DIR!,
    hetznerToken: env.LOCAL_HETZNER_TOKEN!,
    githubLogin: env.LOCAL_GITHUB_LOGIN || "sam-dev",
    appUrl: env.APP_URL!.replace(/\/+$/, ""),
    baseDomain: env.BASE_DOMAIN!,
    githubClientId: env.GITHUB_CLIENT_ID!,
    githubClientSecret: env.GITHUB_CLIENT_SECRET!,
    githubAppId: env.GITHUB_APP_ID!,
    githubAppSlug: env.GITHUB_APP_SLUG!,
    // .dev.vars and CI secrets often carry the PEM with literal "\n".
    githubAppPrivateKey: env.GITHUB_APP_PRIVATE_KEY!.replace(/\\n/g, "\n"),
    githubWebhookSecret: env.GITHUB_WEBHOOK_SECRET!,
    cloudflareApiToken: env.CLOUDFLARE_API_TOKEN!,
    cloudflareZoneId: env.CLOUDFLARE_ZONE_ID!,
    cloudflareTokenPermissions: permissions?.length ? permissions : undefined,
    bootDelayMs,
    edgePort,
    log: (line) => console.log(line),
  };
}
