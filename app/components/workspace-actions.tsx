import { Form, useNavigation } from "@remix-run/react";
import { useEffect, useRef, useState, type ReactNode } from "react";

/**
 * A button that asks before it acts: the first click shows what will happen and a second, explicit
 * button; the form posts `intent`.
 */
export function ConfirmAction({
  intent,
  label,
  question,
  confirmLabel,
  danger = false,
  action,
  fields = {},
  children,
}: {
  intent: string;
  label: string;
  question: string;
  confirmLabel: string;
  danger?: boolean;
  /** Where to post, when not to the current route (the terminal page posts to its workspace's page). */
  action?: string;
  /** Further hidden fields to send with `intent`. */
  fields?: Record<string, string>;
  /** More of the form, after the question: a warning, a confirmation the user must tick. */
  children?: ReactNode;
}) {
  const [asking, setAsking] = useState(false);
  const navigation = useNavigation();
  const busy = navigation.state !== "idle" && navigation.formData?.get("intent") === intent;
  const form = useRef<HTMLFormElement>(null);
  // The question takes the keyboard's focus where the answer is: its first field (a confirmation to tick)
  // or its button; Escape takes it back.
  useEffect(() => {
    if (asking) form.current?.querySelector<HTMLElement>('input:not([type="hidden"]), button')?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" className={danger ? "btn-danger" : "btn-secondary"} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <Form
      method="post"
      action={action}
      className="flex flex-wrap items-center gap-2 rounded-md border border-zinc-300 p-2 dark:border-zinc-700"
      role="group"
      aria-label={label}
      ref={form}
      onKeyDown={(event) => {
        if (event.key === "Escape") setAsking(false);
      }}
    >
      <input type="hidden" name="intent" value={intent} />
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <span className="text-sm">{question}</span>
      {children}
      <button type="submit" className={danger ? "btn-danger" : "btn-primary"} disabled={busy}>
        {confirmLabel}
      </button>
      <button type="button" className="btn-secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </Form>
  );
}
