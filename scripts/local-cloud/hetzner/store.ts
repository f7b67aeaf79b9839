// What the Hetzner project holds: servers, firewalls, snapshots, volumes and the actions that report on their
// changes.
import { rmSync } from "node:fs";
import type { CloudContext } from "../context";
import { isoNow, sleep } from "../http";
import { HetznerError } from "./api";

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

/**
 * A volume: its files are a directory of the cloud's `volumes/<id>`, outside every server's directory, kept until
 * the volume is deleted; attached with automount, it is linked at `<server dir>/mnt/HC_Volume_<id>`.
 */
export interface HetznerVolume {
  id: number;
  name: string;
  size: number;
  status: "creating" | "available";
  created: string;
  labels: Record<string, string>;
  locationName: string;
  serverId: number | null;
  /** Whether the server mounts it (at /mnt/HC_Volume_<id>) while attached. */
  automount: boolean;
  format: "ext4" | "xfs" | null;
  protectDelete: boolean;
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
  /** How long an ACPI shutdown waits for the OS to stop before it is powered off, as systemd's stop timeout. */
  shutdownGraceMs = 20_000;
  readonly servers = new Map<number, HetznerServer>();
  readonly firewalls = new Map<number, HetznerFirewall>();
  readonly actions = new Map<number, Action>();
  readonly snapshots = new Map<number, HetznerSnapshot>();
  readonly volumes = new Map<number, HetznerVolume>();
  private nextActionId = 30_000_001;

  constructor(readonly cloud: CloudContext) {}

  reset(): void {
    this.servers.clear();
    this.firewalls.clear();
    this.actions.clear();
    for (const snapshot of this.snapshots.values()) rmSync(snapshot.dir, { recursive: true, force: true });
    this.snapshots.clear();
    for (const volume of this.volumes.values()) rmSync(volume.dir, { recursive: true, force: true });
    this.volumes.clear();
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

  /**
   * An action that runs in the background: after `delayMs` (plus any `action_delay_ms` fault on its command),
   * `work` happens and the action succeeds; an `action_error` fault on its command makes it fail instead:
   * `failed` runs in place of `work`, and the action ends in `error`, as a failed Hetzner action does.
   */
  runAction(
    command: string,
    resources: Array<{ id: number; type: string }>,
    work: () => void | Promise<void> = () => {},
    options: { delayMs?: number; failed?: () => void } = {},
  ): Action {
    const action = this.newAction(command, resources);
    const fault = this.cloud.faults.takeAction("hetzner", command);
    const run = async () => {
      await sleep((options.delayMs ?? 0) + (fault && "action_delay_ms" in fault ? fault.action_delay_ms : 0));
      if (fault && "action_error" in fault) {
        options.failed?.();
        action.error = {
          code: fault.action_error.code ?? "action_failed",
          message: fault.action_error.message ?? "Action failed",
        };
      } else await work();
      action.finished = isoNow();
    };
    this.cloud.track(run());
    return action;
  }

  /** Hetzner refuses to start an action on a resource while another one on it (create, attach, …) still runs. */
  refuseWhileLocked(type: "server" | "volume", id: number): void {
    for (const action of this.actions.values()) {
      if (action.finished === null && action.resources.some((r) => r.type === type && r.id === id))
        throw new HetznerError(
          423,
          "locked",
          `${type} ${id} is locked: action ${action.command} (${action.id}) is still running`,
        );
    }
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
