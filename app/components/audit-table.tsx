export interface AuditRow {
  id: number;
  action: string;
  ip: string | null;
  details: Record<string, unknown> | null;
  createdAt: string;
  login: string | null;
}

const time = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });

/** The audit log, newest first; details are shown as recorded (they never hold a secret). */
export function AuditTable({ entries, showUser = false }: { entries: AuditRow[]; showUser?: boolean }) {
  if (!entries.length) return <p className="text-sm text-zinc-600 dark:text-zinc-400">Nothing recorded yet.</p>;
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm" aria-label="Audit log">
        <thead className="text-xs text-zinc-600 uppercase dark:text-zinc-400">
          <tr>
            <th className="py-2 pr-4">Time (UTC)</th>
            {showUser ? <th className="py-2 pr-4">User</th> : null}
            <th className="py-2 pr-4">Event</th>
            <th className="py-2 pr-4">Details</th>
            <th className="py-2">IP</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
          {entries.map((entry) => (
            <tr key={entry.id}>
              <td className="py-2 pr-4 whitespace-nowrap">{time.format(new Date(entry.createdAt))}</td>
              {showUser ? <td className="py-2 pr-4">{entry.login ?? "—"}</td> : null}
              <td className="py-2 pr-4 font-mono">{entry.action}</td>
              <td className="py-2 pr-4 font-mono text-xs text-zinc-600 dark:text-zinc-400">
                {Object.entries(entry.details ?? {})
                  .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
                  .join(" ")}
              </td>
              <td className="py-2 font-mono text-xs">{entry.ip ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
