/**
 * The terminal protocol, browser side (version 1; the agent's side is agent/internal/protocol,
 * and docs/terminal-protocol.md describes both). Binary frames carry raw terminal bytes both ways;
 * text frames carry these JSON control messages. The token travels as a subprotocol, never in a URL.
 */
export const SUBPROTOCOL = "sam.terminal.v1";
export const PROTOCOL_VERSION = 1;

export interface SessionInfo {
  id: string;
  name: string;
  created_at: string;
  cols: number;
  rows: number;
  attached_clients: number;
  exited: boolean;
  exit_code: number | null;
}

export type ClientMessage = { type: "resize"; cols: number; rows: number } | { type: "ping" };

export type ServerMessage =
  | { type: "hello"; session: SessionInfo; protocol: number }
  | { type: "pong" }
  | { type: "exit"; code: number }
  | { type: "error"; message: string };

/** Close codes that end a session for good; anything else (1001, 4008, a dropped socket) is worth a reconnect. */
export const CloseCode = {
  sessionExited: 1000,
  sessionGone: 4404,
} as const;

export function subprotocols(token: string): string[] {
  return [SUBPROTOCOL, `bearer.${token}`];
}

export function parseServerMessage(text: string): ServerMessage | null {
  try {
    const message = JSON.parse(text) as { type?: unknown };
    if (message && typeof message.type === "string" && ["hello", "pong", "exit", "error"].includes(message.type))
      return message as ServerMessage;
  } catch {
    // A malformed control frame is ignored: terminal bytes never travel as text.
  }
  return null;
}

/** Backoff for reconnects: 0.5 s doubling to 8 s, with jitter so many tabs do not reconnect in lockstep. */
export function reconnectDelay(attempt: number, random = Math.random): number {
  const base = Math.min(8000, 500 * 2 ** attempt);
  return Math.round(base / 2 + (random() * base) / 2);
}
