import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import {
  APP,
  CLOUD,
  LOCAL_HETZNER_TOKEN,
  clearFaults,
  cloudState,
  injectFault,
  installApp,
  saveHetznerToken,
  screen,
  shellPrompt,
  signIn,
  sql,
  status,
  sweep,
  type,
} from "./helpers";

/**
 * Workspaces that keep their files (issue 15), end to end on the local cloud: each workspace gets a Hetzner
 * Volume that outlives its server. Stop deletes the server and keeps the volume; restart attaches it to a new
 * server; delete removes it; failures leave nothing billing.
 */

test.setTimeout(180_000);

interface CloudState {
  servers: Array<{ id: number; labels: Record<string, string>; user_data: string | null }>;
  volumes: Array<{ id: number; labels: Record<string, string>; server: number | null; location: string; size: number }>;
}

const ofWorkspace = async (request: APIRequestContext, id: string) => {
  const state = await cloudState<CloudState>(request);
  return {
    servers: state.servers.filter((server) => server.labels.workspace === id),
    volumes: state.volumes.filter((volume) => volume.labels.workspace === id),
  };
};

const billing = async (request: APIRequestContext, id: string) => {
  const { servers, volumes } = await ofWorkspace(request, id);
  return { servers: servers.length, volumes: volumes.length };
};

let prepared = false;

async function ready(page: Page) {
  await signIn(page, "sam-dev");
  if (prepared) return;
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  prepared = true;
}

/** Creates a small workspace of the repository through the form; returns its id. */
async function create(page: Page, name: string, repository: string) {
  await page.goto("/workspaces/new");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Repository").fill(repository);
  await page.getByLabel("Small").check();
  await page.getByRole("radio", { name: "None" }).check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  return page.url().split("/").pop()!;
}

/** In the workspace's terminal (the shell starts in the repository), runs a command line. */
async function inTerminal(page: Page, id: string, line: string) {
  await page.goto(`/workspaces/${id}/terminal`);
  await shellPrompt(page);
  await type(page, `${line}\n`);
}

/** An uncommitted file in the repository and a tool installed into the user's home, as a person would. */
const MAKE_WORK =
  "echo kept-$((6*7)) > notes-e2e.txt && mkdir -p ~/.local/bin && printf '#!/bin/sh\\necho tool-$((2+3))\\n' > ~/.local/bin/samtool && chmod +x ~/.local/bin/samtool && echo written-$((1+1))";
const CHECK_WORK = "cat notes-e2e.txt; ~/.local/bin/samtool";

async function stop(page: Page, id: string) {
  await page.goto(`/workspaces/${id}`);
  await page.getByRole("button", { name: "Stop" }).click();
  await page.getByRole("button", { name: "Yes, stop" }).click();
  await expect(status(page)).toHaveText("stopped", { timeout: 90_000 });
}

/** Deletes through the page, confirming the loss of unsaved work when the page asks. */
async function remove(page: Page, id: string) {
  await page.goto(`/workspaces/${id}`);
  await page.getByRole("button", { name: "Delete" }).click();
  const confirm = page.getByLabel("Delete anyway, losing this work");
  if (await confirm.isVisible()) await confirm.check();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

test.afterEach(async ({ request }) => {
  await clearFaults(request);
});

test("stop keeps the files on the volume, restart brings them back without a second setup, delete removes the volume", async ({
  page,
  request,
}) => {
  await ready(page);
  // A secret of the owner's (Settings → Environment), given to the setup script, which prints it.
  const greeting = `hello-${Date.now().toString(36)}`;
  await page.goto("/settings/environment");
  await page.getByLabel("Name").fill("GREETING");
  await page.getByLabel("Value").fill(greeting);
  await page.getByLabel("Secret").setChecked(true);
  await page.getByLabel("Repositories").selectOption("sam-dev/setup-demo");
  await page.getByRole("button", { name: "Save variable" }).click();
  await expect(page.getByRole("status")).toContainText("GREETING saved");

  const id = await create(page, "e2e volume", "sam-dev/setup-demo");
  await expect(status(page)).toHaveText("running", { timeout: 90_000 });
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline.locator('[data-step="volume"][data-status="ok"]')).toHaveCount(1);
  // The repository's .sam/setup.sh ran on the volume's first boot, with its output on the timeline.
  await expect(timeline.locator('[data-step="agent.setup"][data-status="ok"]')).toHaveCount(1, { timeout: 60_000 });
  await expect(timeline).toContainText(`setup-demo: greeting is ${greeting}`);

  let cloud = await ofWorkspace(request, id);
  // The value reached the script at run time, never through the user-data Hetzner keeps.
  expect(cloud.servers[0]!.user_data).toContain("#cloud-config");
  expect(cloud.servers[0]!.user_data).not.toContain(greeting);
  expect(cloud.servers).toHaveLength(1);
  expect(cloud.volumes).toEqual([expect.objectContaining({ server: cloud.servers[0]!.id, size: 10 })]);
  const volumeId = cloud.volumes[0]!.id;

  await inTerminal(page, id, MAKE_WORK);
  await expect(screen(page)).toContainText("written-2");

  await stop(page, id);
  // No server bills; the one volume with the workspace's labels stays, detached.
  await expect.poll(() => billing(request, id), { timeout: 30_000 }).toEqual({ servers: 0, volumes: 1 });
  cloud = await ofWorkspace(request, id);
  expect(cloud.volumes[0]).toMatchObject({
    id: volumeId,
    server: null,
    labels: { "managed-by": "sam", instance: new URL(APP).host.replace(":", "-"), workspace: id },
  });
  await expect(page.getByTestId("volume-price")).toContainText("10 GB");
  await expect(timeline.locator('[data-step="shutdown"][data-status="ok"]')).toHaveCount(1);

  await page.getByRole("button", { name: "Restart" }).click();
  await expect(status(page)).toHaveText("running", { timeout: 90_000 });
  cloud = await ofWorkspace(request, id);
  expect(cloud.volumes).toEqual([expect.objectContaining({ id: volumeId, server: cloud.servers[0]!.id })]);

  // The setup's marker in the home survived too: the setup ran once, on the volume's first boot.
  await inTerminal(page, id, `${CHECK_WORK}; test -s ~/setup-marker && echo marker-$((3*3))`);
  await expect(screen(page)).toContainText("kept-42");
  await expect(screen(page)).toContainText("tool-5");
  await expect(screen(page)).toContainText("marker-9");

  await page.goto(`/workspaces/${id}`);
  await expect(timeline.locator('[data-step="agent.setup"]')).toHaveCount(1);
  await expect(timeline.locator('[data-step="volume"][data-status="info"]')).toHaveCount(1);

  await remove(page, id);
  await expect.poll(() => billing(request, id), { timeout: 45_000 }).toEqual({ servers: 0, volumes: 0 });
});

test("an idle stop loses nothing: the uncommitted file is there after restart", async ({ page, request }) => {
  await ready(page);
  const id = await create(page, "e2e volume idle", "sam-dev/hello-world");
  await expect(status(page)).toHaveText("running", { timeout: 90_000 });
  await inTerminal(page, id, MAKE_WORK);
  await expect(screen(page)).toContainText("written-2");

  // The shortest idle timeout the form offers is 15 minutes; shorten it for the test.
  await sql(page, id, `UPDATE workspaces SET idle_timeout_seconds = 1 WHERE id = '${id}'`);
  // The next heartbeat (every 30 s) or sweep finds it idle: the server shuts down and goes, the volume stays.
  await expect(status(page)).toHaveText("stopped", { timeout: 120_000 });
  await expect(page.getByRole("list", { name: "Timeline" })).toContainText("No input or output for the idle timeout");
  await expect.poll(() => billing(request, id), { timeout: 30_000 }).toEqual({ servers: 0, volumes: 1 });

  await page.getByRole("button", { name: "Restart" }).click();
  await expect(status(page)).toHaveText("running", { timeout: 90_000 });
  await inTerminal(page, id, CHECK_WORK);
  await expect(screen(page)).toContainText("kept-42");
  await expect(screen(page)).toContainText("tool-5");

  await remove(page, id);
  await expect.poll(() => billing(request, id), { timeout: 45_000 }).toEqual({ servers: 0, volumes: 0 });
});

const createFaults: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    "volume create refused",
    { service: "hetzner", method: "POST", path: "^/volumes$", fault: { hetzner_error: "resource_limit_exceeded" } },
    /resource limit/,
  ],
  [
    "volume create fails",
    { service: "hetzner", action: "create_volume", fault: { action_error: { message: "volume create failed" } } },
    /volume create failed/,
  ],
  [
    "volume attach refused",
    { service: "hetzner", method: "POST", path: "^/servers$", fault: { hetzner_error: "volume_already_attached" } },
    /Hetzner refused the request/,
  ],
  [
    "server create refused",
    { service: "hetzner", method: "POST", path: "^/servers$", fault: { hetzner_error: "resource_unavailable" } },
    /no capacity/,
  ],
];

for (const [name, fault, message] of createFaults) {
  test(`a create whose ${name} leaves nothing billing`, async ({ page, request }) => {
    await ready(page);
    await injectFault(request, fault);
    const id = await create(page, `e2e ${name}`, "sam-dev/hello-world");
    await expect(status(page)).toHaveText("error", { timeout: 60_000 });
    await expect(page.getByTestId("workspace-error")).toContainText(message);
    await expect.poll(() => billing(request, id), { timeout: 30_000 }).toEqual({ servers: 0, volumes: 0 });
    await clearFaults(request);
    await remove(page, id);
  });
}

test("a restart whose location is sold out says the volume cannot move and keeps only the volume", async ({
  page,
  request,
}) => {
  await ready(page);
  const id = await create(page, "e2e volume sold out", "sam-dev/hello-world");
  await expect(status(page)).toHaveText("running", { timeout: 90_000 });
  await stop(page, id);
  await injectFault(request, {
    service: "hetzner",
    method: "POST",
    path: "^/servers$",
    fault: { hetzner_error: "resource_unavailable" },
  });
  await page.getByRole("button", { name: "Restart" }).click();
  await expect(status(page)).toHaveText("error", { timeout: 60_000 });
  await expect(page.getByTestId("workspace-error")).toContainText("a volume cannot move to another location");
  await expect.poll(() => billing(request, id), { timeout: 30_000 }).toEqual({ servers: 0, volumes: 1 });
  await clearFaults(request);

  // A volume delete Hetzner refuses: the workspace goes, the volume stays labelled, and the next sweep deletes it.
  await injectFault(request, {
    service: "hetzner",
    method: "DELETE",
    path: "^/volumes/\\d+$",
    times: 20,
    fault: { hetzner_error: "server_error" },
  });
  await remove(page, id);
  await expect.poll(async () => (await ofWorkspace(request, id)).servers.length, { timeout: 30_000 }).toBe(0);
  expect(await billing(request, id)).toEqual({ servers: 0, volumes: 1 });
  await clearFaults(request);
  await expect
    .poll(
      async () => {
        await sweep(request);
        return billing(request, id);
      },
      { timeout: 60_000, intervals: [2000] },
    )
    .toEqual({ servers: 0, volumes: 0 });
});

test("a labelled volume no workspace owns is deleted by the next sweep", async ({ page, request }) => {
  await ready(page);
  const orphan = await request.post(`${CLOUD}/hetzner/v1/volumes`, {
    headers: { Authorization: `Bearer ${LOCAL_HETZNER_TOKEN}` },
    data: {
      name: "sam-gonegonegone",
      size: 10,
      location: "fsn1",
      format: "ext4",
      labels: { "managed-by": "sam", instance: new URL(APP).host.replace(":", "-"), workspace: "gonegonegone" },
    },
  });
  expect(orphan.status(), await orphan.text()).toBe(201);
  const volumeId = (await orphan.json()).volume.id as number;
  await expect
    .poll(async () => (await sweep(request)).orphanVolumesDeleted.includes(volumeId), {
      timeout: 60_000,
      intervals: [2000],
    })
    .toBe(true);
  const state = await cloudState<CloudState>(request);
  expect(state.volumes.some((volume) => volume.id === volumeId)).toBe(false);
});
