import { useEffect, useState } from "react";

export interface ToastMessage {
  kind: "success" | "error" | "info";
  title: string;
  description?: string;
}

const tone: Record<ToastMessage["kind"], string> = {
  success: "border-emerald-500/40 bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100",
  error: "border-red-500/40 bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-100",
  info: "border-indigo-500/40 bg-indigo-50 text-indigo-900 dark:bg-indigo-950 dark:text-indigo-100",
};

/** Shows the toast a redirect flashed, and hides it after a few seconds. */
export function Toaster({ toast }: { toast: ToastMessage | null }) {
  const [visible, setVisible] = useState<ToastMessage | null>(toast);
  useEffect(() => {
    setVisible(toast);
    if (!toast) return;
    const timer = setTimeout(() => setVisible(null), 6000);
    return () => clearTimeout(timer);
  }, [toast]);
  if (!visible) return null;
  return (
    <div className="fixed right-4 bottom-4 z-50 w-80" aria-live="polite">
      <div role="status" className={`rounded-lg border p-4 shadow-lg ${tone[visible.kind]}`}>
        <div className="flex items-start justify-between gap-3">
          <p className="font-medium">{visible.title}</p>
          <button
            type="button"
            onClick={() => setVisible(null)}
            aria-label="Dismiss"
            className="opacity-60 hover:opacity-100"
          >
            ×
          </button>
        </div>
        {visible.description ? <p className="mt-1 text-sm opacity-80">{visible.description}</p> : null}
      </div>
    </div>
  );
}
