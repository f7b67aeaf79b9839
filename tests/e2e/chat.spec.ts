import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import { LOCAL_ANTHROPIC_API_KEY } from "../../scripts/local-cloud/server";
import {
  CLOUD,
  cloudState,
  expectAccessible,
  filesContaining,
  installApp,
  processes,
  processTree,
  readProcFile,
  saveHetznerToken,
  signIn,
} from "./helpers";

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
/** The workspace's volume as the server mounts it: the repository, the user's home and the agent's chat logs. */
let volumeDir: string;
let readme: string;
/** The first test's chat, which the later ones go on with, and the agent's origin its page attaches to. */
let firstChat: { id: string; agentOrigin: string };

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
  const volumes = state.volumes.filter((v: { labels: Record<string, string> }) => v.labels.workspace === workspaceId);
  expect(volumes).toHaveLength(1);
  volumeDir = join(serverDir, "mnt", `HC_Volume_${volumes[0].id}`);
  // The local cloud mounts a volume as a symbolic link; Claude Code's working directory is where it leads, and
  // a path through the link counts as outside it (a permission asked even to read).
  readme = join(realpathSync(volumeDir), "workspace", "README.md");
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
  firstChat = { id: chatId, agentOrigin };
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
  // The chat is named in the tabs by its first prompt (earlier conversations are found again that way).
  await expect(page.getByRole("link", { name: "Add a line to the README" })).toHaveAttribute("aria-current", "page");
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
  // Stop once the model is answering, so this is the Stop of a turn in full flight (a Stop while the adapter
  // still starts is the acp tests' business): the stand-in answers once the turn's request is held.
  expect((await request.get(`${CLOUD}/_local/anthropic/held/stop-turn`, { timeout: 90_000 })).ok()).toBeTruthy();
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

/** The sequence numbers of the events the page's transcript shows, item by item in page order. */
async function shownSeqs(page: Page): Promise<number[]> {
  return page
    .getByRole("list", { name: "Conversation" })
    .locator("[data-seqs]")
    .evaluateAll((items) => items.flatMap((item) => item.getAttribute("data-seqs")!.split(" ").map(Number)));
}

interface LoggedRequest {
  answer: string;
  auth: string;
  status: number;
  hold?: string;
  body?: { messages?: unknown[] };
  toolResults: Array<{ tool_use_id: string; content: unknown; is_error: boolean }>;
}

async function anthropicRequests(request: APIRequestContext): Promise<LoggedRequest[]> {
  return (await request.get(`${CLOUD}/_local/anthropic/requests`)).json();
}

/** Empties the stand-in and queues a turn's replies (each for a request that offers Claude Code's tools). */
async function scriptTurn(request: APIRequestContext, replies: Array<Record<string, unknown>>) {
  expect((await request.post(`${CLOUD}/_local/anthropic/reset`)).ok()).toBeTruthy();
  const data = replies.map((reply) => ({ ...reply, withTools: true }));
  expect((await request.post(`${CLOUD}/_local/anthropic/replies`, { data })).status()).toBe(201);
}

/** Opens the first test's chat with its whole conversation loaded. */
async function openFirstChat(page: Page) {
  await signIn(page);
  await page.goto(`/workspaces/${workspaceId}/chat/${firstChat.id}`);
  await expect(page.locator("#chat-state")).toHaveText("Connected");
  await expect(page.getByText("Loading the conversation…")).toHaveCount(0);
  await expect(page.getByTestId("agent-message").first()).toBeVisible();
}

/** Sends a message and waits for the turn to end with the agent's last words. */
async function ask(page: Page, message: string, answer: string | RegExp) {
  await page.getByLabel("Message").fill(message);
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("agent-message").last()).toHaveText(answer, { timeout: 60_000 });
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Stop" })).toHaveCount(0);
}

test("Deny refuses an edit: the tool call fails, the agent is told and answers, the file stays as it was", async ({
  page,
  request,
}) => {
  const before = readFileSync(readme, "utf8");
  const firstLine = before.split("\n")[0]!;
  await scriptTurn(request, [
    { text: ["Reading ", "it again."], toolUse: { name: "Read", input: { file_path: readme } } },
    {
      text: ["Renaming ", "the title."],
      toolUse: {
        id: "toolu_denied_edit",
        name: "Edit",
        input: { file_path: readme, old_string: firstLine, new_string: "# A title nobody asked for" },
      },
    },
    { text: ["Understood: ", "README.md stays ", "as it is."] },
  ]);
  await openFirstChat(page);
  const cards = await page.getByTestId("tool-call").count();

  await page.getByLabel("Message").fill("Rename the README's title");
  await page.getByRole("button", { name: "Send" }).click();
  const permission = page.getByRole("group", { name: /The agent asks/ });
  await expect(permission).toBeVisible({ timeout: 60_000 });
  await expect(permission.getByRole("button", { name: "Allow once" })).toBeVisible();
  await permission.getByRole("button", { name: "Deny" }).click();
  await expect(permission).toHaveCount(0);

  // The turn goes on: the edit's card says it failed, and the agent answers after hearing of the refusal.
  await expect(page.getByTestId("agent-message").last()).toHaveText(
    /^Agent: Understood: README\.md stays as it is\.$/,
    { timeout: 60_000 },
  );
  const edit = page.getByTestId("tool-call").nth(cards + 1);
  await expect(edit).toHaveAttribute("data-status", "failed");
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  expect(readFileSync(readme, "utf8")).toBe(before);

  // The model was told: the request after the edit carries its tool result as an error naming the refusal.
  const told = (await anthropicRequests(request))
    .flatMap((r) => r.toolResults)
    .filter((result) => result.tool_use_id === "toolu_denied_edit");
  expect(told).toEqual([expect.objectContaining({ is_error: true })]);
  expect(JSON.stringify(told[0]!.content)).toMatch(/refused|rejected|denied|doesn't want/i);
  // The agent's log: the request offered Deny (reject_once), and the answer was that option.
  const log = await readEventLog(page, firstChat.agentOrigin, firstChat.id, 0);
  const asked = log.filter((event) => event.kind === "permission_requested").at(-1)!;
  const deny = (asked.data.options as Array<{ optionId: string; kind: string }>).find((o) => o.kind === "reject_once")!;
  expect(log.filter((event) => event.kind === "permission_answered").at(-1)!.data).toMatchObject({
    requestId: asked.data.requestId,
    outcome: "selected",
    optionId: deny.optionId,
  });
});

test("a reload while the model holds a turn shows the same events once, then the rest; a second tab follows live", async ({
  page,
  request,
}) => {
  await scriptTurn(request, [
    { text: ["Looking ", "once more."], toolUse: { name: "Read", input: { file_path: readme } } },
    { text: ["Back ", "after ", "the wait."], hold: "reload-turn" },
  ]);
  await openFirstChat(page);
  await page.getByLabel("Message").fill("Look again, slowly");
  await page.getByRole("button", { name: "Send" }).click();
  // The model holds the turn's second call open: what came before it is on the page, the rest is not.
  expect((await request.get(`${CLOUD}/_local/anthropic/held/reload-turn`, { timeout: 90_000 })).ok()).toBeTruthy();
  await expect(page.getByTestId("agent-message").last()).toHaveText(/^Agent: Looking once more\.$/);
  await expect(page.getByTestId("tool-call").last()).toHaveAttribute("data-status", "completed");
  await expect(page.locator("#chat-state")).toContainText("the agent is working");
  const before = await shownSeqs(page);
  expect(new Set(before).size).toBe(before.length);

  // A second tab on the same chat shows the same events.
  const second = await page.context().newPage();
  await second.goto(page.url());
  await expect(second.locator("#chat-state")).toContainText("the agent is working");
  await expect.poll(() => shownSeqs(second)).toEqual(before);

  // The reload asks for everything again and shows exactly what the page showed, each once.
  await page.reload();
  await expect(page.locator("#chat-state")).toContainText("the agent is working");
  await expect(page.getByText("Loading the conversation…")).toHaveCount(0);
  await expect.poll(() => shownSeqs(page)).toEqual(before);

  expect((await request.post(`${CLOUD}/_local/anthropic/release/reload-turn`)).ok()).toBeTruthy();
  for (const tab of [page, second]) {
    await expect(tab.getByTestId("agent-message").last()).toHaveText(/^Agent: Back after the wait\.$/, {
      timeout: 60_000,
    });
    await expect(tab.getByRole("button", { name: "Send" })).toBeVisible();
  }
  const after = await shownSeqs(page);
  expect(new Set(after).size, "an event shown twice").toBe(after.length);
  expect(after).toEqual(expect.arrayContaining(before));
  const added = after.filter((seq) => !before.includes(seq));
  expect(added.length).toBeGreaterThan(0);
  expect(Math.min(...added)).toBeGreaterThan(Math.max(...before));
  // The tab that stayed got the rest live, the same events; both are at the log's end.
  await expect.poll(() => shownSeqs(second)).toEqual(after);
  const log = await readEventLog(page, firstChat.agentOrigin, firstChat.id, 0);
  const logged = log.map((event) => event.seq);
  expect(logged).toEqual(expect.arrayContaining(after));
  for (const tab of [page, second])
    await expect(tab.getByRole("list", { name: "Conversation" })).toHaveAttribute(
      "data-last-seq",
      String(logged.at(-1)),
    );
  await second.close();
});

test("an adapter killed between turns is started again and the next prompt goes on with the same conversation", async ({
  page,
  request,
}) => {
  await openFirstChat(page);
  // Each chat with a turn behind it has an adapter: a child of the agent running claude-agent-acp and leading
  // its own process group. This chat's is the one its log says started last.
  const server = (
    await cloudState<{ servers: Array<{ labels: Record<string, string>; agent: { pid: number } }> }>(request)
  ).servers.find((s) => s.labels.workspace === workspaceId)!;
  const adapters = processTree(server.agent.pid).filter(
    (p) => p.ppid === server.agent.pid && p.cmdline.includes("claude-agent-acp"),
  );
  const earlier = await readEventLog(page, firstChat.agentOrigin, firstChat.id, 0);
  const started = earlier.filter((event) => event.kind === "adapter_started").at(-1)!.data.pid;
  const killed = adapters.find((p) => p.pid === started)!;
  expect(killed, `chat 1's adapter (pid ${started}) among ${JSON.stringify(adapters)}`).toBeDefined();
  expect(killed.pgid).toBe(killed.pid);
  const conversation = earlier.filter((event) => event.kind === "conversation_started").at(-1)!.data.sessionId;
  const lastSeq = earlier.at(-1)!.seq;

  process.kill(-killed.pid, "SIGKILL");
  await expect
    .poll(async () =>
      (await readEventLog(page, firstChat.agentOrigin, firstChat.id, lastSeq)).some(
        (event) => event.kind === "adapter_exited" && event.data.pid === killed.pid,
      ),
    )
    .toBe(true);
  expect(processes().some((p) => p.pid === killed.pid)).toBe(false);
  // Between turns the end of the process is no news for the person: no notice.
  await expect(page.getByText("The agent's process ended")).toHaveCount(0);

  await scriptTurn(request, [{ text: ["Yes: ", "a line added, ", "a rename refused."] }]);
  await ask(page, "What have we done so far?", /^Agent: Yes: a line added, a rename refused\.$/);

  // A new adapter reloaded the conversation (session/load), rather than starting a new one.
  const since = await readEventLog(page, firstChat.agentOrigin, firstChat.id, lastSeq);
  const restarted = since.find((event) => event.kind === "adapter_started")!;
  expect(restarted.data.pid).not.toBe(killed.pid);
  expect(since.filter((event) => event.kind === "conversation_resumed")).toEqual([
    expect.objectContaining({ data: { sessionId: conversation } }),
  ]);
  expect(since.filter((event) => event.kind === "conversation_started")).toEqual([]);
  // The model got the earlier turns in the new request's history: it is the same conversation.
  const answered = (await anthropicRequests(request)).find((r) => r.answer === "scripted")!;
  const history = JSON.stringify(answered.body?.messages);
  for (const earlierPrompt of ["Add a line to the README", "Rename the README's title", "Look again, slowly"])
    expect(history).toContain(earlierPrompt);
  expect(history).toContain("Back after the wait.");
  expect(history).toContain("What have we done so far?");
});

test("the saved Anthropic key reaches the model, yet is in no command line, environment or file of the server", async ({
  page,
  request,
}) => {
  await scriptTurn(request, [{ text: ["Checked."] }]);
  await openFirstChat(page);
  await ask(page, "One more check", /^Agent: Checked\.$/);
  // The turn's calls reached the model with the saved key (the stand-in accepts no other), logged without it.
  const calls = await anthropicRequests(request);
  expect(calls.filter((r) => r.answer === "scripted")).toEqual([
    expect.objectContaining({ auth: "api-key", status: 200 }),
  ]);
  const key = Buffer.from(LOCAL_ANTHROPIC_API_KEY);
  expect(JSON.stringify(calls)).not.toContain(LOCAL_ANTHROPIC_API_KEY);

  // No command line on this machine holds it.
  const withKey = processes().filter((p) => readProcFile(p.pid, "cmdline")?.includes(key));
  expect(withKey.map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);

  // No environment in the server's process tree: the agent, the adapter, Claude Code, shells.
  const state = await cloudState<{
    servers: Array<{ labels: Record<string, string>; agent: { pid: number }; user_data: string | null }>;
  }>(request);
  // Not in the user-data the server booted with (Hetzner keeps it, readable with the project's token).
  const userData = state.servers.find((s) => s.labels.workspace === workspaceId)!.user_data;
  expect(userData).toContain("#cloud-config");
  expect(userData).not.toContain(LOCAL_ANTHROPIC_API_KEY);
  const agentPid = state.servers.find((s) => s.labels.workspace === workspaceId)!.agent.pid;
  const tree = processTree(agentPid);
  const adapters = tree.filter((p) => p.ppid === agentPid && p.cmdline.includes("claude-agent-acp"));
  expect(adapters.length, "adapters running").toBeGreaterThan(0);
  const environs = tree.map((p) => ({ process: p, environ: readProcFile(p.pid, "environ") }));
  const read = environs.filter(({ environ }) => environ !== null).map(({ process }) => process.pid);
  expect(read).toEqual(expect.arrayContaining([agentPid, ...adapters.map((p) => p.pid)]));
  expect(
    environs.filter(({ environ }) => environ?.includes(key)).map(({ process }) => `${process.pid} ${process.cmdline}`),
  ).toEqual([]);

  // No file the server has: what cloud-init wrote (/etc/sam), the agent's data and run directories, the logs,
  // and on the volume the repository, the session user's home and the chat logs. Only the tools npm installed
  // under /opt are left out.
  expect(filesContaining(serverDir, key, (path) => path === join(serverDir, "opt"))).toEqual([]);
  expect(filesContaining(realpathSync(volumeDir), key)).toEqual([]);
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
  // (The tabs: Terminal, the two chats, named by their first prompts, and New chat.)
  await expect(page.getByRole("navigation", { name: "Terminal and chats" }).getByRole("link")).toHaveCount(4);
  await alert.getByRole("link", { name: "Open Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
});
