import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("..", import.meta.url));
const check = (path: string) =>
  spawnSync("node", ["scripts/check-format.mjs", path], { cwd: repo, encoding: "utf8", timeout: 60_000 });

describe("the format check npm test runs", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("fails on an unformatted TypeScript or Go file and names each one", () => {
    dir = mkdtempSync(join(repo, "tests", ".format-probe-"));
    writeFileSync(join(dir, "probe.ts"), "export const  probe = {a:1}\n");
    writeFileSync(join(dir, "probe.go"), "package probe\nfunc  Probe() {}\n");
    const result = check(relative(repo, dir));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${relative(repo, dir)}/probe.ts`);
    expect(result.stderr).toContain(`${relative(repo, dir)}/probe.go`);
    expect(result.stderr).toContain("npm run format");
  });

  it("passes formatted files", () => {
    dir = mkdtempSync(join(repo, "tests", ".format-probe-"));
    writeFileSync(join(dir, "probe.ts"), "export const probe = { a: 1 };\n");
    writeFileSync(join(dir, "probe.go"), "package probe\n\nfunc Probe() {}\n");
    const result = check(relative(repo, dir));
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});
