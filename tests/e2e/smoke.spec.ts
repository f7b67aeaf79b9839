import { execFile } from "node:child_process";
import { expect, test, type Page } from "@playwright/test";
import { saveHetznerToken, signIn, waitForLocalCloud } from "./helpers";

/**
 * `npm run smoke` against the local cloud, as an operator runs it after a deploy: an admin makes a one-time
 * token in /admin, the script creates the smallest workspace with it, opens a terminal, deletes the
 * workspace and confirms nothing is left; each failure names its step.
 */
test.setTimeout(300_000);

// Playwright waits for the app; the local cloud may still be starting.
test.beforeAll(async ({ request }) => {
  await waitForLocalCloud(request);
});

function runSmoke(baseURL: string, token: string) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      "npx",
      ["tsx", "scripts/smoke.ts", "--url", baseURL],
      { env: { ...process.env, SAM_SMOKE_TOKEN: token }, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

async function smokeToken(page: Page): Promise<string> {
  await page.goto("/admin");
  await page.getByRole("link", { name: "Smoke test after a deployment" }).click();
  await page.getByRole("button", { name: "Create a smoke token" }).click();
  const token = await page.getByLabel(/Smoke token/).inputValue();
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token;
}

test("npm run smoke passes on the local cloud and leaves nothing behind; its token makes one workspace only", async ({
  page,
  baseURL,
}) => {
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  const token = await smokeToken(page);

  const passed = await runSmoke(baseURL!, token);
  expect(passed.output).toContain("✓ 1 health: ok");
  expect(passed.output).toContain("✓ 2 jwks:");
  expect(passed.output).toMatch(/✓ 3 create workspace: [a-z2-7]{12} \(cx23 in /);
  expect(passed.output).toContain("✓ 4 boot: running");
  expect(passed.output).toContain("✓ 5 edge:");
  expect(passed.output).toContain("✓ 6 terminal: ran `echo smoke-$((6*7))` and read smoke-42 back");
  expect(passed.output).toContain(
    "✓ 7 delete and clean up: deleted; no server, firewall, DNS record or certificate left",
  );
  expect(passed.code, passed.output).toBe(0);

  const again = await runSmoke(baseURL!, token);
  expect(again.code).toBe(1);
  expect(again.output).toMatch(
    /✗ step 3 create workspace: the app answered 409: This smoke token already made workspace/,
  );
});

test("a wrong token stops at the create step and says where to get one", async ({ baseURL }) => {
  const failed = await runSmoke(baseURL!, "x".repeat(43));
  expect(failed.code).toBe(1);
  expect(failed.output).toContain("✓ 1 health: ok");
  expect(failed.output).toContain(
    "✗ step 3 create workspace: the app answered 401: The smoke token is unknown or has expired: make a new one in /admin/smoke",
  );
});
