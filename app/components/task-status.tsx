import { taskStatusLabels } from "~/tasks/schema";

const tones: Record<string, string> = {
  queued: "bg-zinc-200 text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200",
  provisioning: "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200",
  working: "bg-sky-100 text-sky-900 dark:bg-sky-950 dark:text-sky-200",
  needs_input: "bg-orange-100 text-orange-900 dark:bg-orange-950 dark:text-orange-200",
  ready: "bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200",
  pr_open: "bg-indigo-100 text-indigo-900 dark:bg-indigo-950 dark:text-indigo-200",
  failed: "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200",
  cancelled: "bg-zinc-200 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
};

/** Statuses in which the task moves by itself, so pages keep revalidating. */
export const taskInMotion = (status: string) =>
  status === "queued" || status === "provisioning" || status === "working" || status === "needs_input";

export function TaskStatusBadge({ status }: { status: keyof typeof taskStatusLabels }) {
  return (
    <span
      className={`inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ${tones[status] ?? tones.queued}`}
      data-status={status}
      data-testid="task-status"
    >
      {taskInMotion(status) ? <span aria-hidden className="h-1.5 w-1.5 animate-pulse rounded-full bg-current" /> : null}
      {taskStatusLabels[status]}
    </span>
  );
}
