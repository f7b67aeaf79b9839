// Fault injection for tests: the next N matching calls to a service fail in a chosen way.
import type { IncomingMessage, ServerResponse } from "node:http";
import { sleep } from "./http";

export type Service = "hetzner" | "cloudflare" | "github" | "edge";
export const SERVICES: Service[] = ["hetzner", "cloudflare", "github", "edge"];

export type FaultKind =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delay_ms: number }
  | { hang: true }
  | { reset: true };

export interface Fault {
  id: number;
  service: Service;
  method?: string;
  path: RegExp;
  remaining: number;
  fault: FaultKind;
}

export type FaultOutcome = "handled" | "continue";

export class Faults {
  private list: Fault[] = [];
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

  clear(): void {
    this.list = [];
    for (const res of this.hanging) res.socket?.destroy();
    this.hanging.clear();
  }

  describe(): object[] {
    return this.list.map((f) => ({
      id: f.id,
      service: f.service,
      method: f.method ?? null,
      path: f.path.source,
      remaining: f.remaining,
      fault: f.fault,
    }));
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
