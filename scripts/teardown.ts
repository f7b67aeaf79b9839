// npm run teardown [-- --confirm DELETE] [--delete-data] — removes what setup made; see docs/self-hosting.md.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { isInteractive, terminalPrompter } from "./self-host/prompt";
import { processRunner } from "./self-host/runner";
import { readSecretsFile } from "./self-host/secrets-file";
import { defaultPaths } from "./self-host/settings";
import { CONFIRMATION, formatTeardown, runTeardown, teardownFlags } from "./self-host/teardown";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const paths = defaultPaths(root);
const flags = teardownFlags(process.argv.slice(2));

try {
  let confirmation = flags.confirm ?? "";
  if (!flags.confirm && isInteractive(process.argv, process.env)) {
    const prompt = terminalPrompter();
    console.log(
      `This removes the scheduler Worker, the Pages project, the app's DNS record, the KV namespace (sessions) and the R2 bucket (agent binaries)${flags.deleteData ? ", and the D1 database with all data" : "; the D1 database and its data are kept"}.`,
    );
    confirmation = await prompt.ask(`Type ${CONFIRMATION} to continue`);
    prompt.close();
  }
  const stored = readSecretsFile(paths.secretsFile);
  const env = {
    ...process.env,
    CLOUDFLARE_API_TOKEN: process.env.CLOUDFLARE_API_TOKEN || stored.CLOUDFLARE_API_TOKEN,
    CLOUDFLARE_ACCOUNT_ID: process.env.CLOUDFLARE_ACCOUNT_ID || stored.CLOUDFLARE_ACCOUNT_ID,
  };
  const report = await runTeardown({
    paths,
    env,
    runner: processRunner(root, env),
    confirmation,
    deleteData: flags.deleteData,
    cloudflareApiUrl: process.env.CLOUDFLARE_API_URL,
    log: (line) => console.log(line),
  });
  console.log(`\n${formatTeardown(report)}`);
  if (report.failed.length) process.exit(1);
} catch (error) {
  console.error(`\n✗ ${(error as Error).message}`);
  process.exit(1);
}
