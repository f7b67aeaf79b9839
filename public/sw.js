// SAM's service worker: shows the notifications the control plane pushes (app/notifications/notifications.server.ts,
// PushPayload) and answers a permission request from the notification's Allow / Deny buttons. It caches nothing.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let message;
  try {
    message = event.data ? event.data.json() : null;
  } catch {
    message = null;
  }
  if (!message || typeof message.title !== "string") return;
  const actions = Array.isArray(message.actions) ? message.actions : [];
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      tag: message.id,
      icon: "/favicon.svg",
      requireInteraction: message.kind === "permission_waiting",
      data: { id: message.id, url: message.url, actions },
      actions: actions.map((action) => ({ action: action.action, title: action.title })),
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  const notification = event.notification;
  const data = notification.data || {};
  notification.close();
  const chosen = (data.actions || []).find((action) => action.action === event.action);
  if (chosen) {
    // The URL carries a one-time answer for this request only; no session cookie is needed or sent.
    event.waitUntil(
      fetch(chosen.url, { method: "POST", credentials: "omit" }).then((response) =>
        response.ok
          ? undefined
          : self.registration.showNotification("The answer did not reach the agent", {
              body: "Open the chat to answer there.",
              tag: `${data.id}-failed`,
              data: { url: data.url, actions: [] },
            }),
      ),
    );
    return;
  }
  event.waitUntil(openOrFocus(data.url || "/notifications"));
});

async function openOrFocus(path) {
  const target = new URL(path, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => client.url === target);
  if (open) return open.focus();
  return self.clients.openWindow(target);
}
