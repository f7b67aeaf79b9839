import { expect, test, type Page } from "@playwright/test";
import { ensureGitHubUser, expectAccessible, seedWorkspaces, signIn } from "./helpers";

/**
 * What a person sees of volumes: their prices on the dashboard and the workspace page (a volume bills while the
 * workspace is stopped), the monthly total, "Run setup again", and the delete warning when work would be lost.
 * The rows are seeded as provisioning and the agent's heartbeat would have left them: the workers tests cover
 * the actions' rules, these the pages.
 */
test.describe.configure({ mode: "serial" });

// A login of its own per run. The local GitHub may give it the id an earlier run's login had (SAM keys users
// by GitHub id), so the totals are compared with what the dashboard said before this spec's rows.
const LOGIN = `sam-vol-${Math.random().toString(36).slice(2, 8)}`;
const keptVolume = 800_000_000 + Math.floor(Math.random() * 100_000_000);

let kept: string;
let unsaved: string;
let bare: string;
let before = { volumes: 0, gb: 0, monthly: 0 };

/** The dashboard's volume total as numbers (none shown: none). */
async function volumeTotal(page: Page) {
  await page.goto("/dashboard");
  await expect(page.getByRole("heading", { name: "Workspaces" })).toBeVisible();
  const total = page.getByTestId("volume-total");
  if ((await total.count()) === 0) return { volumes: 0, gb: 0, monthly: 0 };
  const [, volumes, gb, monthly] = /Volumes: (\d+) · (\d+) GB · €([\d.]+)\/month/.exec(
    (await total.textContent()) ?? "",
  )!;
  return { volumes: Number(volumes), gb: Number(gb), monthly: Number(monthly) };
}

/** The seeding endpoint takes the volume and the agent's unsaved-work count beside the helper's fields. */
type SeedRow = Parameters<typeof seedWorkspaces>[2][number] & {
  volume?: { id: number; sizeGb: number; monthlyPrice: string };
  unsavedWork?: { uncommitted: number; unpushed: number };
};

test.beforeAll(async ({ browser }) => {
  const page = await browser.newPage();
  await ensureGitHubUser(page.request, LOGIN);
  await signIn(page, LOGIN);
  before = await volumeTotal(page);
  const rows: SeedRow[] = [
    {
      name: "kept files",
      status: "stopped",
      repository: `${LOGIN}/app`,
      volume: { id: keptVolume, sizeGb: 10, monthlyPrice: "0.5236" },
    },
    {
      name: "unsaved work",
      status: "stopped",
      repository: `${LOGIN}/app`,
      volume: { id: keptVolume + 1, sizeGb: 20, monthlyPrice: "1.0472" },
      unsavedWork: { uncommitted: 3, unpushed: 1 },
    },
    { name: "no volume", status: "stopped", repository: `${LOGIN}/app` },
  ];
  const ids = await seedWorkspaces(page.request, LOGIN, rows);
  expect(ids).toHaveLength(3);
  [kept, unsaved, bare] = ids as [string, string, string];
  await page.close();
});

const row = (page: Page, id: string) => page.locator(`tr[data-workspace="${id}"]`);

test("the dashboard shows each volume's monthly price and their total, and no hourly price for stopped workspaces", async ({
  page,
}) => {
  await signIn(page, LOGIN);
  await page.goto("/dashboard");
  await expect(page.getByTestId("volume-total")).toContainText(
    `Volumes: ${before.volumes + 2} · ${before.gb + 30} GB · €`,
  );
  await expect(page.getByTestId("volume-total")).toContainText(
    "/month in all, billed while the workspaces are stopped too",
  );
  // 0.5236 + 1.0472 a month more; each total is shown to the cent.
  const after = await volumeTotal(page);
  expect(Math.abs(after.monthly - before.monthly - 1.5708)).toBeLessThanOrEqual(0.01);
  await expect(row(page, kept).getByTestId("workspace-cost")).toContainText("volume 10 GB · €0.52/month");
  await expect(row(page, unsaved).getByTestId("workspace-cost")).toContainText("volume 20 GB · €1.05/month");
  await expect(page.getByTestId("workspace-cost").filter({ hasText: "/h" })).toHaveCount(0);
  await expect(row(page, bare).getByTestId("workspace-cost")).not.toContainText("volume");
  await expectAccessible(page, "the dashboard with volumes");
});

test("the workspace page shows the volume's price and deletion date, and 'Run setup again' is kept for the next start", async ({
  page,
}) => {
  await signIn(page, LOGIN);
  await page.goto(`/workspaces/${kept}`);
  await expect(page.getByTestId("volume-price")).toHaveText("10 GB · €0.52/month");
  await expect(page.getByTestId("server-price")).toHaveText("No server while stopped: nothing per hour");
  // The default retention is 30 days from the stop (seeded just now).
  const deletion = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.now() + 30 * 24 * 60 * 60 * 1000),
  );
  await expect(page.getByText(`deleted with its files on ${deletion} unless restarted`)).toBeVisible();
  await expectAccessible(page, "a stopped workspace with a volume");

  await page.getByRole("button", { name: "Run setup again" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Setup runs again on the next start" })).toBeVisible();
  await expect(page.getByTestId("setup-rerun")).toHaveText("Runs again on the next start");
  await expect(page.getByRole("button", { name: "Run setup again" })).toHaveCount(0);
});

test("delete warns of uncommitted and unpushed work and asks for an explicit confirmation", async ({ page }) => {
  await signIn(page, LOGIN);
  await page.goto(`/workspaces/${unsaved}`);
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  const form = page.getByRole("group", { name: "Delete" });
  await expect(form.getByTestId("unsaved-work")).toContainText(
    "3 uncommitted changes and 1 unpushed commit will be lost with the volume.",
  );
  await expectAccessible(page, "the delete form with its unsaved-work warning");

  // The keyboard's focus goes to what must be answered first; Escape takes the question back.
  const confirmation = form.getByRole("checkbox", { name: "Delete anyway, losing this work" });
  await expect(confirmation).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(form).toHaveCount(0);
  await page.getByRole("button", { name: "Delete", exact: true }).click();

  // Without the box ticked the form does not go: the browser asks for it, and the workspace stays.
  await form.getByRole("button", { name: "Yes, delete" }).click();
  expect(await confirmation.evaluate((box: HTMLInputElement) => box.validity.valueMissing)).toBe(true);
  await expect(page).toHaveURL(new RegExp(`/workspaces/${unsaved}$`));

  await confirmation.check();
  await form.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("status").filter({ hasText: "Deleting unsaved work" })).toBeVisible();
});

test("admins see every user's volumes with owner, size, price and deletion date", async ({ page }) => {
  // The local admin (ADMIN_GITHUB_LOGINS), looking at this spec's user's volumes.
  await signIn(page);
  await page.goto("/admin");
  const volumes = page.getByRole("table", { name: "All volumes" });
  const keptRow = volumes.locator(`tr[data-volume="${keptVolume}"]`);
  await expect(keptRow).toContainText("kept files");
  await expect(keptRow).toContainText(LOGIN);
  await expect(keptRow).toContainText("10 GB · fsn1");
  await expect(keptRow).toContainText("€0.52/month");
  await expect(keptRow).toContainText(
    new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" }).format(
      new Date(Date.now() + 30 * 24 * 60 * 60 * 1000),
    ),
  );
  await expectAccessible(page, "the admin page with volumes");
});
