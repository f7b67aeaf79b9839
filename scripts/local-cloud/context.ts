// What every emulated service can reach: the options, the shared state and the helpers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LocalCloudOptions } from "./config";
import type { Faults } from "./faults";
import type { Machine } from "./machines";

export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Path after the service prefix, e.g. "/servers/1" for /hetzner/v1/servers/1. */
  path: string;
  url: URL;
  /** The body, read on first use (max 1 MiB). */
  body(): Promise<Buffer>;
}

export interface CloudContext {
  options: LocalCloudOptions;
  /** Absolute working directory. */
  dir: string;
  /** http://127.0.0.1:<port>, known once listening. */
  url: string;
  faults: Faults;
  machines: Map<number, Machine>;
  /** Promises of background work (boots, deletions) so close() and tests can wait for them. */
  track(work: Promise<unknown>): void;
}
