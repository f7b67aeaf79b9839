import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalCloud } from "../local-cloud/server";
import { CLOUDFLARE_TOKEN, startTestCloud } from "../local-cloud/test-support";
import { recordingRunner } from "./runner";
import { runSetup } from "./setup";
import { formatTeardown, runTeardown, teardownFlags, TeardownError } from "./teardown";
import { tempCheckout } from "./test-support";

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

describe("npm run teardown", () => {
  const paths = tempCheckout();

  it("does nothing unless the operator typed DELETE", async () => {
    await runSetup({
      inputs: { cloudflareApiToken: CLOUDFLARE_TOKEN, baseDomain: DOMAIN },
      paths,
      runner: recordingRunner().runner,
      cloudflareApiUrl: apiUrl,
    });
    const before = cloud.state().cloudflare;
    const recorder = recordingRunner();
    const run = runTeardown({
      paths,
      env: {},
      runner: recorder.runner,
      confirmation: "delete",
      deleteData: false,
      cloudflareApiUrl: apiUrl,
    });
    await expect(run).rejects.toBeInstanceOf(TeardownError);
    await expect(run).rejects.toThrow("Nothing was removed: type DELETE to confirm.");
    expect(recorder.commands).toEqual([]);
    expect(cloud.state().cloudflare).toEqual(before);
  });

  it("removes the scheduler, the Pages project, the DNS record, KV and R2, and keeps D1 by default", async () => {
    const kvId = cloud.state().cloudflare.kv_namespaces[0]!.id;
    const recorder = recordingRunner();
    const report = await runTeardown({
      paths,
      env: {},
      runner: recorder.runner,
      confirmation: "DELETE",
      deleteData: false,
      cloudflareApiUrl: apiUrl,
    });
    expect(cloud.state().cloudflare.dns_records).toEqual([]);
    expect(recorder.lines()).toEqual([
      `wrangler delete sam-scheduler --config ${paths.schedulerToml} --force`,
      "wrangler pages project delete sam --yes",
      `wrangler kv namespace delete --namespace-id ${kvId} --skip-confirmation`,
      "wrangler r2 object delete sam-agents/vm-agent-linux-amd64 --remote",
      "wrangler r2 object delete sam-agents/vm-agent-linux-arm64 --remote",
      "wrangler r2 object delete sam-agents/vm-agent-darwin-amd64 --remote",
      "wrangler r2 object delete sam-agents/vm-agent-darwin-arm64 --remote",
      "wrangler r2 object delete sam-agents/version.json --remote",
      "wrangler r2 bucket delete sam-agents",
    ]);
    expect(report.kept).toEqual(["D1 database sam (its data; remove it with --delete-data)"]);
    expect(formatTeardown(report)).toContain(`removed  DNS record app.${DOMAIN}`);
  });

  it("--delete-data removes the D1 database too", async () => {
    const recorder = recordingRunner();
    await runTeardown({
      paths,
      env: {},
      runner: recorder.runner,
      confirmation: "DELETE",
      deleteData: true,
      cloudflareApiUrl: apiUrl,
    });
    expect(recorder.lines()).toContain("wrangler d1 delete sam --skip-confirmation");
  });

  it("parses --confirm DELETE and --delete-data", () => {
    expect(teardownFlags(["--confirm", "DELETE"])).toEqual({ confirm: "DELETE", deleteData: false });
    expect(teardownFlags(["--confirm=DELETE", "--delete-data"])).toEqual({ confirm: "DELETE", deleteData: true });
    expect(teardownFlags([])).toEqual({ confirm: undefined, deleteData: false });
  });
});
