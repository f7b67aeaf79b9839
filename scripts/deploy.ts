// npm run deploy | deploy:app | deploy:agent — see docs/self-hosting.md. Validates the whole configuration
// (wrangler.toml [vars], .sam/secrets.env, the environment) before any command, then deploys and checks health.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { DeployConfigError, runDeploy, validateDeploy, type DeployTarget } from "./self-host/deploy";
import { processRunner } from "./self-host/runner";
import { defaultPaths } from "./self-host/settings";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const paths = defaultPaths(root);
const target = (process.argv[2] ?? "all") as DeployTarget;
if (!["all", "app", "agent"].includes(target)) {
  console.error(`unknown deploy target "${target}": use app, agent, or nothing for both`);
  process.exit(2);
}

try {
  const { secrets, accountId } = validateDeploy(paths, process.env);
  const runner = processRunner(root, {
    ...process.env,
    CLOUDFLARE_API_TOKEN: secrets.CLOUDFLARE_API_TOKEN,
    CLOUDFLARE_ACCOUNT_ID: accountId,
  });
  const { appUrl, version } = await runDeploy({
    target,
    paths,
    env: process.env,
    runner,
    log: (line) => console.log(line),
  });
  console.log(`\n✓ ${appUrl} is running version ${version}`);
} catch (error) {
  console.error(`\n✗ ${(error as Error).message}`);
  process.exit(error instanceof DeployConfigError ? 2 : 1);
}
