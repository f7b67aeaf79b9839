import { readFileSync, statSync } from "node:fs";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDotenv } from "../keys.mjs";
import type { LocalCloud } from "../local-cloud/server";
import { call, CLOUDFLARE_TOKEN, startTestCloud, ZONE_ID } from "../local-cloud/test-support";
import { MissingPermissionError, PERMISSIONS, R2NotEnabledError } from "./permissions";
import { recordingRunner } from "./runner";
import { formatReport, runSetup, SetupError, type SetupInputs } from "./setup";
import { tempCheckout } from "./test-support";
import type { WranglerConfig } from "./wrangler-config";

const DOMAIN = "sam.example.test";
let cloud: LocalCloud;
let apiUrl: string;

beforeAll(async () => {
  cloud = await startTestCloud({ baseDomain: DOMAIN });
  apiUrl = `${cloud.url}/cloudflare/client/v4`;
});
afterAll(async () => {
  await cloud?.close();
});

const inputs = (overrides: Partial<SetupInputs> = {}): SetupInputs => ({
  cloudflareApiToken: CLOUDFLARE_TOKEN,
  baseDomain: DOMAIN,
  ...overrides,
});
/**
 * The cloud's resources, without the token list the permission tests add to, and with only live Origin CA
 * certificates: every run's permission probe leaves one revoked 7-day certificate.
 */
const resources = () => {
  const { tokens: _tokens, origin_certificates, ...rest } = cloud.state().cloudflare;
  return { ...rest, origin_certificates: origin_certificates.filter((certificate) => !certificate.revoked_at) };
};
const readToml = (path: string) => parse(readFileSync(path, "utf8")) as WranglerConfig;

async function tokenWithout(...withheld: string[]): Promise<string> {
  const all = [
    "zone:read",
    "dns_records:read",
    "dns_records:edit",
    "ssl_and_certificates:edit",
    "d1:edit",
    "workers_kv:edit",
    "r2:edit",
    "pages:edit",
    "account:read",
  ];
  const token = `limited-${withheld.join("-").replace(/[^a-z0-9-]/g, "")}-${Date.now()}`;
  await call(cloud.url, "POST", "/_local/cloudflare/tokens", {
    body: { token, permissions: all.filter((p) => !withheld.includes(p)) },
  });
  return token;
}

describe("npm run setup against the local cloud", () => {
  const paths = tempCheckout();

  it("a first run creates every resource, writes the ids and keys, sets the secrets and the app's DNS record", async () => {
    const recorder = recordingRunner();
    const report = await runSetup({ inputs: inputs(), paths, runner: recorder.runner, cloudflareApiUrl: apiUrl });

    const state = cloud.state().cloudflare;
    expect(state.d1.map((db) => db.name)).toEqual(["sam"]);
    expect(state.kv_namespaces.map((ns) => ns.title)).toEqual(["sam-sessions"]);
    expect(state.r2_buckets.map((bucket) => bucket.name)).toEqual(["sam-agents"]);
    expect(state.pages_projects.map((project) => project.name)).toEqual(["sam"]);
    expect(state.dns_records).toEqual([
      expect.objectContaining({ name: `app.${DOMAIN}`, type: "CNAME", content: "sam.pages.dev", proxied: true }),
    ]);
    expect(
      report.steps.filter((step) => /^(D1 |KV |R2 |Pages project|DNS )/.test(step.what)).map((step) => step.status),
    ).toEqual(["created", "created", "created", "created", "created"]);
    // The app and its workspaces share the zone: setup recommends a domain of their own for workspaces.
    expect(report.nextSteps.at(-1)).toContain(`workspaces (ws-<id>.${DOMAIN}) are same-site with app.${DOMAIN}`);
    expect(report.nextSteps.at(-1)).toContain("domain of their own");

    for (const path of [paths.wranglerToml, paths.schedulerToml]) {
      const config = readToml(path);
      expect(config.d1_databases?.[0]).toMatchObject({
        binding: "DB",
        database_name: "sam",
        database_id: state.d1[0]!.uuid,
      });
      expect(config.kv_namespaces?.[0]).toMatchObject({ binding: "SESSIONS", id: state.kv_namespaces[0]!.id });
      expect(config.r2_buckets?.[0]).toMatchObject({ binding: "AGENTS", bucket_name: "sam-agents" });
      expect(config.vars).toMatchObject({
        APP_URL: `https://app.${DOMAIN}`,
        BASE_DOMAIN: DOMAIN,
        CLOUDFLARE_ZONE_ID: ZONE_ID,
        HETZNER_API_URL: "https://api.hetzner.cloud/v1",
      });
    }
    expect(readToml(paths.wranglerToml).name).toBe("sam");
    expect(readToml(paths.schedulerToml).name).toBe("sam-scheduler");
    // Comments and the rest of the file survive the edit.
    expect(readFileSync(paths.wranglerToml, "utf8")).toMatch(/^# Cloudflare Pages project for the SAM control plane\./);
    expect(readFileSync(paths.wranglerToml, "utf8")).toContain('pages_build_output_dir = "./build/client"');

    const secrets = parseDotenv(readFileSync(paths.secretsFile, "utf8")) as Record<string, string>;
    expect(statSync(paths.secretsFile).mode & 0o777).toBe(0o600);
    expect(secrets).toMatchObject({ CLOUDFLARE_API_TOKEN: CLOUDFLARE_TOKEN });
    for (const name of [
      "ENCRYPTION_KEY",
      "SESSION_SECRET",
      "JWT_PRIVATE_KEY",
      "JWT_PUBLIC_KEY",
      "JWT_KEY_ID",
      "VAPID_PUBLIC_KEY",
      "VAPID_PRIVATE_KEY",
      "GITHUB_WEBHOOK_SECRET",
    ])
      expect(secrets[name]).toBeTruthy();

    // Each secret goes to the Pages project and to the scheduler Worker, its value on standard input only.
    const puts = recorder.commands.map((command) => [command.args.slice(0, -2).join(" "), command.input]);
    expect(puts).toContainEqual(["pages secret put ENCRYPTION_KEY", secrets.ENCRYPTION_KEY]);
    expect(puts).toContainEqual(["secret put ENCRYPTION_KEY", secrets.ENCRYPTION_KEY]);
    expect(recorder.commands).toHaveLength(2 * 9);
    expect(
      recorder.commands.every(
        (command) => command.command === "wrangler" && !command.args.some((arg) => arg === command.input),
      ),
    ).toBe(true);
    expect(recorder.lines()).toContain("wrangler pages secret put SESSION_SECRET --project-name sam <stdin>");
    expect(recorder.lines()).toContain(`wrangler secret put SESSION_SECRET -c ${paths.schedulerToml} <stdin>`);

    const text = formatReport(report);
    expect(text).toContain(`https://app.${DOMAIN}/auth/github/callback`);
    expect(text).toContain(`https://app.${DOMAIN}/api/github/callback`);
    expect(text).toContain(`https://app.${DOMAIN}/api/github/webhook`);
    expect(text).toContain("pending   GitHub App");
  });

  it("a second run finds everything and changes nothing", async () => {
    const before = {
      wrangler: readFileSync(paths.wranglerToml, "utf8"),
      scheduler: readFileSync(paths.schedulerToml, "utf8"),
      secrets: readFileSync(paths.secretsFile, "utf8"),
      cloud: resources(),
    };
    const recorder = recordingRunner();
    const report = await runSetup({ inputs: inputs(), paths, runner: recorder.runner, cloudflareApiUrl: apiUrl });

    expect(
      report.steps.filter((step) => step.what !== "GitHub App").map((step) => `${step.what}: ${step.status}`),
    ).toEqual([
      "D1 database sam: found",
      "KV namespace sam-sessions: found",
      "R2 bucket sam-agents: found",
      "Pages project sam: found",
      "wrangler.toml: unchanged",
      "scripts/scheduler.wrangler.toml: unchanged",
      ".sam/secrets.env: unchanged",
      "Pages and scheduler secrets: unchanged",
      `DNS record app.${DOMAIN}: found`,
    ]);
    expect(recorder.commands).toEqual([]);
    expect(readFileSync(paths.wranglerToml, "utf8")).toBe(before.wrangler);
    expect(readFileSync(paths.schedulerToml, "utf8")).toBe(before.scheduler);
    expect(readFileSync(paths.secretsFile, "utf8")).toBe(before.secrets);
    expect(resources()).toEqual(before.cloud);
    expect(formatReport(report)).toMatch(/Summary \(5 found, 4 unchanged, 1 pending\)/);
  });

  it("the GitHub App's values given later are stored, and only they are sent", async () => {
    const recorder = recordingRunner();
    const github = {
      GITHUB_CLIENT_ID: "Iv23liAbCdEf",
      GITHUB_APP_ID: "123456",
      GITHUB_APP_SLUG: "my-sam",
      GITHUB_CLIENT_SECRET: "client-secret-value",
      GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
    };
    const report = await runSetup({
      inputs: inputs({ github }),
      paths,
      runner: recorder.runner,
      cloudflareApiUrl: apiUrl,
    });
    expect(readToml(paths.wranglerToml).vars).toMatchObject({
      GITHUB_CLIENT_ID: "Iv23liAbCdEf",
      GITHUB_APP_ID: "123456",
      GITHUB_APP_SLUG: "my-sam",
    });
    expect(readToml(paths.schedulerToml).vars).toMatchObject({ GITHUB_APP_SLUG: "my-sam" });
    expect(parseDotenv(readFileSync(paths.secretsFile, "utf8"))).toMatchObject({
      GITHUB_CLIENT_SECRET: "client-secret-value",
      GITHUB_APP_PRIVATE_KEY: github.GITHUB_APP_PRIVATE_KEY,
    });
    expect(recorder.commands.map((command) => command.args[command.args[0] === "pages" ? 3 : 2])).toEqual([
      "GITHUB_CLIENT_SECRET",
      "GITHUB_CLIENT_SECRET",
      "GITHUB_APP_PRIVATE_KEY",
      "GITHUB_APP_PRIVATE_KEY",
    ]);
    expect(report.steps.some((step) => step.what === "GitHub App")).toBe(false);
  });
});

describe("the token check", () => {
  const cases: Array<[string, string]> = [
    ["d1:edit", PERMISSIONS.d1],
    ["workers_kv:edit", PERMISSIONS.kv],
    ["r2:edit", PERMISSIONS.r2],
    ["pages:edit", PERMISSIONS.pages],
    ["dns_records:edit", PERMISSIONS.dns],
    ["ssl_and_certificates:edit", PERMISSIONS.ssl],
  ];
  it.each(cases)(
    "a token without %s is told it lacks %s, before anything is made",
    async (permission, dashboardName) => {
      const paths = tempCheckout();
      const before = resources();
      const recorder = recordingRunner();
      const run = runSetup({
        inputs: inputs({ cloudflareApiToken: await tokenWithout(permission) }),
        paths,
        runner: recorder.runner,
        cloudflareApiUrl: apiUrl,
      });
      await expect(run).rejects.toBeInstanceOf(MissingPermissionError);
      await expect(run).rejects.toThrow(dashboardName);
      const error = (await run.catch((e: MissingPermissionError) => e)) as MissingPermissionError;
      expect(error.missing).toEqual([dashboardName]);
      expect(resources()).toEqual(before);
      expect(recorder.commands).toEqual([]);
    },
  );

  it("names every missing permission at once", async () => {
    const paths = tempCheckout();
    const run = runSetup({
      inputs: inputs({ cloudflareApiToken: await tokenWithout("d1:edit", "pages:edit") }),
      paths,
      runner: recordingRunner().runner,
      cloudflareApiUrl: apiUrl,
    });
    await expect(run).rejects.toThrow(
      /lacks 2 permissions:\n  - Account · D1 · Edit\n  - Account · Cloudflare Pages · Edit/,
    );
  });

  it("an unknown token is rejected with Cloudflare's reason", async () => {
    const run = runSetup({
      inputs: inputs({ cloudflareApiToken: "not-a-real-token" }),
      paths: tempCheckout(),
      runner: recordingRunner().runner,
      cloudflareApiUrl: apiUrl,
    });
    await expect(run).rejects.toBeInstanceOf(SetupError);
    await expect(run).rejects.toThrow(/Cloudflare rejected the API token \(Invalid API Token\)/);
  });

  it("a domain with no zone in the account is named", async () => {
    const run = runSetup({
      inputs: inputs({ baseDomain: "elsewhere.test" }),
      paths: tempCheckout(),
      runner: recordingRunner().runner,
      cloudflareApiUrl: apiUrl,
    });
    await expect(run).rejects.toThrow(/No Cloudflare zone for elsewhere\.test is visible to this token/);
  });

  it("a BASE_DOMAIN below its zone is refused: workspace names would be two levels deep, beyond Universal SSL", async () => {
    const paths = tempCheckout();
    const run = runSetup({
      inputs: inputs({ baseDomain: `dev.${DOMAIN}`, appHostname: `sam.${DOMAIN}` }),
      paths,
      runner: recordingRunner().runner,
      cloudflareApiUrl: apiUrl,
    });
    await expect(run).rejects.toBeInstanceOf(SetupError);
    await expect(run).rejects.toThrow(
      `BASE_DOMAIN dev.${DOMAIN} is below the zone ${DOMAIN}: workspace names such as ws-<id>.dev.${DOMAIN} would be two levels below it`,
    );
    await expect(run).rejects.toThrow(`Use BASE_DOMAIN=${DOMAIN}`);
  });

  it("an account-owned token, which /user/tokens/verify refuses, is verified at its account", async () => {
    const token = `account-owned-${Date.now()}`;
    await call(cloud.url, "POST", "/_local/cloudflare/tokens", {
      body: { token, permissions: ["*"], owner: "account" },
    });
    const logged: string[] = [];
    const report = await runSetup({
      inputs: inputs({ cloudflareApiToken: token }),
      paths: tempCheckout(),
      runner: recordingRunner().runner,
      cloudflareApiUrl: apiUrl,
      log: (line) => logged.push(line),
    });
    expect(report.zone).toEqual({ id: ZONE_ID, name: DOMAIN });
    expect(logged).toContain("Cloudflare token (account-owned) is valid and active");
  });

  it("R2 not enabled on the account is named as such, not as a missing permission", async () => {
    await call(cloud.url, "PUT", "/_local/cloudflare/r2", { body: { enabled: false } });
    try {
      const run = runSetup({
        inputs: inputs(),
        paths: tempCheckout(),
        runner: recordingRunner().runner,
        cloudflareApiUrl: apiUrl,
      });
      await expect(run).rejects.toBeInstanceOf(R2NotEnabledError);
      await expect(run).rejects.toThrow(/R2 is not enabled on this Cloudflare account/);
    } finally {
      await call(cloud.url, "PUT", "/_local/cloudflare/r2", { body: { enabled: true } });
    }
  });

  it("refuses to take over a DNS record it did not make", async () => {
    await call(cloud.url, "POST", `/cloudflare/client/v4/zones/${ZONE_ID}/dns_records`, {
      token: CLOUDFLARE_TOKEN,
      body: { type: "A", name: `taken.${DOMAIN}`, content: "203.0.113.5", proxied: false },
    });
    const run = runSetup({
      inputs: inputs({ appHostname: `taken.${DOMAIN}` }),
      paths: tempCheckout(),
      runner: recordingRunner().runner,
      cloudflareApiUrl: apiUrl,
    });
    await expect(run).rejects.toThrow(`taken.${DOMAIN} already has a DNS record setup did not make (A → 203.0.113.5)`);
  });
});
