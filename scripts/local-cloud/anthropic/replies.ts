// Scripted replies of the Messages API stand-in, and how each becomes a Message or a stream of events
// shaped as in /work/shared/api-reference/anthropic-messages.md (section 2 and the Raw…Event types).
import { randomBytes } from "node:crypto";

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "timeout_error"
  | "overloaded_error"
  | "api_error"
  | "billing_error";

/** The HTTP status the real API pairs with each error type (reference, section 4). */
export const ERROR_STATUS: Record<ErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export interface ToolUseScript {
  name: string;
  input: Record<string, unknown>;
  /** Fixed id, so a test can find the matching tool_result; a fresh `toolu_…` id otherwise. */
  id?: string;
}

/**
 * One scripted answer. `text` is streamed as one text_delta per element; `toolUse` follows the text as a
 * tool_use block (stop_reason "tool_use"); `hold` stops after message_start until `release(hold)`;
 * `error` answers with the error envelope (before streaming, or as an `error` event with `midStream`).
 */
export interface Reply {
  text?: string | string[];
  toolUse?: ToolUseScript;
  hold?: string;
  error?: { type: ErrorType; message: string; midStream?: boolean };
  stopReason?: "end_turn" | "max_tokens" | "stop_sequence" | "refusal";
  /** Only requests for this model take the reply; others skip it and get the default reply. */
  model?: string;
  /**
   * Only requests that offer tools (true) or none (false) take the reply: a coding agent's turn offers its
   * tools, while the side requests it makes meanwhile (a title, a summary) offer none and would otherwise
   * take a turn's scripted reply.
   */
  withTools?: boolean;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

export function errorEnvelope(type: ErrorType, message: string, requestId: string | null) {
  return { type: "error", error: { type, message }, request_id: requestId };
}

/** A rough token count (4 characters a token) so usage figures move with the size of what was sent. */
export function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function textChunks(reply: Reply): string[] {
  if (reply.text === undefined) return [];
  return typeof reply.text === "string" ? [reply.text] : reply.text;
}

/** The content blocks the reply produces, complete (for a non-streamed answer). */
export function contentBlocks(reply: Reply, toolUseId: string) {
  const blocks: unknown[] = [];
  const text = textChunks(reply).join("");
  if (text) blocks.push({ type: "text", text, citations: null });
  if (reply.toolUse)
    blocks.push({
      type: "tool_use",
      id: toolUseId,
      name: reply.toolUse.name,
      input: reply.toolUse.input,
      caller: { type: "direct" },
    });
  return blocks;
}

export function stopReason(reply: Reply): string {
  return reply.toolUse ? "tool_use" : (reply.stopReason ?? "end_turn");
}

export function outputTokens(reply: Reply): number {
  return roughTokens(textChunks(reply).join("") + (reply.toolUse ? JSON.stringify(reply.toolUse.input) : ""));
}

export function usage(inputTokens: number, output: number) {
  return {
    input_tokens: inputTokens,
    output_tokens: output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: "standard",
  };
}

export function message(id: string, model: string, content: unknown[], stop: string | null, use: unknown) {
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    container: null,
    stop_details: null,
    stop_reason: stop,
    stop_sequence: null,
    usage: use,
  };
}

export type StreamEvent = { event: string; data: unknown };

/** The events after message_start (and after a hold), in order. */
export function bodyEvents(reply: Reply, toolUseId: string, inputTokens: number): StreamEvent[] {
  const events: StreamEvent[] = [];
  let index = 0;
  const chunks = textChunks(reply);
  if (chunks.length > 0) {
    events.push({
      event: "content_block_start",
      data: { type: "content_block_start", index, content_block: { type: "text", text: "", citations: null } },
    });
    events.push({ event: "ping", data: { type: "ping" } });
    for (const text of chunks)
      events.push({
        event: "content_block_delta",
        data: { type: "content_block_delta", index, delta: { type: "text_delta", text } },
      });
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
    index++;
  }
  if (reply.toolUse) {
    events.push({
      event: "content_block_start",
      data: {
        type: "content_block_start",
        index,
        content_block: {
          type: "tool_use",
          id: toolUseId,
          name: reply.toolUse.name,
          input: {},
          caller: { type: "direct" },
        },
      },
    });
    // The real API sends the input as partial JSON in several pieces; clients must join them before parsing.
    const json = JSON.stringify(reply.toolUse.input);
    const step = Math.max(1, Math.ceil(json.length / 3));
    events.push({
      event: "content_block_delta",
      data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } },
    });
    for (let at = 0; at < json.length; at += step)
      events.push({
        event: "content_block_delta",
        data: {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: json.slice(at, at + step) },
        },
      });
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
  }
  events.push({
    event: "message_delta",
    data: {
      type: "message_delta",
      delta: { stop_reason: stopReason(reply), stop_sequence: null, stop_details: null, container: null },
      usage: {
        input_tokens: inputTokens,
        output_tokens: outputTokens(reply),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens_details: null,
        server_tool_use: null,
      },
    },
  });
  events.push({ event: "message_stop", data: { type: "message_stop" } });
  return events;
}

/** A Claude Code `Edit` tool call (the tool names and inputs Claude Code declares in its `tools`). */
export function editFile(filePath: string, oldString: string, newString: string): Reply {
  return { toolUse: { name: "Edit", input: { file_path: filePath, old_string: oldString, new_string: newString } } };
}

/** A Claude Code `Write` tool call: create or overwrite a whole file. */
export function writeFile(filePath: string, content: string): Reply {
  return { toolUse: { name: "Write", input: { file_path: filePath, content } } };
}

/** A Claude Code `Bash` tool call. */
export function runCommand(command: string, description = "Run a command"): Reply {
  return { toolUse: { name: "Bash", input: { command, description } } };
}
