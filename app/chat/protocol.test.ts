import { describe, expect, it } from "vitest";
import { diffHunks, lineDiff } from "./diff";
import {
  applyEvents,
  attachUrl,
  type ChatEvent,
  emptyTranscript,
  parseServerMessage,
  subprotocols,
  usageLine,
} from "./protocol";

let seq = 0;
const event = (kind: string, data: unknown): ChatEvent => ({ seq: ++seq, time: "2030-01-01T00:00:00Z", kind, data });
const update = (data: Record<string, unknown>) => event("update", data);
const chunk = (text: string) => update({ sessionUpdate: "agent_message_chunk", content: { type: "text", text } });

describe("chat protocol, browser side", () => {
  it("offers the token as a subprotocol and asks for the events after the last one shown", () => {
    expect(subprotocols("a.b.c")).toEqual(["sam.chat.v1", "bearer.a.b.c"]);
    expect(attachUrl("https://ws-abc.example.com", "c/1", 12)).toBe(
      "wss://ws-abc.example.com/api/chats/c%2F1/attach?after=12",
    );
    expect(attachUrl("http://127.0.0.1:8443", "c1", 0)).toBe("ws://127.0.0.1:8443/api/chats/c1/attach?after=0");
  });

  it("reads hello, event and error frames and ignores anything else", () => {
    expect(parseServerMessage('{"type":"hello","chat":{"id":"c"},"protocol":1}')).toMatchObject({ type: "hello" });
    expect(parseServerMessage('{"type":"event","event":{"seq":3,"kind":"update","data":{}}}')).toMatchObject({
      event: { seq: 3 },
    });
    expect(parseServerMessage('{"type":"error","message":"busy","clientId":"x"}')).toMatchObject({ clientId: "x" });
    expect(parseServerMessage('{"type":"event","event":{"seq":"3","kind":"update"}}')).toBeNull();
    expect(parseServerMessage('{"type":"other"}')).toBeNull();
    expect(parseServerMessage("not json")).toBeNull();
  });
});

describe("the transcript", () => {
  it("joins streamed chunks into one message and shows each event once, however often it arrives", () => {
    const events = [
      event("prompt_started", { clientId: "p1", prompt: [{ type: "text", text: "Add a line" }] }),
      chunk("I'll "),
      chunk("add **it**"),
      chunk("."),
    ];
    const once = applyEvents(emptyTranscript, events);
    const twice = applyEvents(applyEvents(emptyTranscript, events.slice(0, 2)), events);
    expect(twice).toEqual(once);
    expect(once.items.map((item) => item.type)).toEqual(["user", "agent"]);
    expect(once.items[1]).toMatchObject({ text: "I'll add **it**." });
    expect(once).toMatchObject({ busy: true, promptIds: ["p1"], lastSeq: events.at(-1)!.seq });
  });

  it("records which events each item shows, each once: a message its chunks, a tool card its updates", () => {
    const events = [
      event("prompt_started", { clientId: "p3", prompt: [{ type: "text", text: "Go" }] }),
      event("adapter_started", { pid: 1 }),
      chunk("One "),
      chunk("two."),
      update({ sessionUpdate: "tool_call", toolCallId: "t9", title: "Read", status: "pending" }),
      update({ sessionUpdate: "tool_call_update", toolCallId: "t9", status: "completed" }),
      event("prompt_ended", { clientId: "p3", stopReason: "cancelled" }),
    ];
    const [started, , one, two, call, done, ended] = events.map((e) => e.seq);
    const t = applyEvents(applyEvents(emptyTranscript, events.slice(0, 4)), events);
    expect(t.items.map((item) => [item.type, item.seqs])).toEqual([
      ["user", [started]],
      ["agent", [one, two]],
      ["tool", [call, done]],
      ["notice", [ended]],
    ]);
  });

  it("moves a tool card from pending through running to done, with its diff and output", () => {
    let t = applyEvents(emptyTranscript, [
      update({
        sessionUpdate: "tool_call",
        toolCallId: "t1",
        title: "Edit README.md",
        kind: "edit",
        status: "pending",
      }),
    ]);
    expect(t.toolCalls.t1).toMatchObject({ status: "pending", title: "Edit README.md", kind: "edit" });
    t = applyEvents(t, [update({ sessionUpdate: "tool_call_update", toolCallId: "t1", status: "in_progress" })]);
    expect(t.toolCalls.t1).toMatchObject({ status: "in_progress", title: "Edit README.md" });
    t = applyEvents(t, [
      update({
        sessionUpdate: "tool_call_update",
        toolCallId: "t1",
        status: "completed",
        content: [
          { type: "diff", path: "/w/README.md", oldText: "a\n", newText: "a\nb\n" },
          { type: "content", content: { type: "text", text: "updated" } },
        ],
      }),
    ]);
    expect(t.toolCalls.t1).toMatchObject({
      status: "completed",
      diffs: [{ path: "/w/README.md", oldText: "a\n", newText: "a\nb\n" }],
      output: ["updated"],
    });
    expect(t.items.filter((item) => item.type === "tool")).toHaveLength(1);
  });

  it("keeps permission requests until answered or the turn ends, and reports usage and errors", () => {
    let t = applyEvents(emptyTranscript, [
      event("prompt_started", { clientId: "p2", prompt: [{ type: "text", text: "run it" }] }),
      event("permission_requested", {
        requestId: "r1",
        toolCall: { toolCallId: "t2", title: "Run npm test" },
        options: [
          { optionId: "allow", name: "Allow", kind: "allow_once" },
          { optionId: "reject", name: "Reject", kind: "reject_once" },
        ],
      }),
    ]);
    expect(t.permissions).toEqual([
      { requestId: "r1", toolCallId: "t2", title: "Run npm test", options: expect.any(Array) },
    ]);
    t = applyEvents(t, [event("permission_answered", { requestId: "r1", outcome: "selected", optionId: "allow" })]);
    expect(t.permissions).toEqual([]);
    t = applyEvents(t, [
      update({ sessionUpdate: "plan", entries: [{ content: "Look", status: "completed", priority: "high" }] }),
      update({ sessionUpdate: "usage_update", used: 1200, size: 200000, cost: { amount: 0.0123, currency: "USD" } }),
      event("prompt_ended", {
        clientId: "p2",
        stopReason: "end_turn",
        usage: { inputTokens: 1000, outputTokens: 50, totalTokens: 1050 },
        error: "The agent's adapter exited: check the timeline",
      }),
    ]);
    expect(t.plan).toEqual([{ content: "Look", status: "completed", priority: "high" }]);
    expect(t.busy).toBe(false);
    expect(t.items.at(-1)).toMatchObject({ type: "notice", tone: "error", text: expect.stringContaining("adapter") });
    expect(usageLine(t.usage)).toBe("1,000 tokens in, 50 out · context 1,200 of 200,000 tokens · 0.01 USD");
    expect(usageLine(null)).toBeNull();
  });

  it("says a cancelled turn was stopped", () => {
    const t = applyEvents(emptyTranscript, [event("prompt_ended", { clientId: "p", stopReason: "cancelled" })]);
    expect(t.items).toEqual([expect.objectContaining({ type: "notice", text: "Stopped." })]);
  });
});

describe("line diffs", () => {
  it("shows an added line between unchanged ones", () => {
    expect(lineDiff("# hello\nworld\n", "# hello\nworld\nadded by the agent\n")).toEqual([
      { op: "same", text: "# hello" },
      { op: "same", text: "world" },
      { op: "add", text: "added by the agent" },
    ]);
  });

  it("shows a replaced line as removed then added, and a new file as all added", () => {
    expect(lineDiff("a\nb\nc", "a\nB\nc")).toEqual([
      { op: "same", text: "a" },
      { op: "remove", text: "b" },
      { op: "add", text: "B" },
      { op: "same", text: "c" },
    ]);
    expect(lineDiff(null, "x\ny\n")).toEqual([
      { op: "add", text: "x" },
      { op: "add", text: "y" },
    ]);
  });

  it("keeps three lines of context around changes and marks the gaps", () => {
    const old = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n");
    const changed = old.replace("line 10", "line ten");
    const hunks = diffHunks(lineDiff(old, changed));
    expect(hunks[0]).toBeNull();
    expect(hunks.filter(Boolean)).toHaveLength(8);
    expect(hunks.at(-1)).toBeNull();
  });
});
