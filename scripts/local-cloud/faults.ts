// Fault injection for tests: the next N matching calls to a service fail in a chosen way, or the next N Hetzner
// actions of a command (attach_volume, …) run longer or end in error.
import type { IncomingMessage, ServerResponse } from "node:http";
import { sleep } from "./http";

export type Service = "hetzner" | "cloudflare" | "github" | "edge";
export const SERVICES: Service[] = ["hetzner", "cloudflare", "github", "edge"];

export type FaultKind =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delay_ms: number }
  | { hang: true }
  | { reset: true };

/** What happens to a Hetzner action (GET /actions/{id}): it runs `action_delay_ms` longer, or ends in `error`. */
export type ActionFaultKind = { action_delay_ms: number } | { action_error: { code?: string; message?: string } };

/**
 * Hetzner's documented error codes with their statuses (API overview, "Error Codes", and the volume ones):
 * `{hetzner_error: code, message?}` as a fault answers with that status and Hetzner's error body.
 */
export const HETZNER_ERROR_STATUS: Record<string, number> = {
  forbidden: 403,
  maintenance: 403,
  resource_limit_exceeded: 403,
  not_found: 404,
  uniqueness_error: 409,
  conflict: 409,
  resource_unavailable: 412,
  invalid_input: 422,
  service_error: 422,
  unsupported_error: 422,
  placement_error: 422,
  no_space_left_in_location: 422,
  volume_already_attached: 422,
  locked: 423,
  protected: 423,
  rate_limit_exceeded: 429,
  server_error: 500,
  unavailable: 503,
  timeout: 504,
};

/** `{hetzner_error: "resource_unavailable", message?}` → `{status: 412, body: {error: {code, message, details}}}`. */
export function hetznerErrorFault(code: string, message?: string): FaultKind | undefined {
  const status = HETZNER_ERROR_STATUS[code];
  if (status === undefined) return undefined;
  return { status, body: { error: { code, message: message ?? code.replaceAll("_", " "), details: null } } };
}

export interface Fault {
  id: number;
  service: Service;
  method?: string;
  path: RegExp;
  remaining: number;
  fault: FaultKind;
}

interface ActionFault {
  id: number;
  service: "hetzner";
  command: string;
  remaining: number;
  fault: ActionFaultKind;
}

export type FaultOutcome = "handled" | "continue";

export class Faults {
  private list: Fault[] = [];
  private actionFaults: ActionFault[] = [];
  private nextId = 1;
  /** Requests held open by `hang` faults; answered with a reset when the cloud closes or faults are cleared. */
  private hanging = new Set<ServerResponse>();

  add(input: { service: Service; method?: string; path: string; times?: number; fault: FaultKind }): Fault {
    const fault: Fault = {
      id: this.nextId++,
      service: input.service,
      method: input.method?.toUpperCase(),
      path: new RegExp(input.path),
      remaining: input.times ?? 1,
      fault: input.fault,
    };
    this.list.push(fault);
    return fault;
  }

  /** The next `times` Hetzner actions with this command (e.g. "attach_volume") run longer or fail. */
  addAction(input: { command: string; times?: number; fault: ActionFaultKind }): { id: number } {
    const fault: ActionFault = {
      id: this.nextId++,
      service: "hetzner",
      command: input.command,
      remaining: input.times ?? 1,
      fault: input.fault,
    };
    this.actionFaults.push(fault);
    return fault;
  }

  /** Takes the first action fault for this command, if any, and consumes one of its uses. */
  takeAction(service: "hetzner", command: string): ActionFaultKind | undefined {
    const fault = this.actionFaults.find((f) => f.service === service && f.command === command);
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.actionFaults = this.actionFaults.filter((f) => f !== fault);
    return fault.fault;
  }

  clear(): void {
    this.list = [];
    this.actionFaults = [];
    for (const res of this.hanging) res.socket?.destroy();
    this.hanging.clear();
  }

  describe(): object[] {
    return [
      ...this.list.map((f) => ({
        id: f.id,
        service: f.service,
        method: f.method ?? null,
        path: f.path.source,
        remaining: f.remaining,
        fault: f.fault,
      })),
      ...this.actionFaults.map((f) => ({
        id: f.id,
        service: f.service,
        action: f.command,
        remaining: f.remaining,
        fault: f.fault,
      })),
    ];
  }

  /** Takes the first fault matching this call, if any, and consumes one of its uses. */
  take(service: Service, method: string, path: string): FaultKind | undefined {
    const fault = this.list.find(
      (f) => f.service === service && (!f.method || f.method === method) && f.path.test(path),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.list = this.list.filter((f) => f !== fault);
    return fault.fault;
  }

  /** Applies a fault to a plain HTTP exchange. "continue" means: handle the request normally (after any delay). */
  async apply(kind: FaultKind, req: IncomingMessage, res: ServerResponse): Promise<FaultOutcome> {
    if ("delay_ms" in kind) {
      await sleep(kind.delay_ms);
      return "continue";
    }
    if ("reset" in kind) {
      req.socket.destroy();
      return "handled";
    }
    if ("hang" in kind) {
      this.hanging.add(res);
      res.on("close", () => this.hanging.delete(res));
      return "handled";
    }
    const body = kind.body === undefined ? "" : typeof kind.body === "string" ? kind.body : JSON.stringify(kind.body);
    const type = typeof kind.body === "string" ? "text/plain; charset=utf-8" : "application/json; charset=utf-8";
    res.writeHead(kind.status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), ...kind.headers });
    res.end(body);
    return "handled";
  }
}
