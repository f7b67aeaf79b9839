import { expect, test, type Page } from "@playwright/test";
import { expectAccessible, installApp, signIn } from "./helpers";

/**
 * Settings → Environment: the user's own variables for their workspaces. A secret is listed by its last 4
 * characters only, a name SAM uses is refused beside the field, and deleting asks first.
 */

// Names of this run's own, so rows an earlier run left behind cannot satisfy an assertion.
const suffix = Math.random().toString(36).slice(2, 8).toUpperCase();
const secretName = `E2E_TOKEN_${suffix}`;
const plainName = `E2E_GREETING_${suffix}`;
const secretValue = `s3cr3t-${suffix}-value-9876`;

const row = (page: Page, name: string) => page.locator(`tr[data-variable="${name}"]`);

async function addVariable(page: Page, variable: { name: string; value: string; secret: boolean; scope?: string }) {
  await page.getByLabel("Name").fill(variable.name);
  await page.getByLabel("Value").fill(variable.value);
  await page.getByLabel("Secret").setChecked(variable.secret);
  await page.getByLabel("Repositories").selectOption(variable.scope ?? "");
  await page.getByRole("button", { name: "Save variable" }).click();
}

test("variables are added from Settings, a secret listed masked, names SAM uses refused, and deleted", async ({
  page,
}) => {
  await signIn(page);
  await installApp(page);
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Environment" }).click();
  await expect(page).toHaveURL(/\/settings\/environment$/);
  await expect(page.getByText("given to your workspaces on purpose")).toBeVisible();
  await expect(page.getByText("SAM's own credentials")).toBeVisible();
  // A new variable is a secret unless said otherwise.
  await expect(page.getByLabel("Secret")).toBeChecked();

  await addVariable(page, { name: secretName, value: secretValue, secret: true, scope: "sam-dev/hello-world" });
  await expect(page.getByRole("status")).toContainText(`${secretName} saved`);
  await expect(row(page, secretName)).toContainText("••••9876");
  await expect(row(page, secretName)).toContainText("sam-dev/hello-world");
  // Nothing of the secret stays on the page, not even in the form it was typed into.
  await expect(page.getByLabel("Value")).toHaveValue("");
  expect(await page.content()).not.toContain(secretValue);

  await addVariable(page, { name: plainName, value: "hello from e2e", secret: false });
  await expect(page.getByRole("status")).toContainText(`${plainName} saved`);
  await expect(row(page, plainName)).toContainText("hello from e2e");
  await expect(row(page, plainName)).toContainText("All repositories");

  for (const [name, reason] of [
    ["SAM_X", "SAM_* names are SAM's own"],
    ["GIT_TOKEN", "SAM sets GIT_*"],
  ]) {
    await addVariable(page, { name: name!, value: "refused", secret: true });
    const field = page.getByLabel("Name");
    await expect(field).toHaveAttribute("aria-invalid", "true");
    const error = page.locator(`#${await field.getAttribute("id")}-error`);
    await expect(error).toContainText(`${name} cannot be used: ${reason}`);
    await expect(field).toHaveAttribute("aria-describedby", new RegExp(`${await error.getAttribute("id")}`));
  }
  await expectAccessible(page, "the environment settings with an error showing");
  await expect(row(page, "SAM_X")).toHaveCount(0);
  await expect(row(page, "GIT_TOKEN")).toHaveCount(0);

  for (const name of [secretName, plainName]) {
    await row(page, name).getByRole("button", { name: "Delete" }).click();
    await row(page, name).getByRole("button", { name: "Yes, delete" }).click();
    await expect(page.getByRole("status")).toContainText(`${name} removed`);
    await expect(row(page, name)).toHaveCount(0);
  }
});

for (const colorScheme of ["light", "dark"] as const) {
  test(`the environment settings pass axe with a variable listed (${colorScheme})`, async ({ browser }) => {
    const page = await (await browser.newContext({ colorScheme })).newPage();
    await signIn(page, "sam-dev", "/settings/environment");
    const name = `E2E_AXE_${colorScheme.toUpperCase()}_${suffix}`;
    await addVariable(page, { name, value: "a long enough secret value", secret: true });
    await expect(row(page, name)).toBeVisible();
    await expectAccessible(page, `the environment settings (${colorScheme})`);
    await row(page, name).getByRole("button", { name: "Delete" }).click();
    await expectAccessible(page, `the environment settings asking to delete (${colorScheme})`);
    await row(page, name).getByRole("button", { name: "Yes, delete" }).click();
    await expect(row(page, name)).toHaveCount(0);
  });
}
