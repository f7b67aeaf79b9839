import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { editFile, listen, runCommand, type StandaloneAnthropic } from "./index";

const KEY = "sk-ant-api03-test-key";
const OAUTH = "sk-ant-oat01-test-token";
let stand: StandaloneAnthropic;

beforeEach(async () => {
  stand = await listen({ apiKeys: [KEY], oauthTokens: [OAUTH], chunkDelayMs: 20 });
});
afterEach(async () => {
  await stand.close();
});

const request = (
  body: unknown,
  headers: Record<string, string> = { "x-api-key": KEY },
  path = "/v1/messages?beta=true",
) =>
  fetch(`${stand.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
    body: JSON.stringify(body),
  });

const turn = (extra: Record<string, unknown> = {}) => ({
  model: "claude-opus-5-5",
  max_tokens: 1024,
  messages: [{ role: "user", content: "Say hello" }],
  ...extra,
});

const json = (res: Response): Promise<any> => res.json();

interface Sse {
  event: string;
  data: Record<string, any>;
  /** Milliseconds since the request was sent, when this event's bytes arrived. */
  at: number;
}

/** Reads a text/event-stream as it arrives, recording when each event came in. */
async function readSse(res: Response): Promise<Sse[]> {
  const started = Date.now();
  const events: Sse[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.+)$/m.exec(frame)?.[1];
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      expect(event, `frame without an event name: ${frame}`).toBeDefined();
      events.push({ event: event!, data: JSON.parse(data!), at: Date.now() - started });
    }
  }
  expect(buffer).toBe("");
  return events;
}

describe("Anthropic Messages stand-in: auth and validation", () => {
  it("refuses a missing or wrong key with the documented authentication_error envelope", async () => {
    for (const headers of [{}, { "x-api-key": "sk-ant-wrong" }, { authorization: "Bearer nope" }] as Array<
      Record<string, string>
    >) {
      const res = await request(turn(), headers);
      expect(res.status).toBe(401);
      const body = await json(res);
      expect(body).toMatchObject({ type: "error", error: { type: "authentication_error" } });
      expect(body.error.message).toEqual(expect.any(String));
      expect(body.request_id).toBe(res.headers.get("request-id"));
    }
    expect(stand.api.requests().every((r) => r.answer === "refused" && r.body === undefined)).toBe(true);
  });

  it("accepts a subscription token as Bearer only with the oauth beta flag, as the API does", async () => {
    const without = await request(turn(), { authorization: `Bearer ${OAUTH}` });
    expect(without.status).toBe(401);
    expect((await json(without)).error.message).toMatch(/OAuth/);
    const withFlag = await request(turn(), { authorization: `Bearer ${OAUTH}`, "anthropic-beta": "oauth-2025-04-20" });
    expect(withFlag.status).toBe(200);
    expect(stand.api.requests().map((r) => r.auth)).toEqual(["bearer", "bearer"]);
  });

  it("answers a request missing model, max_tokens or messages with invalid_request_error naming the field", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ model: undefined }, /^model: /],
      [{ max_tokens: undefined }, /^max_tokens: /],
      [{ max_tokens: 0 }, /^max_tokens: /],
      [{ messages: undefined }, /^messages: /],
      [{ messages: [] }, /^messages: /],
      [{ messages: [{ role: "robot", content: "hi" }] }, /^messages\.0\.role: /],
    ];
    for (const [change, message] of cases) {
      const res = await request(turn(change));
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body.type).toBe("error");
      expect(body.error.type).toBe("invalid_request_error");
      expect(body.error.message).toMatch(message);
    }
    const noVersion = await fetch(`${stand.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": KEY, "content-type": "application/json" },
      body: JSON.stringify(turn()),
    });
    expect(noVersion.status).toBe(400);
    expect((await json(noVersion)).error.message).toMatch(/anthropic-version/);
  });

  it("answers unknown paths with not_found_error", async () => {
    const res = await request(turn(), undefined, "/v1/completions");
    expect(res.status).toBe(404);
    expect((await json(res)).error.type).toBe("not_found_error");
  });
});

describe("Anthropic Messages stand-in: scripted replies", () => {
  it("streams text in the documented event order, one text_delta per scripted chunk, spread over time", async () => {
    stand.api.enqueue({ text: ["Hel", "lo ", "there"] });
    const res = await request(turn({ stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await readSse(res);
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    for (const e of events) expect(e.data.type).toBe(e.event);
    const start = events[0]!.data.message;
    expect(start).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-opus-5-5",
      content: [],
      stop_reason: null,
    });
    expect(start.id).toMatch(/^msg_/);
    expect(events[1]!.data.content_block).toMatchObject({ type: "text", text: "" });
    const deltas = events.filter((e) => e.event === "content_block_delta");
    expect(deltas.map((e) => e.data.delta)).toEqual([
      { type: "text_delta", text: "Hel" },
      { type: "text_delta", text: "lo " },
      { type: "text_delta", text: "there" },
    ]);
    // The chunks arrive as separate pieces, not one buffered answer.
    expect(deltas[2]!.at - deltas[0]!.at).toBeGreaterThanOrEqual(30);
    const delta = events.find((e) => e.event === "message_delta")!.data;
    expect(delta.delta.stop_reason).toBe("end_turn");
    expect(delta.usage.output_tokens).toBeGreaterThan(0);
  });

  it("streams a tool call as tool_use with input_json_delta pieces that join to the input, and stops for tool_use", async () => {
    stand.api.enqueue({ text: "Editing.", ...editFile("/repo/a.txt", "old", "new") });
    const events = await readSse(await request(turn({ stream: true })));
    const toolStart = events.find(
      (e) => e.event === "content_block_start" && e.data.content_block.type === "tool_use",
    )!;
    expect(toolStart.data.index).toBe(1);
    expect(toolStart.data.content_block).toMatchObject({ name: "Edit", input: {} });
    expect(toolStart.data.content_block.id).toMatch(/^toolu_/);
    const pieces = events
      .filter((e) => e.event === "content_block_delta" && e.data.index === 1)
      .map((e) => e.data.delta);
    expect(pieces.every((p) => p.type === "input_json_delta")).toBe(true);
    expect(pieces.filter((p) => p.partial_json !== "").length).toBeGreaterThan(1);
    expect(JSON.parse(pieces.map((p) => p.partial_json).join(""))).toEqual({
      file_path: "/repo/a.txt",
      old_string: "old",
      new_string: "new",
    });
    expect(events.find((e) => e.event === "message_delta")!.data.delta.stop_reason).toBe("tool_use");
  });

  it("answers the request carrying the tool_result with the next queued reply, and logs the result", async () => {
    stand.api.enqueue({
      ...runCommand("ls", "List files"),
      toolUse: { name: "Bash", input: { command: "ls" }, id: "toolu_fixed" },
    });
    stand.api.enqueue({ text: ["Two files."] });
    const first = await json(await request(turn()));
    expect(first.stop_reason).toBe("tool_use");
    expect(first.content).toEqual([
      { type: "tool_use", id: "toolu_fixed", name: "Bash", input: { command: "ls" }, caller: { type: "direct" } },
    ]);
    const followUp = turn({
      messages: [
        { role: "user", content: "List the files" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_fixed", content: "a.txt\nb.txt" }] },
      ],
    });
    const second = await json(await request(followUp));
    expect(second.content).toEqual([{ type: "text", text: "Two files.", citations: null }]);
    expect(second.stop_reason).toBe("end_turn");
    const logged = stand.api.requests()[1]!;
    expect(logged.toolResults).toEqual([{ tool_use_id: "toolu_fixed", content: "a.txt\nb.txt", is_error: false }]);
    expect(logged.answer).toBe("scripted");
  });

  it("holds a turn open after message_start until released, then finishes it", async () => {
    stand.api.enqueue({ hold: "slow-turn", text: ["finally"] });
    const res = await request(turn({ stream: true }));
    await stand.api.held("slow-turn");
    const reading = readSse(res);
    let done = false;
    void reading.then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    stand.api.release("slow-turn");
    const events = await reading;
    expect(events[0]!.event).toBe("message_start");
    expect(events.at(-1)!.event).toBe("message_stop");
    expect(events.filter((e) => e.event === "content_block_delta").map((e) => e.data.delta.text)).toEqual(["finally"]);
  });

  it("logs a held turn the client abandons as aborted", async () => {
    stand.api.enqueue({ hold: "abandoned" });
    const controller = new AbortController();
    const res = await fetch(`${stand.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": KEY },
      body: JSON.stringify(turn({ stream: true })),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    await stand.api.held("abandoned");
    controller.abort();
    await expect.poll(() => stand.api.requests()[0]!.aborted).toBe(true);
  });

  it("answers scripted errors before the stream and as an error event mid-stream", async () => {
    stand.api.enqueue({ error: { type: "overloaded_error", message: "Overloaded" } });
    stand.api.enqueue({ error: { type: "api_error", message: "Internal server error", midStream: true } });
    const before = await request(turn({ stream: true }));
    expect(before.status).toBe(529);
    expect((await json(before)).error).toEqual({ type: "overloaded_error", message: "Overloaded" });
    const events = await readSse(await request(turn({ stream: true })));
    expect(events.map((e) => e.event)).toEqual(["message_start", "error"]);
    expect(events[1]!.data).toMatchObject({
      type: "error",
      error: { type: "api_error", message: "Internal server error" },
    });
  });

  it("gives a reply scripted for one model only to that model, and logs headers without the key", async () => {
    stand.api.enqueue({ model: "claude-haiku-4-5", text: "title" });
    const other = await json(await request(turn(), { "x-api-key": KEY, "anthropic-beta": "claude-code-20250219" }));
    expect(other.content[0].text).toBe("Done.");
    const haiku = await json(await request(turn({ model: "claude-haiku-4-5" })));
    expect(haiku.content[0].text).toBe("title");
    const [first] = stand.api.requests();
    expect(first!.answer).toBe("default");
    expect(first!.headers["anthropic-beta"]).toBe("claude-code-20250219");
    expect(first!.headers["x-api-key"]).toBeUndefined();
    expect(JSON.stringify(stand.api.requests())).not.toContain(KEY);
    expect(first!.query).toEqual({ beta: "true" });
  });

  it("is driven over HTTP by tests whose adapter runs elsewhere", async () => {
    const queued = await fetch(`${stand.url}/_local/anthropic/replies`, {
      method: "POST",
      body: JSON.stringify([{ hold: "remote", text: ["a", "b"] }]),
    });
    expect(queued.status).toBe(201);
    expect(await json(queued)).toEqual({ queued: 1, pending: 1 });
    const held = fetch(`${stand.url}/_local/anthropic/held/remote`).then(json);
    const streaming = request(turn({ stream: true })).then(readSse);
    expect(await held).toEqual({ held: "remote" });
    expect((await fetch(`${stand.url}/_local/anthropic/release/remote`, { method: "POST" })).status).toBe(200);
    expect((await streaming).filter((e) => e.event === "content_block_delta")).toHaveLength(2);
    const log = await json(await fetch(`${stand.url}/_local/anthropic/requests`));
    expect(log).toHaveLength(1);
    expect(log[0].body.model).toBe("claude-opus-5-5");
    expect(log[0].hold).toBe("remote");
  });
});
