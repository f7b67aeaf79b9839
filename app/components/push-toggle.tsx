import { useEffect, useState } from "react";

type State =
  | { kind: "checking" }
  | { kind: "unsupported" }
  | { kind: "off" }
  | { kind: "on"; endpoint: string }
  | { kind: "busy" }
  | { kind: "error"; message: string };

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

async function send(method: "POST" | "DELETE", body: unknown) {
  const response = await fetch("/api/push/subscriptions", {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const answer = (await response.json().catch(() => null)) as { error?: string } | null;
    throw new Error(answer?.error ?? `the server answered ${response.status}`);
  }
}

/**
 * Push notifications for this browser: registers the service worker (public/sw.js), subscribes with the
 * instance's VAPID key and hands the subscription to the server, or undoes that.
 */
export function PushToggle({ publicKey, devices }: { publicKey: string | null; devices: number }) {
  const [state, setState] = useState<State>({ kind: "checking" });

  useEffect(() => {
    if (!publicKey) return;
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      setState({ kind: "unsupported" });
      return;
    }
    navigator.serviceWorker
      .register("/sw.js")
      .then((registration) => registration.pushManager.getSubscription())
      .then((subscription) =>
        setState(subscription ? { kind: "on", endpoint: subscription.endpoint } : { kind: "off" }),
      )
      .catch((error: Error) => setState({ kind: "error", message: error.message }));
  }, [publicKey]);

  async function enable() {
    if (!publicKey) return;
    setState({ kind: "busy" });
    try {
      if ((await Notification.requestPermission()) !== "granted")
        throw new Error("the browser's permission to show notifications was not given");
      const registration = await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      });
      await send("POST", subscription.toJSON());
      setState({ kind: "on", endpoint: subscription.endpoint });
    } catch (error) {
      setState({ kind: "error", message: `Could not turn on push notifications: ${(error as Error).message}.` });
    }
  }

  async function disable() {
    setState({ kind: "busy" });
    try {
      const registration = await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        await send("DELETE", { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
      }
      setState({ kind: "off" });
    } catch (error) {
      setState({ kind: "error", message: `Could not turn off push notifications: ${(error as Error).message}.` });
    }
  }

  return (
    <section
      aria-labelledby="push-heading"
      data-vapid-key={publicKey ?? undefined}
      className="mt-4 rounded-lg border border-zinc-200 p-4 dark:border-zinc-800"
    >
      <h2 id="push-heading" className="font-medium">
        Push notifications
      </h2>
      {!publicKey ? (
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Not set up on this instance: its administrator sets VAPID keys to turn them on.
        </p>
      ) : (
        <>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            Get a notification on this device when an agent waits for your answer, even with SAM closed.{" "}
            {devices > 0 ? `${devices} device${devices === 1 ? "" : "s"} subscribed.` : null}
          </p>
          <div className="mt-3 flex items-center gap-3" aria-live="polite">
            {state.kind === "on" ? (
              <button type="button" className="btn-secondary" onClick={disable}>
                Turn off on this device
              </button>
            ) : state.kind === "unsupported" ? (
              <span className="text-sm">This browser cannot receive push notifications.</span>
            ) : (
              <button
                type="button"
                className="btn-primary"
                onClick={enable}
                disabled={state.kind === "busy" || state.kind === "checking"}
              >
                Turn on for this device
              </button>
            )}
            {state.kind === "error" ? (
              <span role="alert" className="text-sm text-red-700 dark:text-red-400">
                {state.message}
              </span>
            ) : null}
          </div>
        </>
      )}
    </section>
  );
}
