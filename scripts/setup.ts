// npm run setup — the self-hosting wizard (docs/self-hosting.md). Asks for what the environment does not
// give; with --yes, in CI or without a terminal it takes everything from the environment:
//   CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID (optional), BASE_DOMAIN, APP_HOSTNAME (default app.<BASE_DOMAIN>),
//   GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, GITHUB_APP_ID, GITHUB_APP_SLUG, GITHUB_APP_PRIVATE_KEY (PEM or its
//   file's path), GITHUB_WEBHOOK_SECRET, ALLOWED_GITHUB_LOGINS, ADMIN_GITHUB_LOGINS (all optional),
//   TOOLS_REGISTRY_URL (default: the registry this machine's npm uses).
import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { MissingPermissionError } from "./self-host/permissions";
import { isInteractive, terminalPrompter } from "./self-host/prompt";
import { processRunner } from "./self-host/runner";
import { formatReport, runSetup, SetupError, type SetupInputs } from "./self-host/setup";
import { readSecretsFile } from "./self-host/secrets-file";
import { defaultPaths, GITHUB_APP_SECRETS, GITHUB_APP_VARS } from "./self-host/settings";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const paths = defaultPaths(root);
const env = process.env;
const stored = readSecretsFile(paths.secretsFile);

/** The registry this machine's npm installs from: the VMs fetch Node.js, npm and the CLIs from the same. */
function npmRegistry(): string | undefined {
  try {
    return execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function gather(): Promise<SetupInputs> {
  const given = (name: string) => env[name]?.trim() || undefined;
  const inputs: SetupInputs = {
    cloudflareApiToken: given("CLOUDFLARE_API_TOKEN") ?? stored.CLOUDFLARE_API_TOKEN ?? "",
    cloudflareAccountId: given("CLOUDFLARE_ACCOUNT_ID") ?? stored.CLOUDFLARE_ACCOUNT_ID,
    baseDomain: given("BASE_DOMAIN") ?? "",
    appHostname: given("APP_HOSTNAME"),
    github: Object.fromEntries(
      [...GITHUB_APP_VARS, ...GITHUB_APP_SECRETS].flatMap((name) => (given(name) ? [[name, given(name)!]] : [])),
    ),
    allowedGithubLogins: given("ALLOWED_GITHUB_LOGINS"),
    adminGithubLogins: given("ADMIN_GITHUB_LOGINS"),
    toolsRegistryUrl: given("TOOLS_REGISTRY_URL") ?? npmRegistry(),
  };
  if (!isInteractive(process.argv, env)) return inputs;

  const prompt = terminalPrompter();
  try {
    console.log("SAM self-hosting setup. Press Enter to keep a value shown in [brackets]; see docs/self-hosting.md.\n");
    if (!inputs.cloudflareApiToken)
      inputs.cloudflareApiToken = await prompt.ask("Cloudflare API token (permissions: docs/self-hosting.md)");
    if (!inputs.baseDomain)
      inputs.baseDomain = await prompt.ask("Base domain, a zone in your Cloudflare account (e.g. example.com)");
    inputs.appHostname = await prompt.ask("Hostname of the app", {
      default: inputs.appHostname ?? `app.${inputs.baseDomain}`,
    });
    const missing = [...GITHUB_APP_VARS, ...GITHUB_APP_SECRETS].filter(
      (name) => !inputs.github?.[name] && !(name === "GITHUB_WEBHOOK_SECRET"),
    );
    if (
      missing.length &&
      (await prompt.ask("Have you registered the GitHub App already? (y/N)", { default: "n" }))
        .toLowerCase()
        .startsWith("y")
    ) {
      for (const name of missing) {
        const label = name === "GITHUB_APP_PRIVATE_KEY" ? `${name} (path of the downloaded .pem file)` : name;
        const answer = await prompt.ask(label);
        if (answer) inputs.github = { ...inputs.github, [name]: answer };
      }
    }
    return inputs;
  } finally {
    prompt.close();
  }
}

try {
  const inputs = await gather();
  // wrangler needs the token and the account id; setup learns the id from the zone and stores it before any command.
  const report = await runSetup({
    inputs,
    paths,
    runner: {
      run: (command) =>
        processRunner(root, {
          ...env,
          CLOUDFLARE_API_TOKEN: inputs.cloudflareApiToken,
          CLOUDFLARE_ACCOUNT_ID: readSecretsFile(paths.secretsFile).CLOUDFLARE_ACCOUNT_ID ?? inputs.cloudflareAccountId,
        }).run(command),
    },
    cloudflareApiUrl: env.CLOUDFLARE_API_URL,
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`\n${formatReport(report)}`);
} catch (error) {
  if (error instanceof SetupError || error instanceof MissingPermissionError) {
    console.error(`\n✗ ${error.message}`);
    process.exit(1);
  }
  throw error;
}
