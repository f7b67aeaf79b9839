import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateKeys } from "../keys.mjs";
import { DeployConfigError, runDeploy, validateDeploy } from "./deploy";
import { recordingRunner } from "./runner";
import { CONFIG_NAMES, OPTIONAL_NAMES, SECRET_NAMES, VAR_NAMES } from "./settings";
import { tempCheckout } from "./test-support";
import { setTomlValues, type Location } from "./wrangler-config";

const ACCOUNT = "0123456789abcdef0123456789abcdef";

const VARS: Record<string, string> = {
  VERSION: "1.2.3",
  APP_URL: "https://app.example.com",
  BASE_DOMAIN: "example.com",
  HETZNER_API_URL: "https://api.hetzner.cloud/v1",
  CLOUDFLARE_API_URL: "https://api.cloudflare.com/client/v4",
  GITHUB_URL: "https://github.com",
  GITHUB_API_URL: "https://api.github.com",
  GITHUB_CLIENT_ID: "Iv23liAbCdEf",
  GITHUB_APP_ID: "123456",
  GITHUB_APP_SLUG: "my-sam",
  CLOUDFLARE_ZONE_ID: "0000000000000000000000000000c10d",
  TOOLS_REGISTRY_URL: "https://registry.example.com",
};

/** The secrets, as GitHub Actions passes them in the environment. */
function secretEnv(): Record<string, string> {
  return {
    GITHUB_CLIENT_SECRET: "client-secret",
    GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
    GITHUB_WEBHOOK_SECRET: "0123456789abcdef0123",
    CLOUDFLARE_API_TOKEN: "cf-token",
    CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
    ...(generateKeys() as Record<string, string>),
  };
}

/** A checkout after setup: real-looking ids and production [vars] in both wrangler configs, less `withoutVar`. */
function configuredCheckout(options: { withoutVar?: string } = {}) {
  const paths = tempCheckout();
  const values: Array<[Location, string]> = [
    [{ table: "d1_databases", binding: "DB", key: "database_id" }, "5f0c6a3e-1111-4222-8333-944445555666"],
    [{ table: "kv_namespaces", binding: "SESSIONS", key: "id" }, "9a8b7c6d5e4f30211203948576a5b4c3"],
    ...Object.entries(VARS).map(([key, value]): [Location, string] => [{ table: "vars", key }, value]),
  ];
  for (const path of [paths.wranglerToml, paths.schedulerToml]) {
    let text = setTomlValues(readFileSync(path, "utf8"), values);
    if (options.withoutVar) text = text.replace(new RegExp(`^${options.withoutVar} = .*\n`, "m"), "");
    writeFileSync(path, text);
  }
  return paths;
}

const okHealth = (version: string) => async (input: RequestInfo | URL, init?: RequestInit) => {
  const url = String(input);
  if (url.endsWith("/api/health")) return Response.json({ status: "ok", version });
  if (url.includes("/api/agent/download") && init?.method === "HEAD")
    return new Response(null, { headers: { "Content-Type": "application/octet-stream" } });
  return new Response("not found", { status: 404 });
};

describe("deploy's configuration check", () => {
  it("every config value is either a secret or a var, and each is one the app reads", () => {
    expect([...SECRET_NAMES, ...VAR_NAMES].sort()).toEqual([...CONFIG_NAMES].sort());
    expect(new Set([...SECRET_NAMES, ...VAR_NAMES]).size).toBe(CONFIG_NAMES.length);
  });

  const required = CONFIG_NAMES.filter((name) => !OPTIONAL_NAMES.has(name));
  it.each([...required, "CLOUDFLARE_ACCOUNT_ID"])("a missing %s is reported by name and nothing runs", async (name) => {
    const paths = configuredCheckout({ withoutVar: name in VARS ? name : undefined });
    const env = secretEnv();
    delete env[name];
    const recorder = recordingRunner();
    const fetched: string[] = [];
    const run = runDeploy({
      target: "all",
      paths,
      env,
      runner: recorder.runner,
      fetch: async (url) => (fetched.push(String(url)), new Response()),
    });
    await expect(run).rejects.toBeInstanceOf(DeployConfigError);
    await expect(run).rejects.toThrow(new RegExp(`^  - ${name} is missing`, "m"));
    expect(recorder.commands).toEqual([]);
    expect(fetched).toEqual([]);
  });

  it("reports every problem of a fresh checkout at once: missing values by name and placeholder ids", () => {
    const paths = tempCheckout();
    const error = (() => {
      try {
        validateDeploy(paths, {});
      } catch (caught) {
        return caught as DeployConfigError;
      }
    })();
    expect(error).toBeInstanceOf(DeployConfigError);
    const named = error!.problems.map((problem) => problem.split(" ")[0]);
    for (const name of [
      "ENCRYPTION_KEY",
      "SESSION_SECRET",
      "JWT_PRIVATE_KEY",
      "JWT_PUBLIC_KEY",
      "JWT_KEY_ID",
      "GITHUB_CLIENT_ID",
      "GITHUB_CLIENT_SECRET",
      "GITHUB_APP_ID",
      "GITHUB_APP_SLUG",
      "GITHUB_APP_PRIVATE_KEY",
      "GITHUB_WEBHOOK_SECRET",
      "CLOUDFLARE_API_TOKEN",
      "CLOUDFLARE_ZONE_ID",
      "CLOUDFLARE_ACCOUNT_ID",
    ]) {
      expect(named).toContain(name);
    }
    expect(error!.problems).toContain(
      "wrangler.toml [[d1_databases]] DB database_id is the placeholder: run `npm run setup` and commit the ids it writes.",
    );
    expect(error!.problems).toContain(
      "scripts/scheduler.wrangler.toml [[kv_namespaces]] SESSIONS id is the placeholder: run `npm run setup` and commit the ids it writes.",
    );
  });

  it("a malformed value is named with what is wrong", () => {
    const paths = configuredCheckout();
    for (const path of [paths.wranglerToml, paths.schedulerToml])
      writeFileSync(
        path,
        setTomlValues(readFileSync(path, "utf8"), [[{ table: "vars", key: "CLOUDFLARE_ZONE_ID" }, "example.com"]]),
      );
    expect(() => validateDeploy(paths, secretEnv())).toThrow("CLOUDFLARE_ZONE_ID must be the 32-character zone id");
  });

  it("refuses a secret kept in wrangler.toml [vars], and a scheduler config that drifted from the app's", () => {
    const paths = configuredCheckout();
    writeFileSync(
      paths.wranglerToml,
      setTomlValues(readFileSync(paths.wranglerToml, "utf8"), [
        [{ table: "vars", key: "SESSION_SECRET" }, "x".repeat(40)],
      ]),
    );
    writeFileSync(
      paths.schedulerToml,
      setTomlValues(readFileSync(paths.schedulerToml, "utf8"), [
        [{ table: "vars", key: "BASE_DOMAIN" }, "other.example"],
      ]),
    );
    expect(() => validateDeploy(paths, secretEnv())).toThrow(
      /SESSION_SECRET is in wrangler.toml \[vars\][\s\S]*BASE_DOMAIN differs between wrangler.toml and scripts\/scheduler.wrangler.toml/,
    );
  });
});

describe("npm run deploy", () => {
  it("sends the secrets, builds, migrates, deploys Pages and the scheduler, uploads the agent, then checks health", async () => {
    const paths = configuredCheckout();
    const recorder = recordingRunner();
    const answers = [Response.json({ status: "ok", version: "1.2.2" }), new Response("upstream", { status: 522 })];
    const fetch = async (input: RequestInfo | URL, init?: RequestInit) =>
      answers.shift() ?? okHealth("1.2.3")(input, init);
    const lines: string[] = [];
    const env = secretEnv();
    const result = await runDeploy({
      target: "all",
      paths,
      env,
      runner: recorder.runner,
      fetch,
      healthIntervalMs: 1,
      log: (line) => lines.push(line),
    });

    expect(result).toEqual({ version: "1.2.3", appUrl: "https://app.example.com" });
    const secretPuts = recorder.lines().filter((line) => line.includes("secret put"));
    expect(secretPuts).toHaveLength(2 * 11);
    expect(secretPuts).toContain("wrangler pages secret put VAPID_PRIVATE_KEY --project-name sam <stdin>");
    expect(secretPuts).toContain("wrangler pages secret put GITHUB_APP_PRIVATE_KEY --project-name sam <stdin>");
    expect(recorder.lines().filter((line) => !line.includes("secret put"))).toEqual([
      "node scripts/build.mjs",
      "wrangler d1 migrations apply DB --remote",
      "wrangler pages deploy build/client --project-name sam --branch main --commit-dirty=true",
      `wrangler deploy -c ${paths.schedulerToml}`,
      "make -C agent build-all",
      "wrangler r2 object put sam-agents/vm-agent-linux-amd64 --file agent/bin/vm-agent-linux-amd64 --content-type application/octet-stream --remote",
      "wrangler r2 object put sam-agents/vm-agent-linux-arm64 --file agent/bin/vm-agent-linux-arm64 --content-type application/octet-stream --remote",
      "wrangler r2 object put sam-agents/vm-agent-darwin-amd64 --file agent/bin/vm-agent-darwin-amd64 --content-type application/octet-stream --remote",
      "wrangler r2 object put sam-agents/vm-agent-darwin-arm64 --file agent/bin/vm-agent-darwin-arm64 --content-type application/octet-stream --remote",
      "wrangler r2 object put sam-agents/version.json --file agent/bin/version.json --content-type application/json --remote",
    ]);
    expect(lines).toContain('https://app.example.com/api/health answers {"status":"ok","version":"1.2.3"}');
    expect(lines).toContain(
      "https://app.example.com/api/agent/download?os=linux&arch=amd64 answers 200 application/octet-stream",
    );

    // A second deploy sends no secret that has not changed.
    const again = recordingRunner();
    await runDeploy({ target: "app", paths, env, runner: again.runner, fetch: okHealth("1.2.3") });
    expect(again.lines()).toEqual([
      "node scripts/build.mjs",
      "wrangler d1 migrations apply DB --remote",
      "wrangler pages deploy build/client --project-name sam --branch main --commit-dirty=true",
      `wrangler deploy -c ${paths.schedulerToml}`,
    ]);
  });

  it("deploy:agent builds and uploads the agent only", async () => {
    const recorder = recordingRunner();
    await runDeploy({
      target: "agent",
      paths: configuredCheckout(),
      env: secretEnv(),
      runner: recorder.runner,
      fetch: okHealth("1.2.3"),
    });
    expect(recorder.lines()[0]).toBe("make -C agent build-all");
    expect(
      recorder
        .lines()
        .slice(1)
        .every((line) => line.startsWith("wrangler r2 object put sam-agents/")),
    ).toBe(true);
  });

  it("stops at the first failing command", async () => {
    const recorder = recordingRunner({ fail: (command) => command.args.includes("migrations") });
    const run = runDeploy({
      target: "all",
      paths: configuredCheckout(),
      env: secretEnv(),
      runner: recorder.runner,
      fetch: okHealth("1.2.3"),
    });
    await expect(run).rejects.toThrow(
      "apply D1 migrations failed: `wrangler d1 migrations apply DB --remote` exited with 1",
    );
    expect(recorder.lines().some((line) => line.startsWith("wrangler pages deploy"))).toBe(false);
  });

  it("fails with the last answer when the new version never answers", async () => {
    const run = runDeploy({
      target: "app",
      paths: configuredCheckout(),
      env: secretEnv(),
      runner: recordingRunner().runner,
      fetch: okHealth("1.2.2"),
      healthTimeoutMs: 20,
      healthIntervalMs: 5,
    });
    await expect(run).rejects.toThrow(
      /api\/health did not answer \{"status":"ok","version":"1.2.3"\} within 0 s; last answer: 200 \{"status":"ok","version":"1.2.2"\}/,
    );
  });
});
