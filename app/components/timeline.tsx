export interface TimelineEvent {
  id: number;
  step: string;
  status: "started" | "ok" | "error" | "info";
  message: string | null;
  at: number;
}

/** One step as the timeline shows it: from its first event to the one that settled it. */
export interface TimelineRow {
  key: number;
  step: string;
  /** The latest event's status: "started" while the step runs. */
  status: TimelineEvent["status"];
  startedAt: number;
  /** How long the step took, once a started step has ended. */
  durationMs: number | null;
  events: TimelineEvent[];
}

/**
 * Folds the event log into one row per step: a step's "started" and the "ok" or "error" that follows it (with
 * any "info" in between) share a row with the time it took. A step that runs again (a restart) opens a new row.
 */
export function timelineRows(events: TimelineEvent[]): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const open = new Map<string, TimelineRow>();
  for (const event of events) {
    const running = open.get(event.step);
    if (running && event.status !== "started") {
      running.events.push(event);
      if (event.status === "info") continue;
      running.status = event.status;
      running.durationMs = event.at - running.startedAt;
      open.delete(event.step);
      continue;
    }
    const row: TimelineRow = {
      key: event.id,
      step: event.step,
      status: event.status,
      startedAt: event.at,
      durationMs: null,
      events: [event],
    };
    rows.push(row);
    if (event.status === "started") open.set(event.step, row);
  }
  return rows;
}

/** "0.4 s", "12 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min${seconds % 60 ? ` ${seconds % 60} s` : ""}`;
}

const stepLabels: Record<string, string> = {
  create: "Requested",
  restart: "Restart",
  "cloud-init": "Boot script",
  firewall: "Firewall",
  server: "Server",
  dns: "DNS record",
  boot: "Boot",
  bootstrap: "Agent check-in",
  certificate: "Certificate",
  cleanup: "Clean-up",
  stop: "Stop",
  delete: "Delete",
  "agent.bootstrap": "Agent started",
  "agent.clone": "Clone repository",
  "agent.install-agent-cli": "Install agent CLI",
  "agent.ready": "Ready",
};

// Each state has its own symbol and words, so the timeline does not rely on colour.
const statusIcon: Record<TimelineEvent["status"], { icon: string; label: string; tone: string }> = {
  started: { icon: "…", label: "running", tone: "text-zinc-600 dark:text-zinc-400" },
  ok: { icon: "✓", label: "done", tone: "text-emerald-700 dark:text-emerald-400" },
  error: { icon: "✗", label: "failed", tone: "text-red-700 dark:text-red-400" },
  info: { icon: "·", label: "note", tone: "text-zinc-600 dark:text-zinc-400" },
};

const timeFormat = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZone: "UTC",
});

/** The workspace's timeline: one row per step with its duration; its messages open with a click. */
export function Timeline({ events }: { events: TimelineEvent[] }) {
  const rows = timelineRows(events);
  return (
    <ol className="mt-3 space-y-1" aria-label="Timeline">
      {rows.map((row) => {
        const state = statusIcon[row.status];
        const last = row.events[row.events.length - 1]!;
        return (
          <li key={row.key} className="text-sm" data-step={row.step} data-status={row.status}>
            <details className="group rounded-md open:bg-zinc-100 dark:open:bg-zinc-900">
              <summary className="flex cursor-pointer list-none items-baseline gap-3 rounded-md px-1 py-0.5 hover:bg-zinc-100 dark:hover:bg-zinc-900">
                <span className="w-16 shrink-0 font-mono text-xs text-zinc-600 dark:text-zinc-400">
                  {timeFormat.format(row.startedAt)}
                </span>
                <span className={`w-4 shrink-0 text-center ${state.tone}`}>
                  <span aria-hidden>{state.icon}</span>
                  <span className="sr-only">{state.label}</span>
                </span>
                <span className="min-w-0 flex-1">
                  <span className="font-medium">{stepLabels[row.step] ?? row.step}</span>
                  {last.message ? (
                    <span
                      className={
                        row.status === "error" ? "text-red-700 dark:text-red-300" : "text-zinc-600 dark:text-zinc-400"
                      }
                    >
                      {" "}
                      — {last.message}
                    </span>
                  ) : null}
                </span>
                {row.durationMs !== null ? (
                  <span className="shrink-0 font-mono text-xs text-zinc-600 dark:text-zinc-400" data-testid="duration">
                    {formatDuration(row.durationMs)}
                  </span>
                ) : null}
              </summary>
              <ul className="space-y-0.5 py-1 pr-2 pl-[5.75rem] text-xs text-zinc-600 dark:text-zinc-400">
                {row.events.map((event) => (
                  <li key={event.id}>
                    <span className="font-mono">{timeFormat.format(event.at)}</span> {statusIcon[event.status].label}
                    {event.message ? `: ${event.message}` : ""}
                  </li>
                ))}
              </ul>
            </details>
          </li>
        );
      })}
    </ol>
  );
}
