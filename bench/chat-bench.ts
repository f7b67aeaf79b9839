// Issue 14's chat figures on the local cloud: prompt submitted → first streamed chunk (the real Claude Code ACP
// adapter on a local server, its model calls through the agent's model proxy to the local Anthropic stand-in,
// which answers at once), and the agent's memory with one idle chat. Runs the real app like bench/app-bench.ts.
//
// The client is a WebSocket speaking the browser's protocol (sam.chat.v1, docs/agent-protocol.md) through the
// local cloud's edge with the page's Origin and token, not Chromium: the page adds only its own rendering to
// the same frames, and on two shared cores Chromium's own work would be most of the noise.
import { readdirSync, readFileSync } from "node:fs";
import WebSocket from "ws";
import { LOCAL_ANTHROPIC_API_KEY } from "../scripts/local-cloud/server";
import { createForm, edgeRequest, signInAndSetUp, startApp } from "./app-bench";
import type { Results } from "./results";
import { percentile } from "./stats";

const APP_PORT = Number(process.env.SAM_E2E_APP_PORT ?? 8938);
const CLOUD_PORT = Number(process.env.SAM_E2E_CLOUD_PORT ?? 8939);
const APP = `http://localhost:${APP_PORT}`;
const CLOUD = `http://127.0.0.1:${CLOUD_PORT}`;
/** Prompts timed, after the chat's first (which also starts the adapter) and one warm-up. */
const PROMPTS = Number(process.env.SAM_BENCH_CHAT_PROMPTS ?? 30);
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ChatEvent {
  seq: number;
  kind: string;
  data?: { sessionUpdate?: string; clientId?: string; stopReason?: string; error?: string };
}

/** One chat attached as the page attaches it; `turn` sends a message and times it. */
class ChatClient {
  private listeners = new Set<(event: ChatEvent) => void>();
  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString("utf8")) as { type: string; event?: ChatEvent; message?: string };
      if (frame.type === "event") for (const listener of this.listeners) listener(frame.event!);
      if (frame.type === "error") console.error(`bench: the agent refused a chat message: ${frame.message}`);
    });
  }

  static open(workspaceId: string, chatId: string, token: string): Promise<ChatClient> {
    const socket = new WebSocket(
      `ws://127.0.0.1:${CLOUD_PORT}/api/chats/${chatId}/attach?after=0`,
      ["sam.chat.v1", `bearer.${token}`],
      { headers: { Host: `ws-${workspaceId}.localhost:${CLOUD_PORT}` }, origin: APP, perMessageDeflate: false },
    );
    return new Promise((resolve, reject) => {
      const client = new ChatClient(socket);
      socket.once("message", () => resolve(client)); // hello
      socket.once("error", reject);
      socket.once("unexpected-response", (_, response) =>
        reject(new Error(`chat attach answered ${response.statusCode}`)),
      );
    });
  }

  /** Sends one message; resolves with the milliseconds to its first agent text chunk and to its end. */
  turn(text: string): Promise<{ firstChunk: number; ended: number }> {
    const clientId = crypto.randomUUID();
    return new Promise((resolve, reject) => {
      let started = false;
      let firstChunk = Number.NaN;
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`the turn "${text}" did not end within 120 s`));
      }, 120_000);
      const listener = (event: ChatEvent) => {
        if (event.kind === "prompt_started" && event.data?.clientId === clientId) started = true;
        if (!started) return;
        if (Number.isNaN(firstChunk) && event.kind === "update" && event.data?.sessionUpdate === "agent_message_chunk")
          firstChunk = performance.now() - t0;
        if (event.kind === "prompt_ended" && event.data?.clientId === clientId) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          if (event.data.error || event.data.stopReason !== "end_turn")
            reject(new Error(`the turn ended ${event.data.stopReason}: ${event.data.error ?? ""}`));
          else if (Number.isNaN(firstChunk)) reject(new Error("the turn ended without any agent text"));
          else resolve({ firstChunk, ended: performance.now() - t0 });
        }
      };
      this.listeners.add(listener);
      const t0 = performance.now();
      this.socket.send(JSON.stringify({ type: "prompt", clientId, text }));
    });
  }

  close() {
    this.socket.terminate();
  }
}

async function saveAnthropicKey(page: import("@playwright/test").Page) {
  await page.goto("/settings");
  await page.getByRole("combobox", { name: "Credential" }).selectOption("anthropic_api_key");
  await page.getByRole("textbox", { name: "Key" }).fill(LOCAL_ANTHROPIC_API_KEY);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByTestId("saved-anthropic_api_key").waitFor();
}

/** Creates a workspace with Claude Code and waits until it runs (the boot installs the CLI and its adapter). */
async function claudeWorkspace(cookie: string): Promise<{ id: string; token: string }> {
  const form = { ...(await createForm(cookie)), name: "bench chat", agentCli: "claude-code" };
  const created = await fetch(`${APP}/workspaces/new`, {
    method: "POST",
    headers: { Cookie: cookie, Origin: APP },
    body: new URLSearchParams(form),
    redirect: "manual",
  });
  const id = /\/workspaces\/([a-z2-7]{12})$/.exec(created.headers.get("location") ?? "")?.[1];
  if (!id) throw new Error(`create answered ${created.status}: ${(await created.text()).slice(0, 500)}`);
  const deadline = Date.now() + 600_000;
  for (;;) {
    const response = await fetch(`${APP}/workspaces/${id}/terminal/token`, {
      headers: { Cookie: cookie, Accept: "application/json" },
    });
    if (response.ok) return { id, token: ((await response.json()) as { token: string }).token };
    if (response.status !== 409) throw new Error(`terminal token: ${response.status}`);
    if (Date.now() > deadline)
      throw new Error(`workspace ${id} not running after 10 minutes (installing Claude Code?)`);
    await sleep(500);
  }
}

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

/** The processes under `root` (its children, theirs…), not `root` itself. */
function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  const found: number[] = [];
  for (let queue = [root]; queue.length; ) {
    const children = parents.get(queue.shift()!) ?? [];
    found.push(...children);
    queue.push(...children);
  }
  return found;
}

/** The median of `samples` readings a quarter of a second apart: one reading can catch a GC or a page-in. */
async function steadyRss(read: () => number, samples = 9): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(read());
    await sleep(250);
  }
  return percentile(values, 50);
}

async function agentPid(workspaceId: string): Promise<number> {
  const state = (await (await fetch(`${CLOUD}/_local/state`)).json()) as {
    servers: Array<{ labels: Record<string, string>; agent: { pid: number | null } }>;
  };
  const pid = state.servers.find((server) => server.labels.workspace === workspaceId)?.agent.pid;
  if (!pid) throw new Error(`the local cloud has no agent process for workspace ${workspaceId}`);
  return pid;
}

export async function chatFigures(results: Results) {
  const stop = await startApp();
  let cookie = "";
  let workspaceId = "";
  try {
    cookie = await signInAndSetUp(saveAnthropicKey);
    const workspace = await claudeWorkspace(cookie);
    workspaceId = workspace.id;
    const pid = await agentPid(workspaceId);
    const before = await steadyRss(() => rss(pid));

    const created = await edgeRequest(workspaceId, "POST", "/api/chats", workspace.token, '{"agent":"claude-code"}');
    if (created.status !== 201) throw new Error(`POST /api/chats answered ${created.status}: ${created.body}`);
    const chatId = (JSON.parse(created.body) as { id: string }).id;
    const chat = await ChatClient.open(workspaceId, chatId, workspace.token);
    try {
      const first = await chat.turn("Say hello");
      results.add("chat: first prompt of a new chat → first chunk (adapter start)", first.firstChunk, "ms");
      await chat.turn("Warm up");
      const firstChunks: number[] = [];
      const turns: number[] = [];
      for (let n = 1; n <= PROMPTS; n++) {
        const timed = await chat.turn(`Message ${n}`);
        firstChunks.push(timed.firstChunk);
        turns.push(timed.ended);
      }
      results.add(`chat: prompt → first streamed chunk p50 (${PROMPTS} prompts)`, percentile(firstChunks, 50), "ms");
      results.add(`chat: prompt → first streamed chunk p95 (${PROMPTS} prompts)`, percentile(firstChunks, 95), "ms");
      results.add(`chat: prompt → turn ended p50 (${PROMPTS} prompts)`, percentile(turns, 50), "ms");
    } finally {
      chat.close();
    }

    // The turns have ended and no browser is attached: the chat is idle, its adapter still running.
    const adapter = descendants(pid);
    if (adapter.length === 0) throw new Error("no adapter process under the agent after the turns");
    results.add("agent RSS, one idle chat session", (await steadyRss(() => rss(pid))) / MB, "MiB", {
      "agent before the chat": before / MB,
    });
    const adapterRss = await steadyRss(() =>
      descendants(pid).reduce((sum, child) => {
        try {
          return sum + rss(child);
        } catch {
          return sum; // a short-lived child ended between the listing and the read
        }
      }, 0),
    );
    results.add("chat adapter RSS, idle (Claude Code ACP, process tree)", adapterRss / MB, "MiB");
  } finally {
    if (workspaceId) {
      await fetch(`${APP}/workspaces/${workspaceId}`, {
        method: "POST",
        headers: { Cookie: cookie, Origin: APP },
        body: new URLSearchParams({ intent: "delete" }),
        redirect: "manual",
      }).catch(() => {});
    }
    await stop();
  }
}
