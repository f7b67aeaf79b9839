import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "@playwright/test";
import { CLOUD } from "./helpers";

/** `npm run screenshots` keeps working: the same script, against this run's app, into a temporary folder. */
test("npm run screenshots writes the dashboard, workspace and terminal, light and dark", async ({ baseURL }) => {
  test.setTimeout(300_000);
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const out = mkdtempSync(join(tmpdir(), "sam-screenshots-"));
  try {
    await promisify(execFile)(
      join(root, "node_modules/.bin/tsx"),
      ["scripts/screenshots.ts", "--app", baseURL!, "--cloud", CLOUD, "--out", out],
      { cwd: root, timeout: 280_000 },
    );
    for (const page of ["dashboard", "workspace", "terminal"])
      for (const scheme of ["light", "dark"]) {
        const png = readFileSync(join(out, `${page}-${scheme}.png`));
        expect(png.subarray(1, 4).toString("ascii"), `${page}-${scheme}.png`).toBe("PNG");
        // 1280×800, as the README shows them.
        expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1280, 800]);
      }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
