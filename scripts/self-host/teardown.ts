// `npm run teardown`: removes what setup made (scheduler Worker, Pages project, the app's DNS record, KV
// namespace, R2 bucket with the agent binaries) after the operator types DELETE. The D1 database and its
// data stay unless --delete-data. What is already gone is skipped, so it can run again after a failure.
import { cloudflare } from "../../app/providers/cloudflare.server";
import type { Command, Runner } from "./runner";
import { readSecretsFile } from "./secrets-file";
import { AGENT_OBJECTS, appHostFrom, CLOUDFLARE_API_URL, DEFAULT_RESOURCES, type Paths } from "./settings";
import { readWranglerConfig } from "./wrangler-config";

export const CONFIRMATION = "DELETE";

export class TeardownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TeardownError";
  }
}

export interface TeardownOptions {
  paths: Paths;
  env: Record<string, string | undefined>;
  runner: Runner;
  /** What the operator typed; anything but DELETE stops before anything is touched. */
  confirmation: string;
  deleteData: boolean;
  cloudflareApiUrl?: string;
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

export interface TeardownReport {
  removed: string[];
  absent: string[];
  kept: string[];
  failed: string[];
}

export async function runTeardown(options: TeardownOptions): Promise<TeardownReport> {
  if (options.confirmation.trim() !== CONFIRMATION)
    throw new TeardownError(`Nothing was removed: type ${CONFIRMATION} to confirm.`);
  const log = options.log ?? (() => {});
  const file = readSecretsFile(options.paths.secretsFile);
  const token = options.env.CLOUDFLARE_API_TOKEN || file.CLOUDFLARE_API_TOKEN;
  const accountId = options.env.CLOUDFLARE_ACCOUNT_ID || file.CLOUDFLARE_ACCOUNT_ID;
  const missing = [!token && "CLOUDFLARE_API_TOKEN", !accountId && "CLOUDFLARE_ACCOUNT_ID"].filter(Boolean);
  if (missing.length)
    throw new TeardownError(
      `Nothing was removed: ${missing.join(" and ")} missing (from the environment or .sam/secrets.env).`,
    );
  const pages = readWranglerConfig(options.paths.wranglerToml);
  const scheduler = readWranglerConfig(options.paths.schedulerToml);
  const names = {
    pagesProject: pages.name ?? DEFAULT_RESOURCES.pagesProject,
    schedulerWorker: scheduler.name ?? DEFAULT_RESOURCES.schedulerWorker,
    d1Database: pages.d1_databases?.find((db) => db.binding === "DB")?.database_name ?? DEFAULT_RESOURCES.d1Database,
    kvId: pages.kv_namespaces?.find((ns) => ns.binding === "SESSIONS")?.id,
    r2Bucket:
      pages.r2_buckets?.find((bucket) => bucket.binding === "AGENTS")?.bucket_name ?? DEFAULT_RESOURCES.r2Bucket,
  };
  const zoneId = options.env.CLOUDFLARE_ZONE_ID || pages.vars?.CLOUDFLARE_ZONE_ID;
  const appUrl = options.env.APP_URL || pages.vars?.APP_URL;
  const cf = cloudflare({
    baseUrl: options.cloudflareApiUrl ?? CLOUDFLARE_API_URL,
    token: token!,
    fetch: options.fetch,
  });
  const report: TeardownReport = { removed: [], absent: [], kept: [], failed: [] };

  const run = async (what: string, commands: Command[]) => {
    for (const command of commands) {
      log(`→ ${command.title}`);
      const result = await options.runner.run({ ...command, allowFailure: true });
      if (!result.ok && !command.allowFailure) {
        report.failed.push(what);
        return;
      }
    }
    report.removed.push(what);
  };

  // The scheduler first, so no sweep runs while the rest goes. Wrangler's answer is the only way to know it existed.
  await run(`scheduler Worker ${names.schedulerWorker}`, [
    {
      title: `delete the Worker ${names.schedulerWorker}`,
      command: "wrangler",
      // From the repository root wrangler reads the Pages wrangler.toml and refuses a Workers command in a
      // Pages project (wrangler 4.x), so it is pointed at the scheduler's own config.
      args: ["delete", names.schedulerWorker, "--config", options.paths.schedulerToml, "--force"],
    },
  ]);

  if ((await cf.listPagesProjects(accountId!)).some((project) => project.name === names.pagesProject)) {
    await run(`Pages project ${names.pagesProject}`, [
      {
        title: `delete the Pages project ${names.pagesProject}`,
        command: "wrangler",
        args: ["pages", "project", "delete", names.pagesProject, "--yes"],
      },
    ]);
  } else report.absent.push(`Pages project ${names.pagesProject}`);

  if (zoneId && appUrl) {
    const host = appHostFrom(appUrl);
    const records = (await cf.listDnsRecords(zoneId, { name: host })).filter(
      (record) => record.type === "CNAME" && record.content.endsWith(".pages.dev"),
    );
    for (const record of records) await cf.deleteDnsRecord(zoneId, record.id);
    (records.length ? report.removed : report.absent).push(`DNS record ${host}`);
  }

  const kv = (await cf.listKvNamespaces(accountId!)).find((ns) => ns.id === names.kvId);
  if (kv) {
    await run(`KV namespace ${kv.title}`, [
      {
        title: `delete the KV namespace ${kv.title}`,
        command: "wrangler",
        args: ["kv", "namespace", "delete", "--namespace-id", kv.id, "--skip-confirmation"],
      },
    ]);
  } else report.absent.push("KV namespace (SESSIONS)");

  if ((await cf.listR2Buckets(accountId!)).some((bucket) => bucket.name === names.r2Bucket)) {
    // A bucket must be empty before it can be deleted.
    await run(`R2 bucket ${names.r2Bucket}`, [
      ...AGENT_OBJECTS.map((object) => ({
        title: `delete ${object}`,
        command: "wrangler",
        args: ["r2", "object", "delete", `${names.r2Bucket}/${object}`, "--remote"],
        allowFailure: true,
      })),
      {
        title: `delete the R2 bucket ${names.r2Bucket}`,
        command: "wrangler",
        args: ["r2", "bucket", "delete", names.r2Bucket],
      },
    ]);
  } else report.absent.push(`R2 bucket ${names.r2Bucket}`);

  const d1 = (await cf.listD1Databases(accountId!)).some((db) => db.name === names.d1Database);
  if (!d1) report.absent.push(`D1 database ${names.d1Database}`);
  else if (!options.deleteData)
    report.kept.push(`D1 database ${names.d1Database} (its data; remove it with --delete-data)`);
  else
    await run(`D1 database ${names.d1Database}`, [
      {
        title: `delete the D1 database ${names.d1Database}`,
        command: "wrangler",
        args: ["d1", "delete", names.d1Database, "--skip-confirmation"],
      },
    ]);

  return report;
}

export function formatTeardown(report: TeardownReport): string {
  return [
    ...report.removed.map((what) => `  removed  ${what}`),
    ...report.absent.map((what) => `  absent   ${what}`),
    ...report.kept.map((what) => `  kept     ${what}`),
    ...report.failed.map((what) => `  FAILED   ${what} (see wrangler's message above; run teardown again)`),
  ].join("\n");
}

/** Parses `--confirm DELETE` and `--delete-data` from the command line. */
export function teardownFlags(argv: string[]): { confirm?: string; deleteData: boolean } {
  const at = argv.indexOf("--confirm");
  const inline = argv.find((arg) => arg.startsWith("--confirm="));
  return {
    confirm: inline ? inline.slice("--confirm=".length) : at >= 0 ? argv[at + 1] : undefined,
    deleteData: argv.includes("--delete-data"),
  };
}
