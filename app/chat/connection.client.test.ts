import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatConnection, type ChatConnectionOptions } from "./connection.client";
import type { ChatEvent } from "./protocol";

/** A stand-in for the browser's WebSocket: the test plays the agent's side. */
class FakeSocket {
  static OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open(lastSeq = 0) {
    this.readyState = FakeSocket.OPEN;
    this.receive({ type: "hello", chat: { id: "c1", last_seq: lastSeq }, protocol: 1 });
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

const event = (seq: number, kind = "update", data: unknown = {}): ChatEvent => ({ seq, time: "", kind, data });

function connect(overrides: Partial<ChatConnectionOptions> = {}) {
  const received: number[] = [];
  const statuses: string[] = [];
  const refused: Array<[string, string | undefined]> = [];
  const connection = new ChatConnection({
    agentUrl: "https://ws-abc.example.com",
    chatId: "c1",
    getToken: async () => "tok",
    onStatus: (status) => statuses.push(status),
    onEvents: (events) => received.push(...events.map((e) => e.seq)),
    onRefused: (message, clientId) => refused.push([message, clientId]),
    ...overrides,
  });
  connection.connect();
  return { connection, received, statuses, refused };
}

describe("ChatConnection", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("crypto", {
      randomUUID: (() => {
        let n = 0;
        return () => `id-${++n}`;
      })(),
    });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("reattaches after a drop asking for the events after the last one it delivered, each once", async () => {
    const { received, statuses } = connect();
    await vi.advanceTimersByTimeAsync(0);
    const first = FakeSocket.all[0]!;
    expect(first.url).toBe("wss://ws-abc.example.com/api/chats/c1/attach?after=0");
    expect(first.protocols).toEqual(["sam.chat.v1", "bearer.tok"]);
    first.open();
    first.receive({ type: "event", event: event(1) });
    first.receive({ type: "event", event: event(2) });
    await vi.advanceTimersByTimeAsync(20);
    first.drop();
    expect(statuses).toEqual(["connecting", "connected", "reconnecting"]);
    await vi.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.all[1]!;
    expect(second.url).toBe("wss://ws-abc.example.com/api/chats/c1/attach?after=2");
    second.open(3);
    // A late frame of an event already shown is not shown again.
    second.receive({ type: "event", event: event(2) });
    second.receive({ type: "event", event: event(3) });
    await vi.advanceTimersByTimeAsync(20);
    expect(received).toEqual([1, 2, 3]);
  });

  it("sends a prompt again after a reattach until the log shows it started, with the same client id", async () => {
    const { connection } = connect();
    await vi.advanceTimersByTimeAsync(0);
    const first = FakeSocket.all[0]!;
    first.open();
    const clientId = connection.prompt("add a line");
    expect(first.sent).toEqual([{ type: "prompt", clientId, text: "add a line" }]);
    first.drop();
    await vi.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.all[1]!;
    second.open();
    expect(second.sent).toEqual([{ type: "prompt", clientId, text: "add a line" }]);
    second.receive({ type: "event", event: event(1, "prompt_started", { clientId }) });
    second.drop();
    await vi.advanceTimersByTimeAsync(1000);
    FakeSocket.all[2]!.open(1);
    expect(FakeSocket.all[2]!.sent).toEqual([]);
  });

  it("reports a refused prompt by its client id and stops retrying it; a deleted chat is not reattached", async () => {
    const { connection, refused, statuses } = connect();
    await vi.advanceTimersByTimeAsync(0);
    const socket = FakeSocket.all[0]!;
    socket.open();
    const clientId = connection.prompt("second");
    socket.receive({ type: "error", message: "a turn is already running", clientId });
    expect(refused).toEqual([["a turn is already running", clientId]]);
    socket.drop(4404, "chat gone");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(statuses.at(-1)).toBe("gone");
  });
});
