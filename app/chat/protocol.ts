/**
 * The chat protocol, browser side (sam.chat.v1; the agent's side is agent/internal/server/chat.go and
 * docs/agent-protocol.md describes both). Every frame is one JSON text message. The chat is an append-only
 * log of numbered events: `transcript` folds them, in order and each once, into what the page shows.
 */
export const SUBPROTOCOL = "sam.chat.v1";
export const PROTOCOL_VERSION = 1;

export interface ChatInfo {
  id: string;
  agent: string;
  created_at: string;
  busy: boolean;
  last_seq: number;
  /** The start of the first prompt ("" before it); the chat's name in the tabs. */
  title?: string;
  last_activity_at?: string;
}

export interface ChatEvent {
  seq: number;
  time: string;
  kind: string;
  data?: unknown;
}

export type ServerMessage =
  | { type: "hello"; chat: ChatInfo; protocol: number }
  | { type: "event"; event: ChatEvent }
  | { type: "error"; message: string; clientId?: string };

export type ClientMessage =
  | { type: "prompt"; clientId: string; text: string }
  | { type: "cancel" }
  | { type: "permission"; requestId: string; optionId: string };

/** Close codes after which reattaching cannot help (the chat was deleted). */
export const CloseCode = { chatGone: 4404 } as const;

/** The agent's limit on a prompt's text (its frames are at most 80 KiB, envelope included). */
export const MAX_PROMPT_CHARS = 64 * 1024;

export function subprotocols(token: string): string[] {
  return [SUBPROTOCOL, `bearer.${token}`];
}

/** The attach URL on the agent: ws(s), with the last sequence number this page has shown. */
export function attachUrl(agentUrl: string, chatId: string, after: number): string {
  const url = new URL(`/api/chats/${encodeURIComponent(chatId)}/attach`, agentUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("after", String(after));
  return url.toString();
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function parseServerMessage(text: string): ServerMessage | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(message)) return null;
  if (message.type === "hello" && isObject(message.chat) && typeof message.protocol === "number")
    return message as ServerMessage;
  if (
    message.type === "event" &&
    isObject(message.event) &&
    Number.isInteger(message.event.seq) &&
    typeof message.event.kind === "string"
  )
    return message as ServerMessage;
  if (message.type === "error" && typeof message.message === "string") return message as ServerMessage;
  return null;
}

/** Backoff for reattaching: 0.5 s doubling to 8 s, with jitter so many tabs do not reconnect in lockstep. */
export function reconnectDelay(attempt: number, random = Math.random): number {
  const base = Math.min(8000, 500 * 2 ** attempt);
  return Math.round(base / 2 + (random() * base) / 2);
}

// ---- The transcript: what the events say, as the page shows it ----

export type ToolStatus = "pending" | "in_progress" | "completed" | "failed";

export interface DiffContent {
  type: "diff";
  path: string;
  oldText: string | null;
  newText: string;
}

export interface ToolCall {
  id: string;
  title: string;
  kind: string;
  status: ToolStatus;
  /** Text the tool produced (its output, or what the agent said about it). */
  output: string[];
  diffs: DiffContent[];
  locations: string[];
}

export interface PermissionOption {
  optionId: string;
  name: string;
  kind: "allow_once" | "allow_always" | "reject_once" | "reject_always" | string;
}

export interface PermissionRequest {
  requestId: string;
  title: string;
  toolCallId: string | null;
  options: PermissionOption[];
}

export interface PlanEntry {
  content: string;
  status: string;
  priority?: string;
}

/** `seqs`: the events folded into the item, so the page can show which part of the log it holds. */
export type TranscriptItem = { key: string; seqs: number[] } & (
  | { type: "user"; clientId: string; text: string }
  | { type: "agent"; text: string }
  | { type: "thought"; text: string }
  | { type: "tool"; toolCallId: string }
  | { type: "notice"; tone: "info" | "error"; text: string }
);

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  contextUsed?: number;
  contextSize?: number;
  cost?: { amount: number; currency: string };
}

export interface Transcript {
  /** The highest sequence number folded in: the next attach asks for events after it. */
  lastSeq: number;
  items: TranscriptItem[];
  toolCalls: Record<string, ToolCall>;
  plan: PlanEntry[] | null;
  /** Permission requests still waiting for an answer, oldest first. */
  permissions: PermissionRequest[];
  /** A turn is in flight (started and not yet ended). */
  busy: boolean;
  /** Client ids of every prompt the chat has taken: a send the log already shows is not sent again. */
  promptIds: string[];
  usage: Usage | null;
}

export const emptyTranscript: Transcript = {
  lastSeq: 0,
  items: [],
  toolCalls: {},
  plan: null,
  permissions: [],
  busy: false,
  promptIds: [],
  usage: null,
};

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

function textOf(content: unknown): string {
  if (!isObject(content)) return "";
  if (content.type === "text") return str(content.text) ?? "";
  if (content.type === "resource_link") return `[${str(content.name) ?? str(content.uri) ?? "resource"}]`;
  return "";
}

function promptText(prompt: unknown): string {
  return Array.isArray(prompt) ? prompt.map(textOf).join("") : "";
}

const TOOL_STATUSES: ToolStatus[] = ["pending", "in_progress", "completed", "failed"];

/** Folds a tool call's (partial) fields into what is known of it; `content` replaces, as ACP says it does. */
function mergeToolCall(previous: ToolCall | undefined, id: string, data: Record<string, unknown>): ToolCall {
  const call: ToolCall = previous
    ? { ...previous }
    : { id, title: "Tool call", kind: "other", status: "pending", output: [], diffs: [], locations: [] };
  if (typeof data.title === "string" && data.title) call.title = data.title;
  if (typeof data.kind === "string" && data.kind) call.kind = data.kind;
  if (TOOL_STATUSES.includes(data.status as ToolStatus)) call.status = data.status as ToolStatus;
  if (Array.isArray(data.content)) {
    call.output = [];
    call.diffs = [];
    for (const block of data.content) {
      if (!isObject(block)) continue;
      if (block.type === "diff" && typeof block.path === "string" && typeof block.newText === "string")
        call.diffs.push({
          type: "diff",
          path: block.path,
          oldText: str(block.oldText) ?? null,
          newText: block.newText,
        });
      else if (block.type === "content") {
        const text = textOf(block.content);
        if (text) call.output.push(text);
      } else if (block.type === "terminal") call.output.push(`(terminal ${str(block.terminalId) ?? ""})`);
    }
  }
  if (Array.isArray(data.locations))
    call.locations = data.locations
      .map((location) => (isObject(location) ? (str(location.path) ?? "") : ""))
      .filter(Boolean);
  return call;
}

/** Folds events into the transcript. Events at or below `lastSeq` were shown already and are skipped. */
export function applyEvents(previous: Transcript, events: ChatEvent[]): Transcript {
  const fresh = events.filter((event) => event.seq > previous.lastSeq).sort((a, b) => a.seq - b.seq);
  if (fresh.length === 0) return previous;
  const t: Transcript = {
    ...previous,
    items: [...previous.items],
    toolCalls: { ...previous.toolCalls },
    permissions: [...previous.permissions],
    promptIds: [...previous.promptIds],
  };
  const appendText = (type: "agent" | "thought", text: string, seq: number) => {
    if (!text) return;
    const last = t.items[t.items.length - 1];
    if (last?.type === type)
      t.items[t.items.length - 1] = { ...last, text: last.text + text, seqs: [...last.seqs, seq] };
    else t.items.push({ type, key: `${type}-${seq}`, seqs: [seq], text });
  };
  const notice = (seq: number, tone: "info" | "error", text: string) =>
    t.items.push({ type: "notice", key: `notice-${seq}`, seqs: [seq], tone, text });
  for (const event of fresh) {
    t.lastSeq = event.seq;
    const data = isObject(event.data) ? event.data : {};
    switch (event.kind) {
      case "prompt_started": {
        const clientId = str(data.clientId) ?? "";
        t.busy = true;
        t.promptIds.push(clientId);
        t.items.push({
          type: "user",
          key: `user-${event.seq}`,
          seqs: [event.seq],
          clientId,
          text: promptText(data.prompt),
        });
        break;
      }
      case "prompt_ended": {
        t.busy = false;
        t.permissions = [];
        const usage = isObject(data.usage) ? data.usage : null;
        if (usage)
          t.usage = {
            ...t.usage,
            inputTokens: Number(usage.inputTokens) || 0,
            outputTokens: Number(usage.outputTokens) || 0,
            totalTokens: Number(usage.totalTokens) || 0,
          };
        const error = str(data.error);
        if (error) notice(event.seq, "error", error);
        else if (data.stopReason === "cancelled") notice(event.seq, "info", "Stopped.");
        else if (data.stopReason === "refusal") notice(event.seq, "info", "The agent declined.");
        else if (data.stopReason === "max_tokens" || data.stopReason === "max_turn_requests")
          notice(event.seq, "info", "The agent stopped at its limit for one turn: send another message to continue.");
        break;
      }
      case "permission_requested": {
        const toolCall = isObject(data.toolCall) ? data.toolCall : {};
        const toolCallId = str(toolCall.toolCallId) ?? null;
        if (toolCallId) t.toolCalls[toolCallId] = mergeToolCall(t.toolCalls[toolCallId], toolCallId, toolCall);
        t.permissions.push({
          requestId: str(data.requestId) ?? "",
          toolCallId,
          title: (toolCallId && t.toolCalls[toolCallId]?.title) || str(toolCall.title) || "The agent asks to go on",
          options: Array.isArray(data.options)
            ? data.options.filter(isObject).map((option) => ({
                optionId: str(option.optionId) ?? "",
                name: str(option.name) ?? "",
                kind: str(option.kind) ?? "",
              }))
            : [],
        });
        break;
      }
      case "permission_answered":
        t.permissions = t.permissions.filter((request) => request.requestId !== data.requestId);
        break;
      case "adapter_exited": {
        const status = str(data.status) ?? "";
        if (t.busy || !/exit status 0|signal: (killed|terminated)/.test(status))
          notice(event.seq, "error", `The agent's process ended (${status || "unknown status"}).`);
        break;
      }
      case "update": {
        const update = data;
        switch (update.sessionUpdate) {
          case "agent_message_chunk":
            appendText("agent", textOf(update.content), event.seq);
            break;
          case "agent_thought_chunk":
            appendText("thought", textOf(update.content), event.seq);
            break;
          case "tool_call":
          case "tool_call_update": {
            const id = str(update.toolCallId);
            if (!id) break;
            const at = t.items.findIndex((item) => item.type === "tool" && item.toolCallId === id);
            if (at < 0) t.items.push({ type: "tool", key: `tool-${id}`, seqs: [event.seq], toolCallId: id });
            else t.items[at] = { ...t.items[at]!, seqs: [...t.items[at]!.seqs, event.seq] };
            t.toolCalls[id] = mergeToolCall(t.toolCalls[id], id, update);
            break;
          }
          case "plan":
            t.plan = Array.isArray(update.entries)
              ? update.entries.filter(isObject).map((entry) => ({
                  content: str(entry.content) ?? "",
                  status: str(entry.status) ?? "pending",
                  priority: str(entry.priority),
                }))
              : [];
            break;
          case "usage_update": {
            const cost = isObject(update.cost) ? update.cost : null;
            t.usage = {
              ...t.usage,
              contextUsed: Number(update.used) || 0,
              contextSize: Number(update.size) || 0,
              ...(cost && typeof cost.amount === "number"
                ? { cost: { amount: cost.amount, currency: str(cost.currency) ?? "USD" } }
                : {}),
            };
            break;
          }
        }
        break;
      }
    }
  }
  return t;
}

/** A line the usage bar shows, or null while the agent has reported nothing. */
export function usageLine(usage: Usage | null): string | null {
  if (!usage) return null;
  const parts: string[] = [];
  const n = (value: number) => value.toLocaleString("en-US");
  if (usage.inputTokens !== undefined || usage.outputTokens !== undefined)
    parts.push(`${n(usage.inputTokens ?? 0)} tokens in, ${n(usage.outputTokens ?? 0)} out`);
  if (usage.contextSize) parts.push(`context ${n(usage.contextUsed ?? 0)} of ${n(usage.contextSize)} tokens`);
  if (usage.cost) parts.push(`${usage.cost.amount.toFixed(2)} ${usage.cost.currency}`);
  return parts.length ? parts.join(" · ") : null;
}

/** A client id for a prompt: the same id on a retried send makes it one turn (the agent dedupes by it). */
export function newClientId(): string {
  return crypto.randomUUID();
}
