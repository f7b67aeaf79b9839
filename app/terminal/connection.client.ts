import type { FitAddon } from "@xterm/addon-fit";
import type { Terminal } from "@xterm/xterm";
import {
  CloseCode,
  parseServerMessage,
  PROTOCOL_VERSION,
  reconnectDelay,
  subprotocols,
  type ClientMessage,
  type SessionInfo,
} from "./protocol";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "exited" | "gone";

export interface ConnectionOptions {
  agentUrl: string;
  sessionId: string;
  getToken: () => Promise<string>;
  onStatus: (status: ConnectionStatus, detail?: string) => void;
  onHello?: (session: SessionInfo) => void;
}

const encoder = new TextEncoder();

/**
 * One browser terminal attached to one agent session. On every (re)attach the agent sends the current
 * screen and scrollback first, so the terminal is reset when `hello` arrives and nothing is duplicated.
 * A dropped connection is retried with backoff and a fresh token until the session exits or is deleted.
 */
export class TerminalConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  private readonly disposables: Array<{ dispose(): void }> = [];

  constructor(
    private readonly term: Terminal,
    private readonly fit: FitAddon,
    private readonly options: ConnectionOptions,
  ) {
    this.disposables.push(
      term.onData((data) => this.sendBytes(encoder.encode(data))),
      term.onBinary((data) => this.sendBytes(Uint8Array.from(data, (char) => char.charCodeAt(0)))),
      term.onResize(({ cols, rows }) => this.sendControl({ type: "resize", cols, rows })),
    );
  }

  connect() {
    if (this.disposed) return;
    this.options.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    void this.open();
  }

  private async open() {
    let token: string;
    try {
      token = await this.options.getToken();
    } catch {
      this.scheduleReconnect("could not get a terminal token");
      return;
    }
    if (this.disposed) return;
    const url = new URL(`/api/sessions/${encodeURIComponent(this.options.sessionId)}/attach`, this.options.agentUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, subprotocols(token));
    socket.binaryType = "arraybuffer";
    this.socket = socket;

    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        this.term.write(new Uint8Array(event.data as ArrayBuffer));
        return;
      }
      const message = parseServerMessage(event.data);
      if (message?.type === "hello") {
        if (message.protocol !== PROTOCOL_VERSION) {
          this.options.onStatus(
            "gone",
            `the workspace speaks terminal protocol ${message.protocol}, this page ${PROTOCOL_VERSION}: reload the page`,
          );
          this.dispose();
          return;
        }
        this.attempt = 0;
        this.term.reset();
        this.options.onStatus("connected");
        this.options.onHello?.(message.session);
        this.fit.fit();
        this.sendControl({ type: "resize", cols: this.term.cols, rows: this.term.rows });
      } else if (message?.type === "exit") {
        this.options.onStatus("exited", `the session ended with exit code ${message.code}`);
      } else if (message?.type === "error") {
        this.options.onStatus("reconnecting", message.message);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.disposed) return;
      this.socket = null;
      if (event.code === CloseCode.sessionGone) this.options.onStatus("gone", "this session was closed");
      else if (event.code === CloseCode.sessionExited && event.reason === "session exited")
        this.options.onStatus("exited");
      else this.scheduleReconnect(event.reason || "the connection dropped");
    };
  }

  private scheduleReconnect(reason: string) {
    if (this.disposed) return;
    this.options.onStatus("reconnecting", reason);
    this.retryTimer = setTimeout(() => this.connect(), reconnectDelay(this.attempt++));
  }

  private sendBytes(bytes: Uint8Array) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
  }

  private sendControl(message: ClientMessage) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  dispose() {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const disposable of this.disposables) disposable.dispose();
    this.socket?.close(1000, "closed by the user");
    this.socket = null;
  }
}
