import { describe, expect, it } from "vitest";
import { parseServerMessage, reconnectDelay, subprotocols } from "./protocol";

describe("terminal protocol, browser side", () => {
  it("offers the token as a subprotocol next to the protocol version, never in a URL", () => {
    expect(subprotocols("a.b.c")).toEqual(["sam.terminal.v1", "bearer.a.b.c"]);
  });

  it("reads the agent's control messages and ignores anything else", () => {
    expect(parseServerMessage('{"type":"exit","code":3}')).toEqual({ type: "exit", code: 3 });
    expect(parseServerMessage('{"type":"hello","session":{"id":"s"},"protocol":1}')).toMatchObject({
      type: "hello",
      protocol: 1,
    });
    expect(parseServerMessage('{"type":"shutdown"}')).toBeNull();
    expect(parseServerMessage("not json")).toBeNull();
    expect(parseServerMessage("null")).toBeNull();
  });

  it("backs off from half a second to at most eight, with jitter", () => {
    expect(reconnectDelay(0, () => 0)).toBe(250);
    expect(reconnectDelay(0, () => 1)).toBe(500);
    expect(reconnectDelay(3, () => 1)).toBe(4000);
    expect(reconnectDelay(10, () => 1)).toBe(8000);
    expect(reconnectDelay(10, () => 0)).toBe(4000);
  });
});
