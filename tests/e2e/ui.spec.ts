import { expect, test, type Page } from "@playwright/test";
import {
  CLOUD,
  createWorkspace,
  deleteWorkspace,
  ensureGitHubUser,
  installApp,
  saveHetznerToken,
  screen,
  seedWorkspaces,
  shellPrompt,
  signIn,
  type,
} from "./helpers";

/**
 * What someone using SAM every day notices: the terminal filling the window, a timeline that reads one row per
 * step, avatars, the dark theme, long lists, and phones.
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(150_000);

const LIST_USER = "sam-lists";
let workspaceId: string;

/** "dark" or "light" by a colour's lightness (Tailwind's colours are oklch(), xterm's rgb()). */
function tone(color: string): "dark" | "light" {
  const oklch = /^oklch\(([\d.]+)/.exec(color);
  if (oklch) return Number(oklch[1]) < 0.5 ? "dark" : "light";
  const [r, g, b] = color.match(/[\d.]+/g)!.map(Number);
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b! < 128 ? "dark" : "light";
}
const background = async (page: Page) =>
  tone(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
const LIGHT_BG = "light";
const DARK_BG = "dark";

/** The PTY's size as the shell sees it, which is what the page reported to the agent. */
async function ptySize(page: Page, tag: string) {
  await type(page, `echo ${tag}=$(stty size | tr ' ' x)\n`);
  const pattern = new RegExp(`${tag}=(\\d+)x(\\d+)`);
  await expect(screen(page)).toContainText(pattern);
  const [, rows, cols] = (await screen(page).innerText()).match(pattern)!;
  return { rows: Number(rows), cols: Number(cols) };
}

/** Clicks the theme toggle and waits until the choice is saved (the page shows it before that). */
async function toggleTheme(page: Page, expected: string) {
  const saved = page.waitForResponse((response) => new URL(response.url()).pathname.startsWith("/settings/theme"));
  await page.getByTestId("theme-toggle").click();
  await saved;
  await expect(page.getByTestId("theme-toggle")).toHaveAttribute("data-theme-choice", expected);
}

test.beforeAll(async ({ browser }) => {
  const page = await browser.newPage();
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  workspaceId = await createWorkspace(page, "e2e ui");
  await expect(page.locator("h1 [data-status]")).toHaveText("running", { timeout: 90_000 });
  await page.close();
});

test.afterAll(async ({ browser }) => {
  if (!workspaceId) return;
  const page = await browser.newPage();
  await signIn(page);
  await deleteWorkspace(page, workspaceId);
  await page.close();
});

test("the timeline shows one row per step, with how long it took and its messages a click away", async ({ page }) => {
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}`);
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline.locator('[data-step="agent.ready"]')).toBeVisible();
  const steps = await timeline.locator(":scope > li").evaluateAll((rows) => rows.map((row) => row.dataset.step));
  expect(steps.length).toBeGreaterThan(4);
  expect(new Set(steps).size).toBe(steps.length);
  for (const step of ["firewall", "server", "agent.clone"]) {
    const row = timeline.locator(`:scope > li[data-step="${step}"]`);
    await expect(row).toHaveAttribute("data-status", "ok");
    await expect(row.getByTestId("duration")).toHaveText(/^\d+(\.\d)? s$|min/);
  }
  const firewall = timeline.locator(':scope > li[data-step="firewall"]');
  const details = firewall.locator("ul");
  await expect(details).toBeHidden();
  await firewall.locator("summary").click();
  await expect(details.locator("li")).toHaveCount(2);
  await expect(details).toContainText(/running: .*firewall/i);
  await expect(details).toContainText(/done: Firewall \d+/);
});

test("the avatar is served by the local GitHub, and initials stand in when it does not load", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await signIn(page);
  const image = page.getByTestId("user-menu").getByTestId("avatar-image");
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);

  const broken = await (await browser.newContext()).newPage();
  await broken.route("**/avatars/**", (route) => route.fulfill({ status: 404, body: "" }));
  await signIn(broken);
  await expect(broken.getByTestId("user-menu").getByTestId("avatar-image")).toHaveCount(0);
  await expect(broken.getByTestId("user-menu").getByTestId("avatar-initials")).toHaveText(/^[A-Z?]{1,2}$/);
});

test("the theme follows the system, and a chosen one is kept for the user in any browser", async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: "dark" });
  const page = await context.newPage();
  await signIn(page);
  const toggle = page.getByTestId("theme-toggle");
  await expect(toggle).toHaveAttribute("data-theme-choice", "system");
  await expect.poll(() => background(page)).toBe(DARK_BG);
  await page.emulateMedia({ colorScheme: "light" });
  await expect.poll(() => background(page)).toBe(LIGHT_BG);

  try {
    // system → light → dark: dark although the system prefers light.
    await toggleTheme(page, "light");
    await toggleTheme(page, "dark");
    await expect.poll(() => background(page)).toBe(DARK_BG);
    await page.reload();
    expect(await background(page)).toBe(DARK_BG);

    // Another browser, preferring light, gets the user's choice from the first paint.
    const elsewhere = await (await browser.newContext({ colorScheme: "light" })).newPage();
    await signIn(elsewhere);
    expect(await background(elsewhere)).toBe(DARK_BG);

    // The terminal's colours follow the page.
    await page.goto(`/workspaces/${workspaceId}/terminal`);
    await expect(page.getByTestId("terminal")).toHaveAttribute("data-terminal-theme", "dark");
    // xterm paints its theme's background on its scrollable element.
    const terminalBg = async () =>
      tone(
        await page
          .getByTestId("terminal")
          .locator(".xterm-scrollable-element")
          .evaluate((node) => getComputedStyle(node).backgroundColor),
      );
    await expect.poll(terminalBg).toBe(DARK_BG);
    await page.goto("/settings");
    await toggleTheme(page, "system");
    await page.goto(`/workspaces/${workspaceId}/terminal`);
    await expect(page.getByTestId("terminal")).toHaveAttribute("data-terminal-theme", "light");
    await expect.poll(terminalBg).toBe(LIGHT_BG);
  } finally {
    // Other specs sign in as the same user: leave the theme as the system's.
    await page.request.post("/settings/theme", {
      form: { theme: "system" },
      headers: { Origin: new URL(page.url()).origin },
    });
  }
});

test("the terminal fills the window below a slim bar and refits when the window changes", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}/terminal`);
  await expect(page).toHaveURL(/\?session=/);
  await shellPrompt(page);
  // No site header: the workspace's own bar, with its name and status.
  await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: /e2e ui: back to the workspace/ })).toBeVisible();
  await expect(page.locator("header [data-status]")).toHaveText("running");

  const box = (await page.getByTestId("terminal").boundingBox())!;
  expect(box.width).toBeGreaterThan(1280 - 20);
  expect(box.y + box.height).toBeGreaterThan(800 - 10);
  expect(box.y).toBeLessThan(100);

  const before = await ptySize(page, "before");
  await expect(page.getByTestId("terminal")).toHaveAttribute("data-cols", String(before.cols));
  await expect(page.getByTestId("terminal")).toHaveAttribute("data-rows", String(before.rows));

  await page.setViewportSize({ width: 900, height: 560 });
  await expect(page.getByTestId("terminal")).not.toHaveAttribute("data-cols", String(before.cols));
  const after = await ptySize(page, "after");
  expect(after.cols).toBeLessThan(before.cols);
  expect(after.rows).toBeLessThan(before.rows);
  await expect(page.getByTestId("terminal")).toHaveAttribute("data-cols", String(after.cols));
  await expect(page.getByTestId("terminal")).toHaveAttribute("data-rows", String(after.rows));

  const fullScreen = page.getByRole("button", { name: "Full screen" });
  await fullScreen.click();
  await expect(page.getByRole("button", { name: "Exit full screen" })).toHaveAttribute("aria-pressed", "true");
  expect(await page.evaluate(() => document.fullscreenElement?.tagName)).toBe("HTML");
  await page.getByRole("button", { name: "Exit full screen" }).click();
  await expect(page.getByRole("button", { name: "Full screen" })).toHaveAttribute("aria-pressed", "false");
});

test("copy on select, paste with Ctrl+Shift+V, and links open in a new tab", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}/terminal`);
  await shellPrompt(page);

  await type(page, "clear; echo copyme-$((3*3))\n");
  const output = screen(page)
    .locator("div", { hasText: /^copyme-9/ })
    .last();
  await expect(output).toBeVisible();
  // The rows let the pointer through to xterm's own layer: click where the word is drawn.
  const word = (await output.boundingBox())!;
  await page.mouse.dblclick(word.x + 20, word.y + word.height / 2);
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toMatch(/copyme/);

  await page.evaluate(() => navigator.clipboard.writeText("echo pasted-$((40+2))"));
  await page.getByTestId("terminal").click();
  await page.keyboard.press("Control+Shift+V");
  await page.keyboard.press("Enter");
  await expect(screen(page)).toContainText("pasted-42");

  const link = `${CLOUD}/github/sam-dev/hello-world`;
  await type(page, `clear; echo ${link}\n`);
  const row = screen(page).locator("div", { hasText: new RegExp(`^${link.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`) });
  await expect(row).toBeVisible();
  const rowBox = (await row.boundingBox())!;
  const cols = Number(await page.getByTestId("terminal").getAttribute("data-cols"));
  const charWidth = rowBox.width / cols;
  await page.mouse.move(rowBox.x + charWidth * 10, rowBox.y + rowBox.height / 2);
  const popup = page.waitForEvent("popup");
  await page.mouse.click(rowBox.x + charWidth * 12, rowBox.y + rowBox.height / 2);
  const opened = await popup;
  await expect(opened).toHaveURL(link);
});

test("the terminal's menu keeps the workspace alive without leaving the terminal", async ({ page }) => {
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}/terminal`);
  await expect(page).toHaveURL(/\?session=/);
  const session = page.url();
  await page.getByRole("button", { name: /^Workspace/ }).click();
  await page.getByRole("button", { name: "Keep alive" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Kept alive" })).toBeVisible();
  expect(page.url()).toBe(session);
  await page.getByRole("button", { name: /^Workspace/ }).click();
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to the workspace", exact: true })).toBeVisible();
});

test.describe("a long list of workspaces", () => {
  const statuses = (i: number) => (i % 4 === 0 ? "error" : "stopped") as "error" | "stopped";
  const repository = (i: number) => (i % 2 === 0 ? "sam-lists/alpha-service" : "sam-lists/beta-app");

  test.beforeAll(async ({ browser }) => {
    const page = await browser.newPage();
    await ensureGitHubUser(page.request, LIST_USER);
    await signIn(page, LIST_USER);
    const existing = await page.getByTestId("workspace-count").count();
    if (!existing)
      await seedWorkspaces(
        page.request,
        LIST_USER,
        Array.from({ length: 130 }, (_, i) => ({
          name: `bulk ${String(i).padStart(3, "0")}`,
          status: statuses(i),
          repository: repository(i),
        })),
      );
    await page.close();
  });

  test("pages through 130 workspaces with a cursor, 25 at a time", async ({ page }) => {
    await signIn(page, LIST_USER);
    await page.goto("/dashboard");
    await expect(page.getByTestId("workspace-count")).toHaveText("130 workspaces · showing 25");
    const rows = page.locator("tr[data-workspace]");
    const seen = new Set<string>();
    for (let pageNumber = 1; ; pageNumber++) {
      await expect(rows.first()).toBeVisible();
      const ids = await rows.evaluateAll((all) => all.map((row) => row.dataset.workspace!));
      expect(ids.length).toBe(pageNumber <= 5 ? 25 : 5);
      for (const id of ids) seen.add(id);
      const next = page.getByRole("link", { name: "Next page" });
      if ((await next.count()) === 0) break;
      const before = page.url();
      await next.click();
      await expect(page).not.toHaveURL(before);
      expect(new URL(page.url()).searchParams.get("cursor")).toMatch(/^\d+\.[a-z2-7]{12}$/);
    }
    expect(seen.size).toBe(130);
    await expect(rows.last()).toContainText("bulk 129");
    await page.getByRole("link", { name: "First page" }).click();
    await expect(rows.first()).toContainText("bulk 000");
  });

  test("filters by status and searches name or repository, in a URL that can be bookmarked", async ({ page }) => {
    await signIn(page, LIST_USER);
    await page.goto("/dashboard");
    await page.getByLabel("Status").selectOption("error");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page).toHaveURL(/status=error/);
    await expect(page.getByTestId("workspace-count")).toHaveText("33 workspaces match · showing 25");
    await expect(page.locator("tr[data-workspace] [data-status]").filter({ hasNotText: "error" })).toHaveCount(0);

    await page.getByLabel("Search").fill("beta-app");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page).toHaveURL(/q=beta-app/);
    // Errors are the multiples of 4, all even: none is in beta-app.
    await expect(page.getByTestId("workspace-count")).toHaveText("0 workspaces match");
    await expect(page.getByText("No workspace matches this search.")).toBeVisible();

    // A bookmarked view opens as it was left, its fields filled in.
    await page.goto("/dashboard?q=bulk%2012&status=stopped");
    await expect(page.getByLabel("Search")).toHaveValue("bulk 12");
    await expect(page.getByLabel("Status")).toHaveValue("stopped");
    // bulk 12, 120-129 less the errors (12, 120, 124, 128): 121, 122, 123, 125, 126, 127, 129.
    await expect(page.getByTestId("workspace-count")).toHaveText("7 workspaces match");
    await page.getByRole("link", { name: "Clear" }).click();
    await expect(page.getByTestId("workspace-count")).toHaveText("130 workspaces · showing 25");

    // A % is a character like any other, not a wildcard; a made-up cursor or status is a 400 in words.
    await page.goto("/dashboard?q=%25");
    await expect(page.getByTestId("workspace-count")).toHaveText("0 workspaces match");
    const badCursor = await page.goto("/dashboard?cursor=nonsense");
    expect(badCursor?.status()).toBe(400);
    await expect(page.getByRole("alert")).toContainText("This page link is not valid");
    expect((await page.goto("/dashboard?status=sleeping"))?.status()).toBe(400);
  });
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  const noSideways = (page: Page) =>
    page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

  test("the dashboard, workspace page and settings fit the screen; the terminal keeps status and actions", async ({
    page,
  }) => {
    await signIn(page);
    await page.goto("/dashboard");
    await expect(page.getByRole("link", { name: "New workspace" })).toBeInViewport();
    const link = page.locator(`tr[data-workspace="${workspaceId}"] a`);
    await expect(link).toBeInViewport();
    expect(await noSideways(page)).toBe(true);

    await link.click();
    await expect(page.locator("h1 [data-status]")).toHaveText("running");
    await expect(page.getByRole("link", { name: "Open terminal" })).toBeInViewport();
    await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
    expect(await noSideways(page)).toBe(true);

    await page.goto("/settings");
    await expect(page.getByRole("heading", { name: "Hetzner Cloud token" })).toBeInViewport();
    expect(await noSideways(page)).toBe(true);

    await page.goto(`/workspaces/${workspaceId}/terminal`);
    await expect(page).toHaveURL(/\?session=/);
    await expect(page.locator("header [data-status]")).toHaveText("running");
    await expect(page.locator("header [data-status]")).toBeInViewport();
    await page.getByRole("button", { name: /^Workspace/ }).click();
    await expect(page.getByRole("button", { name: "Keep alive" })).toBeInViewport();
    await expect(page.getByRole("button", { name: "Stop" })).toBeInViewport();
    expect(await noSideways(page)).toBe(true);
  });
});
