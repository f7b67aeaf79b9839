// `npm run deploy` (and deploy:app, deploy:agent): validate the whole configuration first, then run the
// wrangler/make/node commands in order, then wait until the app answers /api/health with the new version.
// scripts/deploy.ts is the command line around this; tests run it with a recorder instead of wrangler.
import { ConfigError, parseConfig, type Config } from "../../app/platform/config.server";
import { putSecrets } from "./secrets";
import type { Command, Runner } from "./runner";
import { readSecretsFile } from "./secrets-file";
import {
  AGENT_OBJECTS,
  CONFIG_NAMES,
  DEFAULT_RESOURCES,
  PLACEHOLDER_IDS,
  SECRET_NAMES,
  VAR_NAMES,
  type Paths,
  type ResourceNames,
} from "./settings";
import { readWranglerConfig, type WranglerConfig } from "./wrangler-config";

export type DeployTarget = "all" | "app" | "agent";

export class DeployConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Nothing was deployed: the configuration is incomplete.\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.name = "DeployConfigError";
  }
}

export interface DeployInputs {
  config: Config;
  /** Every secret value, to send to the Pages project and the scheduler Worker. */
  secrets: Record<string, string>;
  accountId: string;
  names: ResourceNames;
}

const value = (raw: unknown) => (typeof raw === "string" && raw.trim() !== "" ? raw : undefined);

/**
 * Reads wrangler.toml [vars] and the secrets (environment, e.g. GitHub Actions, else .sam/secrets.env) and
 * checks everything before any command runs. Every problem is named at once.
 */
export function validateDeploy(paths: Paths, env: Record<string, string | undefined>): DeployInputs {
  const problems: string[] = [];
  const pages = readWranglerConfig(paths.wranglerToml);
  const scheduler = readWranglerConfig(paths.schedulerToml);
  const file = readSecretsFile(paths.secretsFile);
  const merged: Record<string, string> = {};
  // Values come from where the deployed app will read them: [vars] from wrangler.toml only (what
  // `wrangler pages deploy` uploads), secrets from the environment or else .sam/secrets.env.
  const secretNames = new Set<string>(SECRET_NAMES);
  for (const name of CONFIG_NAMES) {
    const found = secretNames.has(name) ? (value(env[name]) ?? value(file[name])) : value(pages.vars?.[name]);
    if (found !== undefined) merged[name] = found;
  }
  let config: Config | undefined;
  try {
    config = parseConfig(merged);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  for (const name of SECRET_NAMES) {
    if (value(pages.vars?.[name]))
      problems.push(
        `${name} is in wrangler.toml [vars], where anyone can read it: remove it there and keep it as a secret.`,
      );
  }
  const accountId = value(env.CLOUDFLARE_ACCOUNT_ID) ?? value(file.CLOUDFLARE_ACCOUNT_ID);
  if (!accountId)
    problems.push(
      "CLOUDFLARE_ACCOUNT_ID is missing: wrangler needs it (npm run setup stores it in .sam/secrets.env; in GitHub Actions it is a variable).",
    );
  else if (!/^[0-9a-f]{32}$/.test(accountId))
    problems.push("CLOUDFLARE_ACCOUNT_ID must be the 32-character account id.");
  problems.push(
    ...bindingProblems("wrangler.toml", pages),
    ...bindingProblems("scripts/scheduler.wrangler.toml", scheduler),
    ...driftProblems(pages, scheduler),
  );
  if (problems.length || !config) throw new DeployConfigError(problems);

  const secrets: Record<string, string> = {};
  for (const name of SECRET_NAMES) if (merged[name]) secrets[name] = merged[name]!;
  const names: ResourceNames = {
    ...DEFAULT_RESOURCES,
    pagesProject: pages.name ?? DEFAULT_RESOURCES.pagesProject,
    schedulerWorker: scheduler.name ?? DEFAULT_RESOURCES.schedulerWorker,
    d1Database: pages.d1_databases?.find((db) => db.binding === "DB")?.database_name ?? DEFAULT_RESOURCES.d1Database,
    r2Bucket:
      pages.r2_buckets?.find((bucket) => bucket.binding === "AGENTS")?.bucket_name ?? DEFAULT_RESOURCES.r2Bucket,
  };
  return { config, secrets, accountId: accountId!, names };
}

function bindingProblems(label: string, config: WranglerConfig): string[] {
  const problems: string[] = [];
  const d1 = config.d1_databases?.find((db) => db.binding === "DB");
  const kv = config.kv_namespaces?.find((ns) => ns.binding === "SESSIONS");
  const r2 = config.r2_buckets?.find((bucket) => bucket.binding === "AGENTS");
  if (!d1?.database_id || d1.database_id === PLACEHOLDER_IDS.d1)
    problems.push(
      `${label} [[d1_databases]] DB database_id is the placeholder: run \`npm run setup\` and commit the ids it writes.`,
    );
  if (!kv?.id || kv.id === PLACEHOLDER_IDS.kv)
    problems.push(
      `${label} [[kv_namespaces]] SESSIONS id is the placeholder: run \`npm run setup\` and commit the ids it writes.`,
    );
  if (!r2?.bucket_name) problems.push(`${label} [[r2_buckets]] AGENTS bucket_name is missing.`);
  return problems;
}

/** The scheduler runs the same code on the same data: its bindings and values must be the app's. */
function driftProblems(pages: WranglerConfig, scheduler: WranglerConfig): string[] {
  const problems: string[] = [];
  for (const name of VAR_NAMES) {
    if ((pages.vars?.[name] ?? "") !== (scheduler.vars?.[name] ?? ""))
      problems.push(
        `${name} differs between wrangler.toml and scripts/scheduler.wrangler.toml [vars]: run \`npm run setup\`, or make them equal.`,
      );
  }
  const pairs: Array<[string, unknown, unknown]> = [
    [
      "[[d1_databases]] DB database_id",
      pages.d1_databases?.find((db) => db.binding === "DB")?.database_id,
      scheduler.d1_databases?.find((db) => db.binding === "DB")?.database_id,
    ],
    [
      "[[kv_namespaces]] SESSIONS id",
      pages.kv_namespaces?.find((ns) => ns.binding === "SESSIONS")?.id,
      scheduler.kv_namespaces?.find((ns) => ns.binding === "SESSIONS")?.id,
    ],
    [
      "[[r2_buckets]] AGENTS bucket_name",
      pages.r2_buckets?.find((b) => b.binding === "AGENTS")?.bucket_name,
      scheduler.r2_buckets?.find((b) => b.binding === "AGENTS")?.bucket_name,
    ],
  ];
  for (const [what, a, b] of pairs)
    if (a !== b)
      problems.push(
        `${what} differs between wrangler.toml and scripts/scheduler.wrangler.toml: run \`npm run setup\`.`,
      );
  return problems;
}

/** The commands after the secrets, in order: exactly what a person would type for a manual deploy. */
export function appCommands(names: ResourceNames, paths: Pick<Paths, "schedulerToml">): Command[] {
  return [
    { title: "build the app", command: "node", args: ["scripts/build.mjs"] },
    { title: "apply D1 migrations", command: "wrangler", args: ["d1", "migrations", "apply", "DB", "--remote"] },
    {
      title: "deploy the Pages project",
      command: "wrangler",
      args: [
        "pages",
        "deploy",
        "build/client",
        "--project-name",
        names.pagesProject,
        "--branch",
        names.productionBranch,
        "--commit-dirty=true",
      ],
    },
    { title: "deploy the scheduler Worker", command: "wrangler", args: ["deploy", "-c", paths.schedulerToml] },
  ];
}

export function agentCommands(names: ResourceNames): Command[] {
  return [
    { title: "build the agent", command: "make", args: ["-C", "agent", "build-all"] },
    ...AGENT_OBJECTS.map((object) => ({
      title: `upload ${object}`,
      command: "wrangler",
      args: [
        "r2",
        "object",
        "put",
        `${names.r2Bucket}/${object}`,
        "--file",
        `agent/bin/${object}`,
        "--content-type",
        object.endsWith(".json") ? "application/json" : "application/octet-stream",
        "--remote",
      ],
    })),
  ];
}

export interface DeployOptions {
  target: DeployTarget;
  paths: Paths;
  env: Record<string, string | undefined>;
  runner: Runner;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  /** How long to wait for the new version to answer, and between tries. */
  healthTimeoutMs?: number;
  healthIntervalMs?: number;
}

export async function runDeploy(options: DeployOptions): Promise<{ version: string; appUrl: string }> {
  const log = options.log ?? (() => {});
  const inputs = validateDeploy(options.paths, options.env);
  log(
    `configuration is complete; deploying ${options.target === "all" ? "the app, the scheduler and the agent" : options.target === "app" ? "the app and the scheduler" : "the agent"}`,
  );
  if (options.target !== "agent") {
    const sent = await putSecrets(options.runner, options.paths, inputs.secrets, inputs.names);
    log(sent.length ? `sent ${sent.length} secret value(s)` : "secrets unchanged since the last run");
    for (const command of appCommands(inputs.names, options.paths)) await step(options.runner, command, log);
  }
  if (options.target !== "app") {
    for (const command of agentCommands(inputs.names)) await step(options.runner, command, log);
  }
  const check = {
    appUrl: inputs.config.APP_URL,
    version: inputs.config.VERSION,
    fetch: options.fetch ?? fetch,
    timeoutMs: options.healthTimeoutMs ?? 180_000,
    intervalMs: options.healthIntervalMs ?? 5_000,
    log,
  };
  await waitForHealth(check);
  if (options.target !== "app") await checkAgentDownload(check);
  return { version: inputs.config.VERSION, appUrl: inputs.config.APP_URL };
}

async function step(runner: Runner, command: Command, log: (line: string) => void) {
  log(`→ ${command.title}`);
  await runner.run(command);
}

interface Check {
  appUrl: string;
  version: string;
  fetch: typeof fetch;
  timeoutMs: number;
  intervalMs: number;
  log: (line: string) => void;
}

/** Polls /api/health until it answers {"status":"ok","version":<the deployed VERSION>}. */
export async function waitForHealth(check: Check): Promise<void> {
  const url = `${check.appUrl}/api/health`;
  const deadline = Date.now() + check.timeoutMs;
  let last = "no answer yet";
  for (;;) {
    try {
      const response = await check.fetch(url, {
        headers: { Accept: "application/json" },
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let body: { status?: unknown; version?: unknown } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {}
      if (response.ok && body?.status === "ok" && body.version === check.version) {
        check.log(`${url} answers {"status":"ok","version":"${check.version}"}`);
        return;
      }
      last = `${response.status} ${text.slice(0, 200).replace(/\s+/g, " ")}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${url} did not answer {"status":"ok","version":"${check.version}"} within ${Math.round(check.timeoutMs / 1000)} s; last answer: ${last}. See "Troubleshooting" in docs/self-hosting.md.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, check.intervalMs));
  }
}

/** The agent download cloud-init uses must answer 200 with the binary. */
export async function checkAgentDownload(check: Check): Promise<void> {
  const url = `${check.appUrl}/api/agent/download?os=linux&arch=amd64`;
  const response = await check.fetch(url, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
  const type = response.headers.get("content-type") ?? "";
  if (!response.ok || !type.startsWith("application/octet-stream"))
    throw new Error(
      `${url} answered ${response.status} ${type}: the agent upload did not arrive (run \`npm run deploy:agent\`).`,
    );
  check.log(`${url} answers 200 ${type}`);
}
