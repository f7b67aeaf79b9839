import {
  attachUrl,
  type ChatEvent,
  type ChatInfo,
  type ClientMessage,
  CloseCode,
  newClientId,
  parseServerMessage,
  PROTOCOL_VERSION,
  reconnectDelay,
  subprotocols,
} from "./protocol";

export type ChatConnectionStatus = "connecting" | "connected" | "reconnecting" | "gone";

export interface ChatConnectionOptions {
  agentUrl: string;
  chatId: string;
  getToken: () => Promise<string>;
  onStatus: (status: ChatConnectionStatus, detail?: string) => void;
  onHello?: (chat: ChatInfo) => void;
  /** New events, oldest first, each delivered once across reconnects (batched per task). */
  onEvents: (events: ChatEvent[]) => void;
  /** The agent refused a message: a prompt (by its client id) while another turn runs, an old permission… */
  onRefused: (message: string, clientId?: string) => void;
}

/**
 * One page attached to one chat. Every (re)attach asks for the events after the highest sequence number
 * seen, so a dropped connection or a second tab shows each event exactly once. Prompts carry a client id
 * and stay queued until the log shows them started (or the agent refuses them): one sent into a dying
 * socket is sent again on the next attach, and the agent runs a client id at most once.
 */
export class ChatConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  private lastSeq: number;
  private batch: ChatEvent[] = [];
  private readonly unconfirmed = new Map<string, string>();

  constructor(
    private readonly options: ChatConnectionOptions,
    after = 0,
  ) {
    this.lastSeq = after;
  }

  connect() {
    if (this.disposed) return;
    this.options.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    void this.open();
  }

  /** Sends a message to the agent and returns its client id. */
  prompt(text: string): string {
    const clientId = newClientId();
    this.unconfirmed.set(clientId, text);
    this.send({ type: "prompt", clientId, text });
    return clientId;
  }

  cancel() {
    this.send({ type: "cancel" });
  }

  answer(requestId: string, optionId: string) {
    this.send({ type: "permission", requestId, optionId });
  }

  private async open() {
    let token: string;
    try {
      token = await this.options.getToken();
    } catch (error) {
      this.scheduleReconnect(`could not get a token for the workspace (${(error as Error).message})`);
      return;
    }
    if (this.disposed) return;
    const socket = new WebSocket(
      attachUrl(this.options.agentUrl, this.options.chatId, this.lastSeq),
      subprotocols(token),
    );
    this.socket = socket;
    socket.onmessage = (event) => {
      if (this.socket !== socket || typeof event.data !== "string") return;
      const message = parseServerMessage(event.data);
      if (message?.type === "hello") {
        if (message.protocol !== PROTOCOL_VERSION) {
          this.options.onStatus(
            "gone",
            `the workspace speaks chat protocol ${message.protocol}, this page ${PROTOCOL_VERSION}: reload the page`,
          );
          this.dispose();
          return;
        }
        this.attempt = 0;
        this.options.onStatus("connected");
        this.options.onHello?.(message.chat);
        for (const [clientId, text] of this.unconfirmed) this.send({ type: "prompt", clientId, text });
      } else if (message?.type === "event") {
        this.receive(message.event);
      } else if (message?.type === "error") {
        if (message.clientId) this.unconfirmed.delete(message.clientId);
        this.options.onRefused(message.message, message.clientId);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.disposed) return;
      this.socket = null;
      if (event.code === CloseCode.chatGone) this.options.onStatus("gone", "this chat no longer exists");
      else this.scheduleReconnect(event.reason || "the connection dropped");
    };
  }

  private receive(event: ChatEvent) {
    // The agent never repeats an event on one connection; this guards a late frame from a replaced socket.
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    if (event.kind === "prompt_started") {
      const clientId = (event.data as { clientId?: unknown } | undefined)?.clientId;
      if (typeof clientId === "string") this.unconfirmed.delete(clientId);
    }
    this.batch.push(event);
    // A reattach can bring thousands of events at once: the page renders them together, not one by one.
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      const events = this.batch;
      this.batch = [];
      if (!this.disposed && events.length) this.options.onEvents(events);
    }, 16);
  }

  private scheduleReconnect(reason: string) {
    if (this.disposed) return;
    this.options.onStatus("reconnecting", reason);
    this.retryTimer = setTimeout(() => this.connect(), reconnectDelay(this.attempt++));
  }

  private send(message: ClientMessage) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Whether a message can go out now; prompts typed while reconnecting are queued and sent on attach. */
  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  dispose() {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.socket?.close(1000, "closed by the user");
    this.socket = null;
  }
}
