// `npm run setup`: everything a deployment needs on Cloudflare, made or found, and written into the
// wrangler configs and the secrets file. Every step is idempotent: a second run finds everything and
// changes nothing. scripts/setup.ts is the command line around this; tests run it against the local cloud.
import { existsSync, readFileSync } from "node:fs";
import { cloudflare, type CloudflareClient, type CloudflareZone } from "../../app/providers/cloudflare.server";
import { ProviderError } from "../../app/providers/http.server";
import { githubAppInstructions } from "./github-app";
import { PERMISSIONS, probePermissions, withPermission } from "./permissions";
import type { Runner } from "./runner";
import { ensureSecrets, pick, putSecrets } from "./secrets";
import {
  CLOUDFLARE_API_URL,
  DEFAULT_RESOURCES,
  GITHUB_APP_SECRETS,
  GITHUB_APP_VARS,
  type Paths,
  type ResourceNames,
} from "./settings";
import { updateWranglerFile, type Location } from "./wrangler-config";

export interface SetupInputs {
  cloudflareApiToken: string;
  /** Optional: the zone's account is used when absent. */
  cloudflareAccountId?: string;
  baseDomain: string;
  /** Default `app.<baseDomain>`. */
  appHostname?: string;
  /** Any of the GitHub App's values known so far; the rest can be given on a later run. */
  github?: Partial<Record<(typeof GITHUB_APP_VARS)[number] | (typeof GITHUB_APP_SECRETS)[number], string>>;
  allowedGithubLogins?: string;
  adminGithubLogins?: string;
  /** The npm registry the VMs download Node.js, npm and the CLIs from (the operator's `npm config get registry`). */
  toolsRegistryUrl?: string;
}

export interface SetupOptions {
  inputs: SetupInputs;
  paths: Paths;
  runner: Runner;
  cloudflareApiUrl?: string;
  fetch?: typeof fetch;
  resources?: Partial<ResourceNames>;
  log?: (line: string) => void;
}

export type StepStatus = "created" | "found" | "updated" | "unchanged" | "pending";

export interface SetupStep {
  what: string;
  status: StepStatus;
  detail?: string;
}

export interface SetupReport {
  steps: SetupStep[];
  accountId: string;
  zone: { id: string; name: string };
  appHost: string;
  /** What the operator still has to do by hand. */
  nextSteps: string[];
  githubApp: string;
}

export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SetupError";
  }
}

const DNS_COMMENT = (project: string) => `sam: Pages project ${project}`;

export async function runSetup(options: SetupOptions): Promise<SetupReport> {
  const log = options.log ?? (() => {});
  const names: ResourceNames = { ...DEFAULT_RESOURCES, ...options.resources };
  const inputs = normalizeInputs(options.inputs);
  const appHost = inputs.appHostname!;
  const cf = cloudflare({
    baseUrl: options.cloudflareApiUrl ?? CLOUDFLARE_API_URL,
    token: inputs.cloudflareApiToken,
    fetch: options.fetch,
  });
  const steps: SetupStep[] = [];
  const step = (what: string, status: StepStatus, detail?: string) => {
    steps.push({ what, status, detail });
    log(`${status.padEnd(9)} ${what}${detail ? `: ${detail}` : ""}`);
  };

  const userRefusal = await verifyToken(cf);
  const zone = await findZone(cf, inputs.baseDomain, userRefusal);
  if (zone.name !== inputs.baseDomain) throw new SetupError(belowApexMessage(inputs.baseDomain, zone.name));
  if (appHost !== zone.name && !appHost.endsWith(`.${zone.name}`))
    throw new SetupError(
      `APP_HOSTNAME ${appHost} is not in the zone ${zone.name}, where setup makes its DNS record: choose a name under ${zone.name}.`,
    );
  const accountId = inputs.cloudflareAccountId ?? zone.account.id;
  if (userRefusal) await verifyAccountToken(cf, accountId);
  log(`Cloudflare token (${userRefusal ? "account-owned" : "user"}) is valid and active`);
  log(`zone ${zone.name} (${zone.id}) in account ${accountId}`);
  await probePermissions(cf, { accountId, zoneId: zone.id, appHost });
  log("the token has every permission setup needs");

  const d1 = await ensure(
    () =>
      withPermission("d1", () => cf.listD1Databases(accountId)).then((all) =>
        all.find((db) => db.name === names.d1Database),
      ),
    () => withPermission("d1", () => cf.createD1Database(accountId, names.d1Database)),
  );
  step(`D1 database ${names.d1Database}`, d1.status, d1.resource.uuid);
  const kv = await ensure(
    () =>
      withPermission("kv", () => cf.listKvNamespaces(accountId)).then((all) =>
        all.find((ns) => ns.title === names.kvNamespace),
      ),
    () => withPermission("kv", () => cf.createKvNamespace(accountId, names.kvNamespace)),
  );
  step(`KV namespace ${names.kvNamespace}`, kv.status, kv.resource.id);
  const r2 = await ensure(
    () =>
      withPermission("r2", () => cf.listR2Buckets(accountId)).then((all) =>
        all.find((bucket) => bucket.name === names.r2Bucket),
      ),
    () => withPermission("r2", () => cf.createR2Bucket(accountId, names.r2Bucket)),
  );
  step(`R2 bucket ${names.r2Bucket}`, r2.status);
  const pages = await ensure(
    () =>
      withPermission("pages", () => cf.listPagesProjects(accountId)).then((all) =>
        all.find((project) => project.name === names.pagesProject),
      ),
    () =>
      withPermission("pages", () =>
        cf.createPagesProject(accountId, { name: names.pagesProject, productionBranch: names.productionBranch }),
      ),
  );
  // A taken *.pages.dev name gets a suffix from Cloudflare: the subdomain it answers with is the one to use.
  const pagesHost = pages.resource.subdomain ?? `${names.pagesProject}.pages.dev`;
  step(`Pages project ${names.pagesProject}`, pages.status, pagesHost);

  const vars: Record<string, string> = {
    APP_URL: `https://${appHost}`,
    BASE_DOMAIN: inputs.baseDomain,
    CLOUDFLARE_ZONE_ID: zone.id,
    ...pick(inputs.github ?? {}, GITHUB_APP_VARS),
    ...(inputs.allowedGithubLogins !== undefined ? { ALLOWED_GITHUB_LOGINS: inputs.allowedGithubLogins } : {}),
    ...(inputs.adminGithubLogins !== undefined ? { ADMIN_GITHUB_LOGINS: inputs.adminGithubLogins } : {}),
    ...(inputs.toolsRegistryUrl ? { TOOLS_REGISTRY_URL: inputs.toolsRegistryUrl.replace(/\/+$/, "") } : {}),
  };
  const bindings: Array<[Location, string]> = [
    [{ table: "d1_databases", binding: "DB", key: "database_name" }, names.d1Database],
    [{ table: "d1_databases", binding: "DB", key: "database_id" }, d1.resource.uuid],
    [{ table: "kv_namespaces", binding: "SESSIONS", key: "id" }, kv.resource.id],
    [{ table: "r2_buckets", binding: "AGENTS", key: "bucket_name" }, names.r2Bucket],
    ...Object.entries(vars).map(([key, value]): [Location, string] => [{ table: "vars", key }, value]),
  ];
  for (const [label, path, values] of [
    [
      "wrangler.toml",
      options.paths.wranglerToml,
      [[{ table: "", key: "name" }, names.pagesProject] as [Location, string], ...bindings],
    ],
    [
      "scripts/scheduler.wrangler.toml",
      options.paths.schedulerToml,
      [[{ table: "", key: "name" }, names.schedulerWorker] as [Location, string], ...bindings],
    ],
  ] as const) {
    const changed = updateWranglerFile(path, [...values]);
    step(label, changed.length ? "updated" : "unchanged", changed.length ? changed.join(", ") : undefined);
  }

  const secrets = ensureSecrets(options.paths.secretsFile, { ...inputs, cloudflareAccountId: accountId });
  step(".sam/secrets.env", secrets.status, secrets.detail);

  const sent = await putSecrets(options.runner, options.paths, secrets.values, names);
  step("Pages and scheduler secrets", sent.length ? "updated" : "unchanged", sent.length ? sent.join(", ") : undefined);

  const record = await ensureAppRecord(cf, zone.id, appHost, pagesHost, names.pagesProject);
  step(`DNS record ${appHost}`, record.status, `CNAME → ${pagesHost}, proxied`);

  const missingGithub = [...GITHUB_APP_VARS, ...GITHUB_APP_SECRETS].filter(
    (name) => !(name in vars) && !secrets.values[name],
  );
  if (missingGithub.length) step("GitHub App", "pending", `still needed: ${missingGithub.join(", ")}`);

  const nextSteps = [
    `In the Cloudflare dashboard, add ${appHost} as a custom domain of the Pages project ${names.pagesProject} (Workers & Pages → ${names.pagesProject} → Custom domains); the DNS record is already in place.`,
    `Set SSL/TLS encryption mode of ${zone.name} to Full (strict).`,
    ...(missingGithub.length
      ? ["Register the GitHub App with the settings below, then run `npm run setup` again with its values."]
      : []),
    "Commit wrangler.toml and scripts/scheduler.wrangler.toml (ids only, nothing secret); keep .sam/secrets.env safe and out of git.",
    "Deploy with `npm run deploy`.",
    // Setup keeps the app in the BASE_DOMAIN zone, so its workspaces are same-site with it; say what that means.
    `Recommended: workspaces (ws-<id>.${zone.name}) are same-site with ${appHost}, and whoever owns one is root on it. SAM's cookies are __Host- prefixed, which workspace hosts cannot set; for defence in depth give workspaces a domain of their own (its own zone) as docs/self-hosting.md "Workspaces on a domain of their own" describes, and consider an allow-list.`,
  ];
  return {
    steps,
    accountId,
    zone: { id: zone.id, name: zone.name },
    appHost,
    nextSteps,
    githubApp: githubAppInstructions(appHost),
  };
}

function normalizeInputs(inputs: SetupInputs): SetupInputs {
  const missing = [
    ["CLOUDFLARE_API_TOKEN", inputs.cloudflareApiToken],
    ["BASE_DOMAIN", inputs.baseDomain],
  ]
    .filter(([, value]) => !value?.trim())
    .map(([name]) => name);
  if (missing.length)
    throw new SetupError(
      `Missing ${missing.join(" and ")}: set ${missing.length > 1 ? "them" : "it"} in the environment or answer the prompt.`,
    );
  const baseDomain = inputs.baseDomain.trim().toLowerCase().replace(/\.$/, "");
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(baseDomain))
    throw new SetupError(`BASE_DOMAIN "${inputs.baseDomain}" is not a domain name such as example.com.`);
  const appHostname = (inputs.appHostname?.trim() || `app.${baseDomain}`).toLowerCase();
  const github = { ...inputs.github };
  const key = github.GITHUB_APP_PRIVATE_KEY?.trim();
  // The key may be given as the path of the .pem file GitHub downloads.
  if (key && !key.startsWith("-----BEGIN") && existsSync(key))
    github.GITHUB_APP_PRIVATE_KEY = readFileSync(key, "utf8").trim();
  return { ...inputs, cloudflareApiToken: inputs.cloudflareApiToken.trim(), baseDomain, appHostname, github };
}

const rejected = (error: ProviderError) =>
  new SetupError(
    `Cloudflare rejected the API token (${error.message}). Create a token as docs/self-hosting.md describes and use its value.`,
  );

function checkActive(token: { status: string }): void {
  if (token.status !== "active")
    throw new SetupError(`The Cloudflare API token is ${token.status}: make a new one (docs/self-hosting.md).`);
}

/**
 * Verifies a user API token; returns Cloudflare's refusal when it calls the token invalid there, as it does
 * for an account-owned token (checked at its account once the zone names the account: verifyAccountToken).
 */
async function verifyToken(cf: CloudflareClient): Promise<ProviderError | null> {
  try {
    checkActive(await cf.verifyToken());
    return null;
  } catch (error) {
    if (error instanceof ProviderError && error.status >= 400 && error.status < 500) return error;
    if (error instanceof SetupError) throw error;
    throw new SetupError(`Could not reach the Cloudflare API to verify the token: ${(error as Error).message}`);
  }
}

async function verifyAccountToken(cf: CloudflareClient, accountId: string): Promise<void> {
  try {
    checkActive(await cf.verifyAccountToken(accountId));
  } catch (error) {
    if (error instanceof ProviderError && error.status >= 400 && error.status < 500) throw rejected(error);
    throw error;
  }
}

/**
 * Workspaces are ws-<id>.<BASE_DOMAIN>, proxied by Cloudflare. The free Universal SSL certificate covers the
 * zone apex and one level below it (*.example.com), so BASE_DOMAIN must be the zone itself.
 */
function belowApexMessage(baseDomain: string, zoneName: string): string {
  return (
    `BASE_DOMAIN ${baseDomain} is below the zone ${zoneName}: workspace names such as ws-<id>.${baseDomain} would be two levels below it, ` +
    `and Cloudflare's Universal SSL certificate covers only one level (*.${zoneName}), so browsers would get no certificate. ` +
    `Use BASE_DOMAIN=${zoneName} (the app itself can still live at APP_HOSTNAME, e.g. ${baseDomain}), ` +
    `or add ${baseDomain} to Cloudflare as a zone of its own.`
  );
}

/** The zone of the domain, or of its nearest parent (so a BASE_DOMAIN below its zone can be explained). */
async function findZone(
  cf: CloudflareClient,
  domain: string,
  userRefusal: ProviderError | null,
): Promise<CloudflareZone> {
  const labels = domain.split(".");
  for (let at = 0; at < labels.length - 1; at++) {
    const name = labels.slice(at).join(".");
    let zones: CloudflareZone[];
    try {
      zones = await cf.listZones({ name });
    } catch (error) {
      // Not even a zone listing: the token is no token of this account (or has no zone access at all).
      if (error instanceof ProviderError && error.status >= 400 && error.status < 500)
        throw rejected(userRefusal ?? error);
      throw error;
    }
    const [zone] = zones.filter((candidate) => candidate.name === name);
    if (zone) return zone;
  }
  throw new SetupError(
    `No Cloudflare zone for ${domain} is visible to this token. Add the domain to Cloudflare, and include its zone in the token's Zone Resources (${PERMISSIONS.dns}; ${PERMISSIONS.ssl}).`,
  );
}

async function ensure<T>(
  find: () => Promise<T | undefined>,
  create: () => Promise<T>,
): Promise<{ resource: T; status: "created" | "found" }> {
  const existing = await find();
  if (existing) return { resource: existing, status: "found" };
  return { resource: await create(), status: "created" };
}

async function ensureAppRecord(
  cf: CloudflareClient,
  zoneId: string,
  appHost: string,
  target: string,
  project: string,
): Promise<{ status: StepStatus }> {
  const existing = await withPermission("dns", () => cf.listDnsRecords(zoneId, { name: appHost }));
  const wanted = {
    type: "CNAME" as const,
    name: appHost,
    content: target,
    proxied: true,
    comment: DNS_COMMENT(project),
  };
  const same = existing.find((record) => record.type === "CNAME" && record.content === target && record.proxied);
  if (same) return { status: "found" };
  const ours = existing.find((record) => record.comment === DNS_COMMENT(project));
  if (ours) {
    await withPermission("dns", () => cf.patchDnsRecord(zoneId, ours.id, wanted));
    return { status: "updated" };
  }
  if (existing.length) {
    const other = existing[0]!;
    throw new SetupError(
      `${appHost} already has a DNS record setup did not make (${other.type} → ${other.content}). Delete it in the Cloudflare dashboard, or choose another APP_HOSTNAME.`,
    );
  }
  await withPermission("dns", () => cf.createDnsRecord(zoneId, wanted));
  return { status: "created" };
}

export function formatReport(report: SetupReport): string {
  const width = Math.max(...report.steps.map((step) => step.what.length));
  const lines = report.steps.map(
    (step) => `  ${step.status.padEnd(9)} ${step.what.padEnd(width)}${step.detail ? `  ${step.detail}` : ""}`,
  );
  const counts = (["created", "found", "updated", "unchanged", "pending"] as const)
    .map((status) => [status, report.steps.filter((step) => step.status === status).length] as const)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${status}`)
    .join(", ");
  return [
    `Summary (${counts}):`,
    ...lines,
    "",
    report.githubApp,
    "",
    "Next:",
    ...report.nextSteps.map((line, index) => `  ${index + 1}. ${line}`),
  ].join("\n");
}
