import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { LOCAL_ANTHROPIC_API_KEY } from "../../scripts/local-cloud/server";
import { CLOUD, expectAccessible, installApp, saveHetznerToken, signIn } from "./helpers";

/**
 * A coding-agent chat in the browser, end to end: the real Claude Code ACP adapter on a local server, its
 * model calls through the agent's model proxy to the local Anthropic stand-in, which answers from the replies
 * queued here (text in chunks, then tool calls). What the page shows is checked, and so is the agent's own
 * event log and the file on the server.
 */
test.describe.configure({ mode: "serial" });
test.setTimeout(420_000);

const ADDED_LINE = "A line the chat added.";
let workspaceId: string;
let serverDir: string;

/** Creates a workspace from sam-dev/hello-world with Claude Code installed. */
async function createClaudeWorkspace(page: Page, name: string): Promise<string> {
  await page.goto("/dashboard");
  await page.getByRole("link", { name: "New workspace" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Repository").fill("sam-dev/hello-world");
  await page.getByLabel("Small").check();
  await page.getByLabel("Claude Code").check();
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/workspaces\/[a-z2-7]{12}$/);
  return page.url().split("/").pop()!;
}

interface LoggedEvent {
  seq: number;
  kind: string;
  data: { sessionUpdate?: string; [key: string]: unknown };
}

/**
 * Reads the chat's event log as a second client would: a WebSocket from this page with a fresh terminal token,
 * attached after `after`, collecting until the log goes quiet.
 */
async function readEventLog(page: Page, agentOrigin: string, chatId: string, after: number): Promise<LoggedEvent[]> {
  return page.evaluate(
    async ({ workspaceId, agentOrigin, chatId, after }) => {
      const { token } = (await (await fetch(`/workspaces/${workspaceId}/terminal/token`)).json()) as { token: string };
      const url = new URL(`/api/chats/${chatId}/attach?after=${after}`, agentOrigin);
      const socket = new WebSocket(url, ["sam.chat.v1", `bearer.${token}`]);
      const events: LoggedEvent[] = [];
      return new Promise<LoggedEvent[]>((resolve, reject) => {
        let quiet: ReturnType<typeof setTimeout> | undefined;
        const done = () => {
          socket.close();
          resolve(events);
        };
        socket.onerror = () => reject(new Error("the chat socket failed"));
        socket.onmessage = (message) => {
          const frame = JSON.parse(message.data as string);
          if (frame.type === "event") events.push(frame.event);
          clearTimeout(quiet);
          quiet = setTimeout(done, 1000);
        };
      });
    },
    { workspaceId, agentOrigin, chatId, after },
  );
}

test.beforeAll(async ({ browser, request }) => {
  // The boot installs Claude Code and its adapter with npm: minutes on a cold cache.
  test.setTimeout(420_000);
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
  workspaceId = await createClaudeWorkspace(page, "e2e chat");
  // Ready once the boot has installed Claude Code and its ACP adapter (or said why it could not).
  await expect(page.locator("h1 [data-status]")).toHaveText("running", { timeout: 300_000 });
  await page.close();
  const state = await (await request.get(`${CLOUD}/_local/state`)).json();
  const server = state.servers.find((s: { labels: Record<string, string> }) => s.labels.workspace === workspaceId);
  serverDir = server.agent.dir;
});

// What the adapter asked the model, for a failing run's report: which request took which scripted reply.
test.afterEach(async ({ request }, testInfo) => {
  if (testInfo.status === testInfo.expectedStatus) return;
  const requests = (await (await request.get(`${CLOUD}/_local/anthropic/requests`)).json()) as Array<{
    path: string;
    body?: { model?: string; max_tokens?: number; tools?: unknown[] };
    answer: string;
    status: number;
    toolResults: unknown[];
  }>;
  const summary = requests.map((r) => ({
    path: r.path,
    model: r.body?.model,
    max_tokens: r.body?.max_tokens,
    tools: r.body?.tools?.length ?? 0,
    answer: r.answer,
    status: r.status,
    toolResults: JSON.stringify(r.toolResults).slice(0, 300),
  }));
  await testInfo.attach("anthropic-requests.json", {
    body: JSON.stringify(summary, null, 2),
    contentType: "application/json",
  });
});

test("ask Claude Code to add a line to the README: streamed text, a permission, a tool card with the diff", async ({
  page,
  request,
}) => {
  const readme = join(serverDir, "workspace", "README.md");
  const original = readFileSync(readme, "utf8");
  const firstLine = original.split("\n")[0]!;
  expect((await request.post(`${CLOUD}/_local/anthropic/reset`)).ok()).toBeTruthy();
  // The turn's three model calls (each offers Claude Code's tools); its side requests get the default reply.
  const replies = [
    { text: ["I'll read ", "the README ", "first."], toolUse: { name: "Read", input: { file_path: readme } } },
    {
      text: ["Now ", "adding the line."],
      toolUse: {
        name: "Edit",
        input: { file_path: readme, old_string: firstLine, new_string: `${firstLine}\n${ADDED_LINE}` },
      },
    },
    { text: ["Added ", "the line ", "to **README.md**."] },
  ].map((reply) => ({ ...reply, withTools: true }));
  expect((await request.post(`${CLOUD}/_local/anthropic/replies`, { data: replies })).status()).toBe(201);

  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}`);
  const attached = page.waitForEvent("websocket", (socket) => socket.url().includes("/api/chats/"));
  await page.getByRole("link", { name: "Open chat" }).click();
  await expect(page).toHaveURL(new RegExp(`/workspaces/${workspaceId}/chat/(?!new)[\\w-]+$`));
  const chatId = page.url().split("/").pop()!;
  // The page attaches straight to the agent, asking for everything (a new page has seen nothing).
  const socketUrl = new URL((await attached).url());
  expect(socketUrl.pathname).toBe(`/api/chats/${chatId}/attach`);
  expect(socketUrl.searchParams.get("after")).toBe("0");
  const agentOrigin = socketUrl.origin;
  await expect(page.locator("#chat-state")).toHaveText("Connected");
  await expectAccessible(page, "a new chat");

  await page.getByLabel("Message").fill("Add a line to the README");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("list", { name: "Conversation" })).toContainText("Add a line to the README");

  // Claude Code's default mode asks before an edit: the page shows the question with the edit's diff.
  const permission = page.getByRole("group", { name: /The agent asks/ });
  await expect(permission).toBeVisible({ timeout: 60_000 });
  await expectAccessible(page, "a chat asking for permission");
  await permission.getByRole("button", { name: "Allow once" }).click();
  await expect(permission).toHaveCount(0);

  const edit = page.getByTestId("tool-call").filter({ has: page.getByTestId("diff") });
  await expect(edit).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(edit.getByTestId("diff")).toContainText("+1 −0");
  await expect(edit.locator('[data-op="add"]')).toHaveText(`+ added: ${ADDED_LINE}`);
  await expect(page.getByTestId("agent-message").last()).toHaveText(/^Agent: Added the line to README\.md\.$/);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await expect(page.getByTestId("chat-usage")).toContainText("tokens in");

  // The file on the workspace has the line.
  expect(readFileSync(readme, "utf8")).toBe(original.replace(firstLine, `${firstLine}\n${ADDED_LINE}`));

  // The agent's log: the text arrived in chunks, and "after N" gives exactly the events after N.
  const log = await readEventLog(page, agentOrigin, chatId, 0);
  expect(log.map((event) => event.seq)).toEqual(log.map((_, index) => index + 1));
  const chunks = log.filter((event) => event.data?.sessionUpdate === "agent_message_chunk");
  expect(chunks.length).toBeGreaterThanOrEqual(3);
  expect(log.filter((event) => event.kind === "prompt_ended")).toEqual([
    expect.objectContaining({ data: expect.objectContaining({ stopReason: "end_turn" }) }),
  ]);
  const middle = Math.floor(log.length / 2);
  const rest = await readEventLog(page, agentOrigin, chatId, middle);
  expect(rest.map((event) => event.seq)).toEqual(log.slice(middle).map((event) => event.seq));

  // A reload shows the same conversation once: one question, one edit card, one final answer.
  await page.reload();
  await expect(page.getByTestId("agent-message").last()).toHaveText(/^Agent: Added the line to README\.md\.$/);
  await expect(page.getByRole("list", { name: "Conversation" }).getByText("Add a line to the README")).toHaveCount(1);
  await expect(page.getByTestId("tool-call").filter({ has: page.getByTestId("diff") })).toHaveCount(1);
  await expect(page.getByRole("link", { name: "Chat 1" })).toHaveAttribute("aria-current", "page");
});

test("a second chat from the terminal; Stop ends a turn the model is still answering", async ({ page, request }) => {
  expect((await request.post(`${CLOUD}/_local/anthropic/reset`)).ok()).toBeTruthy();
  const held = { text: ["This answer never comes."], hold: "stop-turn", withTools: true };
  expect((await request.post(`${CLOUD}/_local/anthropic/replies`, { data: held })).status()).toBe(201);

  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}/terminal`);
  // The terminal page picks its session first (a replacing navigation); the link is for after that.
  await expect(page).toHaveURL(/\?session=/);
  await page.getByRole("link", { name: "New chat" }).click();
  await expect(page.getByRole("link", { name: "Chat 2" })).toHaveAttribute("aria-current", "page");
  await expect(page.locator("#chat-state")).toHaveText("Connected");
  await page.getByLabel("Message").fill("Take your time");
  await page.keyboard.press("Enter");
  await expect(page.locator("#chat-state")).toContainText("the agent is working");
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  // Stop once the model is answering: the agent drops a cancel that arrives while the adapter still starts.
  await expect
    .poll(async () => {
      const requests = (await (await request.get(`${CLOUD}/_local/anthropic/requests`)).json()) as Array<{
        answer: string;
      }>;
      return requests.some((r) => r.answer === "scripted");
    })
    .toBe(true);
  // A second tab on the same chat shows the turn once, live, and cannot send while it runs.
  const second = await page.context().newPage();
  await second.goto(page.url());
  await expect(second.getByRole("list", { name: "Conversation" }).getByText("Take your time")).toHaveCount(1);
  await expect(second.locator("#chat-state")).toContainText("the agent is working");
  await expect(second.getByRole("button", { name: "Send" })).toBeDisabled();

  await page.getByRole("button", { name: "Stop" }).click();
  await expect(page.getByRole("list", { name: "Conversation" })).toContainText("Stopped.", { timeout: 30_000 });
  await expect(second.getByRole("list", { name: "Conversation" })).toContainText("Stopped.");
  await expect(second.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0);
  await expect(page.getByTestId("agent-message")).toHaveCount(0);
});

test("without a credential for the agent the chat says which to add in Settings and starts nothing", async ({
  page,
}) => {
  await signIn(page);
  await page.goto("/settings");
  await page.getByRole("button", { name: "Remove Anthropic API key" }).click();
  await expect(page.getByTestId("saved-anthropic_api_key")).toHaveCount(0);

  await page.goto(`/workspaces/${workspaceId}`);
  await page.getByRole("link", { name: "Open chat" }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toContainText(
    "Claude Code needs a Claude subscription token or an Anthropic API key: add one in Settings",
  );
  await expect(page).toHaveURL(new RegExp(`/workspaces/${workspaceId}/chat/new$`));
  await expectAccessible(page, "a chat without a credential");
  // Still only the two chats of the tests above on the agent.
  await expect(page.getByRole("link", { name: /^Chat \d+$/ })).toHaveCount(2);
  await alert.getByRole("link", { name: "Open Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
});
