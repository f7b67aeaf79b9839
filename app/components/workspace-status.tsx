import { Link } from "@remix-run/react";
import { useEffect } from "react";
import { useRevalidator } from "@remix-run/react";

const tones: Record<string, string> = {
  creating: "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200",
  running: "bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200",
  stopping: "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200",
  stopped: "bg-zinc-200 text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200",
  error: "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200",
};

export const inTransition = (status: string) => status === "creating" || status === "stopping";

export function WorkspaceStatusBadge({ status }: { status: string }) {
  return (
    <span
      className={`inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ${tones[status] ?? tones.stopped}`}
      data-status={status}
    >
      {inTransition(status) ? <span aria-hidden className="h-1.5 w-1.5 animate-pulse rounded-full bg-current" /> : null}
      {status}
    </span>
  );
}

/** Revalidates the page's loaders every `ms` while `active`, so transitions show up without a reload. */
export function useLiveRevalidation(active: boolean, ms = 2000) {
  const revalidator = useRevalidator();
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible" && revalidator.state === "idle") revalidator.revalidate();
    }, ms);
    return () => clearInterval(timer);
  }, [active, ms, revalidator]);
}

const euro = new Intl.NumberFormat("en", {
  style: "currency",
  currency: "EUR",
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});

export function formatEuro(value: number | null | undefined) {
  return value === null || value === undefined ? "—" : euro.format(value);
}

/** "in 4 min", "in 2 h 5 min", "now". */
export function formatUntil(ms: number) {
  if (ms <= 0) return "now";
  const minutes = Math.ceil(ms / 60_000);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `in ${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
}

/** Why a workspace cannot be created yet, each with the place to fix it. */
export function WorkspacePrerequisites({ missing }: { missing: string[] }) {
  if (missing.length === 0) return null;
  return (
    <div className="card space-y-2" aria-label="Before your first workspace" role="region">
      <h2 className="font-semibold">Before your first workspace</h2>
      <ul className="list-inside list-disc text-sm text-zinc-600 dark:text-zinc-400">
        {missing.includes("hetzner-token") ? (
          <li>
            <Link to="/settings" className="text-indigo-700 underline dark:text-indigo-300">
              Add your Hetzner Cloud token
            </Link>{" "}
            so SAM can create servers in your project.
          </li>
        ) : null}
        {missing.includes("installation") ? (
          <li>
            <Link to="/settings" className="text-indigo-700 underline dark:text-indigo-300">
              Install the GitHub App
            </Link>{" "}
            on the repositories your workspaces should clone.
          </li>
        ) : null}
        {missing.includes("github-sign-in") ? (
          <li>
            Your GitHub sign-in has expired, so SAM cannot list your repositories:{" "}
            <Link to="/login?redirectTo=/workspaces/new" className="text-indigo-700 underline dark:text-indigo-300">
              sign in again
            </Link>
            .
          </li>
        ) : null}
      </ul>
    </div>
  );
}
