import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import { LOCAL_ANTHROPIC_API_KEY } from "../../scripts/local-cloud/server";
import { CLOUD, cloudState, expectAccessible, installApp, saveHetznerToken, signIn, sql, sweep } from "./helpers";

/**
 * Tasks end to end (issue 16): a prompt becomes a sam/… branch that only the VM agent pushes, a diff to review
 * with line comments sent back to the agent, and a pull request in the local GitHub; a coding agent's own push is
 * refused and the task says so; a task past its cost cap is stopped by the next sweep. The model is the local
 * Anthropic stand-in, answering from the replies queued here (Claude Code's Bash tool, so no path is needed).
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(420_000);

const REPOSITORY = "sam-dev/hello-world";
let taskId: string;
let workspaceId: string;
let branch: string;
let cloneUrl: string;
let mainBefore: string;

interface CloudState {
  servers: Array<{ labels: Record<string, string>; agent: { dir: string } }>;
  volumes: Array<{ id: number; labels: Record<string, string> }>;
  github: {
    repositories: Array<{ full_name: string; clone_url: string }>;
    pull_requests: Array<{
      repository: string;
      number: number;
      state: string;
      head: string;
      base: string;
      html_url: string;
    }>;
  };
}

/** The tip of a branch in the local GitHub, or null when it has none. */
function remoteSha(ref: string): string | null {
  const out = execFileSync("git", ["ls-remote", cloneUrl, `refs/heads/${ref}`], { encoding: "utf8" }).trim();
  return out ? out.split(/\s+/)[0]! : null;
}

/** Replies for the agent's next turn: a Bash command (asked permission for), then a closing sentence. */
async function queueTurn(request: APIRequestContext, command: string, closing: string) {
  const replies = [
    { text: ["Running ", "a command."], toolUse: { name: "Bash", input: { command, description: command } } },
    { text: [closing] },
  ].map((reply) => ({ ...reply, withTools: true }));
  expect((await request.post(`${CLOUD}/_local/anthropic/replies`, { data: replies })).status()).toBe(201);
}

/** Answers the chat's waiting permission request from the task's Chat tab. */
async function allowFromChat(page: Page) {
  await page.goto(`/tasks/${taskId}?tab=chat`);
  const permission = page.getByRole("group", { name: /The agent asks/ });
  await expect(permission).toBeVisible({ timeout: 120_000 });
  await permission
    .getByRole("button", { name: /^Allow/ })
    .first()
    .click();
  await expect(permission).toHaveCount(0);
}

const taskStatus = (page: Page) => page.getByTestId("task-status").first();

test.beforeAll(async ({ browser, request }) => {
  const page = await browser.newPage();
  await signIn(page);
  await saveHetznerToken(page);
  await expect(page.getByTestId("saved-hetzner")).toBeVisible();
  await installApp(page);
  await page.goto("/settings");
  await page.getByRole("combobox", { name: "Credential" }).selectOption("anthropic_api_key");
  await page.getByRole("textbox", { name: "Key" }).fill(LOCAL_ANTHROPIC_API_KEY);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("saved-anthropic_api_key")).toBeVisible();
  await page.close();
  const state = await cloudState<CloudState>(request);
  cloneUrl = state.github.repositories.find((repository) => repository.full_name === REPOSITORY)!.clone_url;
  mainBefore = remoteSha("main")!;
  expect(mainBefore).toMatch(/^[0-9a-f]{40}$/);
});

test("append hello to README: working, then ready for review on the task's branch; Changes shows README.md +1 −0", async ({
  page,
  request,
}) => {
  expect((await request.post(`${CLOUD}/_local/anthropic/reset`)).ok()).toBeTruthy();
  await queueTurn(request, "echo hello >> README.md", "Appended hello to README.md.");

  await signIn(page);
  await page.goto("/tasks");
  await page.getByRole("link", { name: "New task" }).click();
  await page.getByLabel("Repository").selectOption(REPOSITORY);
  await expect(page.getByLabel("Base branch")).toHaveValue("main");
  await page.getByLabel("Claude Code").check();
  await page.getByLabel("Small").check();
  await page.getByLabel("What should the agent do?").fill("append hello to README");
  await expectAccessible(page, "the new-task form");
  await page.getByRole("button", { name: "Start task" }).click();
  await expect(page).toHaveURL(/\/tasks\/[0-9a-f-]{36}$/);
  taskId = page.url().split("/").pop()!;
  branch = (await page.getByTestId("task-branch").textContent())!.match(/(sam\/[a-z0-9-]+)/)![1]!;
  expect(branch).toMatch(/^sam\/append-hello-to-readme-[a-z2-7]{6}$/);
  workspaceId = (await page.getByTestId("task-workspace").getAttribute("href"))!.split("/").pop()!;

  // The boot installs Claude Code (minutes on a cold cache); then the agent starts the prompt and asks to run Bash.
  await expect(taskStatus(page)).toHaveText(/Working|Needs input/, { timeout: 360_000 });
  await allowFromChat(page);
  await expect(taskStatus(page)).toHaveText("Ready for review", { timeout: 120_000 });

  // The workspace's checkout is on the task's branch, and the branch is in the local GitHub; main is not moved.
  const state = await cloudState<CloudState>(request);
  const server = state.servers.find((candidate) => candidate.labels.workspace === workspaceId)!;
  const volume = state.volumes.find((candidate) => candidate.labels.workspace === workspaceId)!;
  const checkout = join(realpathSync(join(server.agent.dir, "mnt", `HC_Volume_${volume.id}`)), "workspace");
  expect(
    execFileSync("git", ["-c", "safe.directory=*", "-C", checkout, "branch", "--show-current"], {
      encoding: "utf8",
    }).trim(),
  ).toBe(branch);
  expect(remoteSha(branch)).toMatch(/^[0-9a-f]{40}$/);
  expect(remoteSha("main")).toBe(mainBefore);

  await page.getByRole("link", { name: "changes" }).click();
  const file = page.getByTestId("changed-file");
  await expect(file).toHaveCount(1);
  await expect(file.getByTestId("changed-file-path")).toHaveText("README.md");
  await expect(file.getByRole("heading")).toContainText("+1");
  await expect(file.getByRole("heading")).toContainText("−0");
  await expectAccessible(page, "a task's changes");
  await page.goto("/tasks");
  await expect(page.getByRole("list", { name: "Your tasks" })).toContainText("append hello to README");
  await expectAccessible(page, "the task list");
  // The dashboard lists the newest tasks with their status, each leading to its review page.
  await page.goto("/dashboard");
  const recent = page.getByTestId("recent-task").filter({ hasText: "append hello to README" });
  await expect(recent.getByTestId("task-status")).toHaveAttribute("data-status", "ready");
  await expectAccessible(page, "the dashboard with a task");
  await recent.getByRole("link", { name: /append hello to README/ }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${taskId}$`));
});

test("a comment on a changed line reaches the agent as one prompt naming the file and line; the diff updates", async ({
  page,
  request,
}) => {
  expect((await request.post(`${CLOUD}/_local/anthropic/reset`)).ok()).toBeTruthy();
  await queueTurn(request, "echo world >> README.md", "Added world after hello.");
  await signIn(page);
  await page.goto(`/tasks/${taskId}?tab=changes`);
  const added = page.getByRole("button", { name: /^Comment on README\.md line \d+: \+hello$/ }).last();
  const line = Number((await added.textContent())!.match(/line (\d+)/)![1]);
  await added.click();
  await page.getByLabel(`Comment on line ${line}`).fill("Add world on the next line");
  await page.getByRole("button", { name: "Add comment" }).click();
  await page.getByRole("button", { name: "Send 1 comment to the agent" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Sent 1 comment" })).toBeVisible();

  // The agent's model saw one prompt naming the file, the line and the comment.
  await expect
    .poll(async () => JSON.stringify(await (await request.get(`${CLOUD}/_local/anthropic/requests`)).json()), {
      timeout: 60_000,
    })
    .toContain(`README.md, line ${line}: Add world on the next line`);
  await allowFromChat(page);
  await expect(taskStatus(page)).toHaveText("Ready for review", { timeout: 120_000 });
  await page.getByRole("link", { name: "changes" }).click();
  await expect(page.getByTestId("changed-file").getByRole("heading")).toContainText("+2");
});

test("the coding agent trying to push is refused, and the task says so; main is unchanged", async ({
  page,
  request,
}) => {
  expect((await request.post(`${CLOUD}/_local/anthropic/reset`)).ok()).toBeTruthy();
  await queueTurn(request, "git push origin HEAD:main", "I tried to push.");
  await signIn(page);
  await page.goto(`/tasks/${taskId}?tab=chat`);
  await page.getByLabel("Message").fill("Push your work to main");
  await page.getByRole("button", { name: "Send" }).click();
  const permission = page.getByRole("group", { name: /The agent asks/ });
  await expect(permission).toBeVisible({ timeout: 120_000 });
  await permission
    .getByRole("button", { name: /^Allow/ })
    .first()
    .click();
  await expect(page.getByTestId("agent-message").last()).toContainText("I tried to push.", { timeout: 120_000 });
  await page.reload();
  await expect(page.getByTestId("push-blocked")).toHaveText(
    "The coding agent tried to push; SAM refused it — only SAM pushes the task branch.",
  );
  await expect(page.getByTestId("task-timeline")).toContainText("git push origin HEAD:main");
  expect(remoteSha("main")).toBe(mainBefore);
});

test("Create pull request opens a PR in the local GitHub from the task branch into main; the task links it", async ({
  page,
  request,
}) => {
  await signIn(page);
  await page.goto(`/tasks/${taskId}`);
  await expect(taskStatus(page)).toHaveText("Ready for review", { timeout: 60_000 });
  await page.getByText("Create pull request").click();
  await expect(page.getByLabel("Title")).toHaveValue("append hello to README");
  const body = await page.getByLabel("Description").inputValue();
  expect(body).toContain("append hello to README");
  expect(body).toContain("Made by SAM with Claude Code");
  await page.getByLabel("Title").fill("Say hello in the README");
  await page.getByRole("button", { name: `Open pull request from ${branch} into main` }).click();
  await expect(taskStatus(page)).toHaveText("Pull request open");
  const link = page.getByTestId("task-pull").getByRole("link");
  const state = await cloudState<CloudState>(request);
  const pull = state.github.pull_requests.find((candidate) => candidate.head === branch);
  expect(pull).toMatchObject({ repository: REPOSITORY, base: "main", state: "open" });
  await expect(link).toHaveAttribute("href", pull!.html_url);
  expect(remoteSha("main")).toBe(mainBefore);
});

test("a task past its cost cap is stopped by the next sweep, its branch kept and nothing left billing", async ({
  page,
  request,
}) => {
  await signIn(page);
  await page.goto("/tasks/new");
  await page.getByLabel("Repository").selectOption(REPOSITORY);
  await page.getByLabel("Claude Code").check();
  await page.getByLabel("Small").check();
  await page.getByLabel("What should the agent do?").fill("write a long essay");
  await page.getByLabel("Cost cap in euros (optional)").fill("0.10");
  await page.getByRole("button", { name: "Start task" }).click();
  await expect(page).toHaveURL(/\/tasks\/[0-9a-f-]{36}$/);
  const cappedTask = page.url().split("/").pop()!;
  await expect(page.getByText("cap €0.10")).toBeVisible();
  const cappedWorkspace = (await page.getByTestId("task-workspace").getAttribute("href"))!.split("/").pop()!;
  await expect(taskStatus(page)).toHaveText(/Working|Needs input|Ready for review/, { timeout: 360_000 });

  // A hundred server hours already billed: past €0.10 at any Hetzner price.
  await sql(page, cappedWorkspace, `UPDATE workspaces SET billed_seconds = 360000 WHERE id = '${cappedWorkspace}'`);
  await sweep(request);
  await page.goto(`/tasks/${cappedTask}`);
  await expect(taskStatus(page)).toHaveText("Failed");
  await expect(page.getByRole("alert").filter({ hasText: "Stopped at its cost cap of €0.10" })).toBeVisible();
  await expect
    .poll(async () => {
      const state = await cloudState<CloudState>(request);
      return state.servers.filter((server) => server.labels.workspace === cappedWorkspace).length;
    })
    .toBe(0);
  await page.goto(`/workspaces/${cappedWorkspace}`);
  await expect(page.locator("h1 [data-status]")).toHaveText("stopped", { timeout: 90_000 });
});
