// What the Hetzner project holds: servers, firewalls, snapshots and the actions that report on their changes.
import { rmSync } from "node:fs";
import type { CloudContext } from "../context";
import { isoNow } from "../http";

type ServerStatus = "initializing" | "starting" | "running" | "stopping" | "off" | "deleting";

export interface HetznerServer {
  id: number;
  name: string;
  status: ServerStatus;
  created: string;
  labels: Record<string, string>;
  serverTypeId: number;
  locationName: string;
  imageId: number;
  ipv4: string;
  ipv6: string;
  userData: string | null;
}

export interface FirewallRule {
  description: string | null;
  direction: "in" | "out";
  protocol: string;
  port: string | null;
  source_ips: string[];
  destination_ips: string[];
}

export type FirewallTarget = { type: "server"; serverId: number } | { type: "label_selector"; selector: string };

export interface HetznerFirewall {
  id: number;
  name: string;
  labels: Record<string, string>;
  created: string;
  rules: FirewallRule[];
  /** The one record of where a firewall applies; a server's firewalls are derived from these (firewallsOf). */
  appliedTo: FirewallTarget[];
}

/** A snapshot (create_image): its files are a copy of the server's directory, kept under the cloud's images/. */
export interface HetznerSnapshot {
  id: number;
  description: string;
  status: "creating" | "available";
  created: string;
  labels: Record<string, string>;
  createdFrom: { id: number; name: string };
  /** The system image the server was made from (os_flavor, os_version, architecture). */
  baseImageId: number;
  diskSize: number;
  /** Where its files are; a server created from it starts with a copy. */
  dir: string;
}

export interface Action {
  id: number;
  command: string;
  started: string;
  finished: string | null;
  resources: Array<{ id: number; type: string }>;
  error: { code: string; message: string } | null;
}

export class HetznerStore {
  readonly servers = new Map<number, HetznerServer>();
  readonly firewalls = new Map<number, HetznerFirewall>();
  readonly actions = new Map<number, Action>();
  readonly snapshots = new Map<number, HetznerSnapshot>();
  private nextActionId = 30_000_001;

  constructor(readonly cloud: CloudContext) {}

  reset(): void {
    this.servers.clear();
    this.firewalls.clear();
    this.actions.clear();
    for (const snapshot of this.snapshots.values()) rmSync(snapshot.dir, { recursive: true, force: true });
    this.snapshots.clear();
  }

  /** An action on the given resources; `done` finishes it on the next tick (firewall changes take no time). */
  newAction(command: string, resources: Array<{ id: number; type: string }>, done = false): Action {
    const action: Action = {
      id: this.nextActionId++,
      command,
      started: isoNow(),
      finished: null,
      resources,
      error: null,
    };
    this.actions.set(action.id, action);
    if (done) setImmediate(() => (action.finished = isoNow()));
    return action;
  }
}

export function actionJson(action: Action) {
  const done = action.finished !== null;
  return {
    id: action.id,
    command: action.command,
    status: action.error ? "error" : done ? "success" : "running",
    progress: done ? 100 : 0,
    started: action.started,
    finished: action.finished,
    resources: action.resources,
    error: action.error,
  };
}
