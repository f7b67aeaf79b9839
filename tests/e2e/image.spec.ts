import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import {
  CLOUD,
  deleteWorkspace,
  installApp,
  LOCAL_HETZNER_TOKEN,
  saveHetznerToken,
  signIn,
  waitForLocalCloud,
} from "./helpers";

/**
 * The SAM image (issue 17) on the local cloud: the admin builds it from /admin on a throw-away server, a
 * workspace boots from the snapshot and its timeline says Node.js and the CLI came with the image, and a second
 * build leaves only the new image.
 */
// Each build installs Node.js and both pinned CLIs with npm on its server (the shared npm cache keeps a warm run
// short); the workspace in between skips those installs.
test.setTimeout(600_000);

test.beforeAll(async ({ request }) => {
  await waitForLocalCloud(request);
});

interface LocalState {
  servers: Array<{ id: number; labels: Record<string, string> }>;
  images: Array<{ id: number; status: string; labels: Record<string, string> }>;
}

async function cloudState(request: APIRequestContext): Promise<LocalState> {
  return (await request.get(`${CLOUD}/_local/state`)).json();
}

const samImages = (state: LocalState) => state.images.filter((image) => image.labels.role === "sam-image");

// The image stays after the test: later specs would boot from it (slower, and not what they test). Delete it as
// an operator would, through Hetzner's API.
test.afterAll(async ({ request }) => {
  for (const image of samImages(await cloudState(request))) {
    const deleted = await request.delete(`${CLOUD}/hetzner/v1/images/${image.id}`, {
      headers: { Authorization: `Bearer ${LOCAL_HETZNER_TOKEN}` },
    });
    expect(deleted.status(), `DELETE /images/${image.id}`).toBe(204);
  }
});
const buildServers = (state: LocalState) => state.servers.filter((server) => server.labels.role === "sam-image-build");

/** Clicks "Build SAM image" and waits, on the polling page, until the image is available; returns its id. */
async function buildImage(page: Page, request: APIRequestContext): Promise<number> {
  await page.goto("/admin");
  const section = page.getByRole("region", { name: "SAM image" });
  await section.getByRole("button", { name: "Build SAM image" }).click();
  await expect(page.getByText("Building the SAM image")).toBeVisible();
  const status = section.getByTestId("image-status");
  await expect(status).toHaveAttribute("data-phase", /installing|snapshotting/);
  await expect(status).toHaveAttribute("data-phase", "available", { timeout: 300_000 });
  await expect(status).toContainText(/SAM image \d+ is ready/);
  const state = await cloudState(request);
  expect(buildServers(state)).toEqual([]);
  const [image] = samImages(state);
  expect(image?.status).toBe("available");
  await expect(section.getByTestId("image-current")).toContainText(`Current image: ${image!.id}`);
  await expect(page.getByRole("table", { name: "Audit log" })).toContainText("image.built");
  return image!.id;
}

test("the admin builds the SAM image, a workspace boots from it without installing, a rebuild deletes the old image", async ({
  page,
  request,
}) => {
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);

  const first = await buildImage(page, request);
  expect(samImages(await cloudState(request)).map((image) => image.id)).toEqual([first]);

  await page.goto("/dashboard");
  await page.getByRole("link", { name: "New workspace" }).click();
  await page.getByLabel("Name").fill("e2e from image");
  await page.getByLabel("Repository").fill("sam-dev/hello-world");
  await page.getByLabel("Small").check();
  await page.getByLabel("Claude Code").check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  const workspaceId = page.url().split("/").pop()!;
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline.locator('[data-step="image"]')).toContainText(`Booting from the SAM image ${first}`);
  await expect(timeline.locator('[data-step="agent.install-agent-cli"][data-status="ok"]')).toContainText(
    /Node\.js and @anthropic-ai\/claude-code@[\d.]+ \(claude\) from the SAM image v\d+-[0-9a-f]+: nothing to install/,
    { timeout: 120_000 },
  );
  const server = (await cloudState(request)).servers.find((s) => s.labels.workspace === workspaceId);
  // The server's image as Hetzner's API reports it.
  const described = await request.get(`${CLOUD}/hetzner/v1/servers/${server!.id}`, {
    headers: { Authorization: `Bearer ${LOCAL_HETZNER_TOKEN}` },
  });
  expect((await described.json()).server.image.id).toBe(first);
  await deleteWorkspace(page, workspaceId);

  const second = await buildImage(page, request);
  expect(second).not.toBe(first);
  expect(samImages(await cloudState(request)).map((image) => image.id)).toEqual([second]);
  await expect(page.getByRole("region", { name: "SAM image" }).getByTestId("image-status")).toContainText(
    `deleted the superseded ${first}`,
  );
});
