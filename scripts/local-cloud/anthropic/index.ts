// Anthropic Messages API stand-in: POST /v1/messages answered from replies the tests queue, streamed as
// the documented server-sent events (/work/shared/api-reference/anthropic-messages.md). Coding-agent
// adapters (Claude Code over ACP) run against it with ANTHROPIC_BASE_URL, so the chat can be tested
// without a model: what they sent is kept in a log the tests read.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Request } from "../context";
import { BodyTooLargeError, readBody, sendJson } from "../http";
import {
  bodyEvents,
  contentBlocks,
  ERROR_STATUS,
  type ErrorType,
  errorEnvelope,
  message,
  newId,
  outputTokens,
  type Reply,
  roughTokens,
  type StreamEvent,
  stopReason,
  usage,
} from "./replies";
import { lastToolResults, type ToolResult, validationError } from "./requests";

export { editFile, type Reply, runCommand, writeFile } from "./replies";
export type { ToolResult } from "./requests";

/** The real API's request limit for the Messages endpoint (32 MB); an agent's history is often over 1 MiB. */
const MAX_MESSAGES_BODY = 32 * 1024 * 1024;
const OAUTH_BETA = "oauth-2025-04-20";
const SECRET_HEADERS = new Set(["x-api-key", "authorization"]);

export interface AnthropicOptions {
  /** Keys accepted in `x-api-key`. */
  apiKeys?: string[];
  /** Tokens accepted in `Authorization: Bearer` (with the `anthropic-beta: oauth-2025-04-20` flag, as the API wants). */
  oauthTokens?: string[];
  /** Pause between streamed deltas, so a client sees them arrive one by one (default 15 ms). */
  chunkDelayMs?: number;
  /** What an unscripted request gets (default: a short text). */
  defaultReply?: Reply;
}

export interface LoggedRequest {
  requestId: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Request headers without x-api-key and authorization. */
  headers: Record<string, string>;
  auth: "api-key" | "bearer" | "none";
  body: unknown;
  /** tool_result blocks of the last message: what the agent's tools produced for the previous reply. */
  toolResults: ToolResult[];
  /** "scripted": a queued reply answered it; "default": nothing queued matched; "refused": auth or validation. */
  answer: "scripted" | "default" | "refused";
  status: number;
  /** The client went away before the answer was complete (an adapter cancelling a turn does this). */
  aborted: boolean;
  /** The `hold` of the scripted reply it took, if any: which request a test's held turn is. */
  hold?: string;
}

interface Hold {
  released: boolean;
  release: () => void;
  waiting: Promise<void>;
  heldOnce: () => void;
  held: Promise<void>;
}

const DEFAULT_REPLY: Reply = { text: ["Done."] };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class AnthropicApi {
  private apiKeys: Set<string>;
  private oauthTokens: Set<string>;
  private readonly chunkDelayMs: number;
  private readonly defaultReply: Reply;
  private queue: Reply[] = [];
  private holds = new Map<string, Hold>();
  private log: LoggedRequest[] = [];

  constructor(options: AnthropicOptions = {}) {
    this.apiKeys = new Set(options.apiKeys ?? []);
    this.oauthTokens = new Set(options.oauthTokens ?? []);
    this.chunkDelayMs = options.chunkDelayMs ?? 15;
    this.defaultReply = options.defaultReply ?? DEFAULT_REPLY;
  }

  /** Adds credentials the API accepts from now on. */
  allow(credentials: { apiKeys?: string[]; oauthTokens?: string[] }): void {
    for (const key of credentials.apiKeys ?? []) this.apiKeys.add(key);
    for (const token of credentials.oauthTokens ?? []) this.oauthTokens.add(token);
  }

  /** Queues replies; each request takes the first one whose `model` and `withTools` (if set) match it. */
  enqueue(...replies: Reply[]): void {
    this.queue.push(...replies);
  }

  pending(): number {
    return this.queue.length;
  }

  /** Lets a turn scripted with `hold: id` finish; releasing first makes that hold pass straight through. */
  release(id: string): void {
    const hold = this.hold(id);
    hold.released = true;
    hold.release();
  }

  /** Resolves once a request is being held at `hold: id`. */
  held(id: string): Promise<void> {
    return this.hold(id).held;
  }

  requests(): LoggedRequest[] {
    return this.log;
  }

  reset(): void {
    for (const hold of this.holds.values()) hold.release();
    this.queue = [];
    this.holds.clear();
    this.log = [];
  }

  /** The API itself; `r.path` is what follows the mount point, e.g. "/v1/messages". */
  async handle(r: Request): Promise<void> {
    const { req, res, method, path, url } = r;
    const requestId = newId("req");
    const entry: LoggedRequest = {
      requestId,
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(
        Object.entries(req.headers)
          .filter(([name]) => !SECRET_HEADERS.has(name))
          .map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]),
      ),
      auth: "none",
      body: undefined,
      toolResults: [],
      answer: "refused",
      status: 0,
      aborted: false,
    };
    this.log.push(entry);
    const fail = (type: ErrorType, text: string) => {
      entry.status = ERROR_STATUS[type];
      sendJson(res, entry.status, errorEnvelope(type, text, requestId), { "request-id": requestId });
    };

    const authError = this.authenticate(req, entry);
    if (authError) return fail("authentication_error", authError);
    const isMessages = path === "/v1/messages" || path === "/v1/messages/count_tokens";
    if (!isMessages) return fail("not_found_error", `Not found: ${method} ${path}`);
    if (method !== "POST") return fail("not_found_error", `Not found: ${method} ${path}`);
    if (!req.headers["anthropic-version"])
      return fail("invalid_request_error", "anthropic-version: header is required");

    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_MESSAGES_BODY);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      entry.status = 413;
      return sendJson(res, 413, errorEnvelope("invalid_request_error", "Request exceeds the maximum size", requestId));
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      return fail("invalid_request_error", "There was an issue with the request body: it is not valid JSON");
    }
    entry.body = body;
    if (path === "/v1/messages/count_tokens") {
      entry.answer = "scripted";
      entry.status = 200;
      return sendJson(res, 200, { input_tokens: roughTokens(raw.toString("utf8")) }, { "request-id": requestId });
    }
    const invalid = validationError(body);
    if (invalid) return fail("invalid_request_error", invalid);
    const params = body as { model: string; stream?: boolean; messages: unknown[]; tools?: unknown[] };
    entry.toolResults = lastToolResults(params);
    const hasTools = Array.isArray(params.tools) && params.tools.length > 0;

    const index = this.queue.findIndex(
      (reply) =>
        (reply.model === undefined || reply.model === params.model) &&
        (reply.withTools === undefined || reply.withTools === hasTools),
    );
    const reply = index >= 0 ? this.queue.splice(index, 1)[0]! : this.defaultReply;
    entry.answer = index >= 0 ? "scripted" : "default";
    if (reply.hold) entry.hold = reply.hold;
    if (reply.error && !reply.error.midStream) return fail(reply.error.type, reply.error.message);

    let closed = false;
    res.on("close", () => {
      closed = true;
      if (!res.writableFinished) entry.aborted = true;
    });
    const inputTokens = roughTokens(raw.toString("utf8"));
    const messageId = newId("msg");
    const toolUseId = reply.toolUse?.id ?? newId("toolu");
    entry.status = 200;

    if (!params.stream) {
      if (reply.hold) await this.wait(reply.hold, res);
      if (closed) return;
      const content = contentBlocks(reply, toolUseId);
      return sendJson(
        res,
        200,
        message(messageId, params.model, content, stopReason(reply), usage(inputTokens, outputTokens(reply))),
        { "request-id": requestId },
      );
    }

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
      "request-id": requestId,
    });
    const send = ({ event, data }: StreamEvent) => {
      if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send({
      event: "message_start",
      data: { type: "message_start", message: message(messageId, params.model, [], null, usage(inputTokens, 1)) },
    });
    if (reply.hold) {
      send({ event: "ping", data: { type: "ping" } });
      await this.wait(reply.hold, res);
    }
    if (reply.error) {
      send({ event: "error", data: errorEnvelope(reply.error.type, reply.error.message, requestId) });
      if (!closed) res.end();
      return;
    }
    for (const event of bodyEvents(reply, toolUseId, inputTokens)) {
      if (closed) return;
      send(event);
      if (event.event === "content_block_delta") await sleep(this.chunkDelayMs);
    }
    if (!closed) res.end();
  }

  /**
   * Test controls over HTTP, for tests whose adapter runs in another process: POST /replies (a Reply or an
   * array), GET /held/<id> (answers once a request is held there), POST /release/<id>, GET /requests,
   * POST /reset. `r.path` is what follows the mount point.
   */
  async handleAdmin(r: Request): Promise<void> {
    const { res, method, path } = r;
    if (method === "POST" && path === "/replies") {
      let parsed: unknown;
      try {
        parsed = JSON.parse((await r.body()).toString("utf8"));
      } catch {
        return sendJson(res, 400, { error: "body must be a JSON reply or an array of replies" });
      }
      const replies = (Array.isArray(parsed) ? parsed : [parsed]) as Reply[];
      this.enqueue(...replies);
      return sendJson(res, 201, { queued: replies.length, pending: this.pending() });
    }
    const release = /^\/release\/([^/]+)$/.exec(path);
    if (method === "POST" && release) {
      this.release(decodeURIComponent(release[1]!));
      return sendJson(res, 200, { released: decodeURIComponent(release[1]!) });
    }
    const held = /^\/held\/([^/]+)$/.exec(path);
    if (method === "GET" && held) {
      // A long poll: the test waits on the event (its own timeout bounds it), not on a guess of how long.
      const id = decodeURIComponent(held[1]!);
      await this.held(id);
      return sendJson(res, 200, { held: id });
    }
    if (method === "GET" && path === "/requests") return sendJson(res, 200, this.requests());
    if (method === "POST" && path === "/reset") {
      this.reset();
      return sendJson(res, 200, { reset: true });
    }
    sendJson(res, 404, {
      error:
        "the Anthropic stand-in's controls are POST /replies, GET /held/<id>, POST /release/<id>, GET /requests, POST /reset",
    });
  }

  private authenticate(req: IncomingMessage, entry: LoggedRequest): string | undefined {
    const apiKey = req.headers["x-api-key"];
    const authorization = req.headers.authorization;
    if (typeof apiKey === "string" && apiKey !== "") {
      entry.auth = "api-key";
      return this.apiKeys.has(apiKey) ? undefined : "invalid x-api-key";
    }
    const bearer = /^Bearer (.+)$/i.exec(authorization ?? "");
    if (bearer) {
      entry.auth = "bearer";
      const betas = String(req.headers["anthropic-beta"] ?? "")
        .split(",")
        .map((flag) => flag.trim());
      if (!betas.includes(OAUTH_BETA)) return "OAuth authentication is currently not supported.";
      return this.oauthTokens.has(bearer[1]!) ? undefined : "Invalid bearer token";
    }
    return "x-api-key header is required";
  }

  private hold(id: string): Hold {
    let hold = this.holds.get(id);
    if (!hold) {
      let release!: () => void;
      let heldOnce!: () => void;
      const waiting = new Promise<void>((resolve) => {
        release = resolve;
      });
      const held = new Promise<void>((resolve) => {
        heldOnce = resolve;
      });
      hold = { released: false, release, waiting, heldOnce, held };
      this.holds.set(id, hold);
    }
    return hold;
  }

  /** Waits for release(id), or for the client to go away (a cancelled turn must not keep the handler). */
  private async wait(id: string, res: ServerResponse): Promise<void> {
    const hold = this.hold(id);
    hold.heldOnce();
    if (hold.released) return;
    const gone = new Promise<void>((resolve) => res.once("close", () => resolve()));
    await Promise.race([hold.waiting, gone]);
  }
}

export interface StandaloneAnthropic {
  api: AnthropicApi;
  /** The base URL for ANTHROPIC_BASE_URL, e.g. http://127.0.0.1:41234 (the API at /v1, controls at /_local/anthropic). */
  url: string;
  close(): Promise<void>;
}

/** Serves the stand-in alone on a loopback port, for tests that need nothing else of the local cloud. */
export async function listen(options: AnthropicOptions = {}, port = 0): Promise<StandaloneAnthropic> {
  const api = new AnthropicApi(options);
  const route = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let body: Promise<Buffer> | undefined;
    const admin = url.pathname.startsWith("/_local/anthropic/");
    const r: Request = {
      req,
      res,
      method: req.method ?? "GET",
      path: admin ? url.pathname.slice("/_local/anthropic".length) : url.pathname,
      url,
      body: () => {
        body ??= readBody(req);
        return body;
      },
    };
    return admin ? api.handleAdmin(r) : api.handle(r);
  };
  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorEnvelope("api_error", String(error), null));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    api,
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        api.reset();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
