import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { PushToggle } from "~/components/push-toggle";
import {
  countPushSubscriptions,
  listNotifications,
  markRead,
  unreadCount,
  vapidKeys,
} from "~/notifications/notifications.server";
import { readForm } from "~/platform/responses.server";
import { redirectWithToast } from "~/platform/toast.server";

export const meta: MetaFunction = () => [{ title: "Notifications · Simple Agent Manager" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const [items, unread, devices] = await Promise.all([
    listNotifications(context, user.id),
    unreadCount(context, user.id),
    countPushSubscriptions(context, user.id),
  ]);
  return {
    unread,
    devices,
    pushKey: vapidKeys(context.config)?.publicKey ?? null,
    items: items.map((item) => ({
      id: item.id,
      kind: item.kind,
      title: item.title,
      body: item.body,
      read: item.readAt !== null,
      createdAt: item.createdAt.toISOString(),
    })),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request, context);
  const form = await readForm(request);
  if (form.get("intent") !== "read-all")
    return Response.json({ error: "Unknown action: use the page's Mark all as read." }, { status: 400 });
  await markRead(context, user.id, "all");
  return redirectWithToast(request, context, "/notifications", { kind: "success", title: "All marked as read." });
}

export default function Notifications() {
  const { items, unread, pushKey, devices } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">Notifications</h1>
        {unread > 0 ? (
          <Form method="post">
            <button type="submit" name="intent" value="read-all" className="btn-secondary">
              Mark all as read
            </button>
          </Form>
        ) : null}
      </div>
      <PushToggle publicKey={pushKey} devices={devices} />
      {items.length === 0 ? (
        <p className="mt-6 text-sm text-zinc-600 dark:text-zinc-400">
          Nothing yet. SAM tells you here when an agent waits for your answer, a task is ready for review or failed, and
          before an idle workspace stops.
        </p>
      ) : (
        <ul className="mt-6 divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
          {items.map((item) => (
            <li key={item.id} data-testid="notification" data-read={item.read ? "true" : "false"}>
              <Link
                to={`/notifications/${item.id}`}
                className="flex items-start gap-3 p-3 hover:bg-zinc-50 dark:hover:bg-zinc-900"
              >
                <span
                  aria-hidden="true"
                  className={`mt-1.5 size-2 shrink-0 rounded-full ${item.read ? "bg-transparent" : "bg-indigo-600"}`}
                />
                <span className="min-w-0 flex-1">
                  <span className={`block ${item.read ? "" : "font-semibold"}`}>
                    {item.title}
                    {item.read ? null : <span className="sr-only"> (unread)</span>}
                  </span>
                  <span className="block text-sm text-zinc-600 dark:text-zinc-400">{item.body}</span>
                </span>
                <time className="shrink-0 text-xs text-zinc-500 dark:text-zinc-400" dateTime={item.createdAt}>
                  {new Date(item.createdAt).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })}
                </time>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing your notifications" />;
}
