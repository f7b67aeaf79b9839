import { expect, test, type Locator, type Page } from "@playwright/test";
import { deleteWorkspace, expectAccessible, installApp, saveHetznerToken, signIn } from "./helpers";

/**
 * Accessibility: axe-core on every page, light and dark, failing on serious or critical violations; and the
 * whole create → terminal flow with the keyboard alone, every stop showing where the focus is.
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(180_000);

let workspaceId: string;

const isFocused = (target: Locator) => target.evaluate((node) => node === document.activeElement).catch(() => false);

/** Presses Tab until `target` has the focus, as someone without a mouse would; fails if it never does. */
async function tabTo(page: Page, target: Locator, limit = 60) {
  for (let presses = 0; presses < limit; presses++) {
    if (await isFocused(target)) break;
    await page.keyboard.press("Tab");
  }
  expect(await isFocused(target), `Tab reaches ${target}`).toBe(true);
  // Focus is visible: a real outline, not the browser's default removed.
  const outline = await target.evaluate((node) => {
    const style = getComputedStyle(node);
    return { style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth) };
  });
  expect(outline.style).not.toBe("none");
  expect(outline.width).toBeGreaterThanOrEqual(2);
}

/** In a radio group, Tab lands on the checked choice; the arrow keys move to the wanted one. */
async function chooseRadio(page: Page, group: Locator, choice: Locator) {
  await tabTo(page, group.and(page.locator(":focus")).or(group.first()));
  for (let presses = 0; presses < 8 && !(await choice.isChecked()); presses++) {
    if (await isFocused(choice)) await page.keyboard.press("Space");
    else await page.keyboard.press("ArrowDown");
  }
  await expect(choice).toBeChecked();
}

test("the create → terminal flow works from the keyboard alone", async ({ page }) => {
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);

  await page.goto("/dashboard");
  await tabTo(page, page.getByRole("link", { name: "New workspace" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/workspaces\/new$/);

  await tabTo(page, page.getByLabel("Name"));
  await page.keyboard.type("e2e keyboard");
  await tabTo(page, page.getByLabel("Repository"));
  await page.keyboard.type("sam-dev/hello-world");
  await chooseRadio(page, page.locator('input[name="size"]'), page.getByLabel("Small"));
  await chooseRadio(page, page.locator('input[name="agentCli"]'), page.getByLabel("None"));
  await tabTo(page, page.getByRole("button", { name: "Create workspace" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  workspaceId = page.url().split("/").pop()!;
  await expect(page.locator("h1 [data-status]")).toHaveText("running", { timeout: 90_000 });

  await tabTo(page, page.getByRole("link", { name: "Open terminal" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/terminal\?session=/);
  const screen = page.getByTestId("terminal").locator(".xterm-rows");
  await expect(screen).toContainText(/[$#]/, { timeout: 20_000 });
  // The terminal has the focus once it opens: typing goes straight to the shell.
  await page.keyboard.type("echo keyboard-$((20+22))\n", { delay: 5 });
  await expect(screen).toContainText("keyboard-42");
});

test.afterAll(async ({ browser }) => {
  if (!workspaceId) return;
  const page = await browser.newPage();
  await signIn(page);
  await deleteWorkspace(page, workspaceId);
  await page.close();
});

for (const colorScheme of ["light", "dark"] as const) {
  test(`every page passes axe (${colorScheme})`, async ({ browser }) => {
    const visitor = await (await browser.newContext({ colorScheme })).newPage();
    await visitor.goto("/");
    await expectAccessible(visitor, "the start page, signed out");
    await visitor.goto("/login");
    await expectAccessible(visitor, "the sign-in page");
    await visitor.goto("/private");
    await expectAccessible(visitor, "the private-instance page");

    const page = await (await browser.newContext({ colorScheme })).newPage();
    await signIn(page);
    const pages: Array<[string, string, (page: Page) => Promise<void>]> = [
      ["/", "the start page", async () => {}],
      ["/dashboard", "the dashboard", (p) => expect(p.locator("tr[data-workspace]").first()).toBeVisible()],
      ["/workspaces/new", "the create form", (p) => expect(p.getByLabel("Name")).toBeVisible()],
      [
        `/workspaces/${workspaceId}`,
        "a workspace",
        (p) => expect(p.getByRole("list", { name: "Timeline" }).locator("li").first()).toBeVisible(),
      ],
      [
        `/workspaces/${workspaceId}/terminal`,
        "the terminal",
        (p) => expect(p.getByTestId("terminal").locator(".xterm-rows")).toContainText(/[$#]/, { timeout: 20_000 }),
      ],
      ["/settings", "the settings", (p) => expect(p.getByTestId("saved-hetzner")).toBeVisible()],
      ["/settings/audit", "the audit log", (p) => expect(p.getByRole("table")).toBeVisible()],
      ["/admin", "the admin page", (p) => expect(p.getByRole("heading").first()).toBeVisible()],
      ["/workspaces/aaaaaaaaaaaa", "the not-found page", (p) => expect(p.getByRole("alert")).toBeVisible()],
      [
        "/settings/environment",
        "the environment settings",
        (p) => expect(p.getByRole("heading", { name: "Workspace environment variables" })).toBeVisible(),
      ],
    ];
    for (const [path, what, ready] of pages) {
      await page.goto(path);
      await ready(page);
      await expectAccessible(page, `${what} (${colorScheme})`);
    }

    // With its errors showing, the create form still passes: each error is tied to its field.
    await page.goto("/workspaces/new");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await expect(page.locator("[aria-invalid=true]").first()).toBeVisible();
    await expectAccessible(page, `the create form with errors (${colorScheme})`);

    // The terminal's menu, open.
    await page.goto(`/workspaces/${workspaceId}/terminal`);
    await page.getByRole("button", { name: /^Workspace/ }).click();
    await page.getByRole("button", { name: "Stop" }).click();
    await expectAccessible(page, `the terminal's menu (${colorScheme})`);
  });
}
