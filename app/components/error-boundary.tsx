import { isRouteErrorResponse, Link, useRouteError } from "@remix-run/react";

const messages: Record<number, { title: string; body: string }> = {
  400: { title: "That request was not valid", body: "Check what you entered and try again." },
  401: { title: "Please sign in", body: "You need to be signed in to see this page." },
  403: { title: "Not allowed", body: "Your account may not do this." },
  404: { title: "Not found", body: "There is nothing here, or it is not yours to see." },
  405: {
    title: "Not available this way",
    body: "This address does not take that kind of request: use the page's own links and forms.",
  },
};

/**
 * The one error page every route shows: what went wrong, in words, and a way back. `doing` names what the
 * route was doing in its own terms ("opening this workspace's terminal"), so an unexpected failure says where.
 */
export function GeneralErrorBoundary({ doing }: { doing?: string }) {
  const error = useRouteError();
  let title = doing ? `Something went wrong ${doing}` : "Something went wrong";
  let body = "An unexpected error happened. Try again in a moment; if it keeps happening, check the server logs.";
  let status: number | undefined;
  if (isRouteErrorResponse(error)) {
    status = error.status;
    const known = messages[error.status];
    title = known?.title ?? title;
    // Remix's own answers (no route, no action) carry a message for developers; show ours instead.
    const internal = (error as { internal?: boolean }).internal === true;
    body = !internal && typeof error.data === "string" && error.data ? error.data : (known?.body ?? body);
  } else if (error instanceof Error && error.name === "ConfigError") {
    title = "This instance is not configured";
    body = error.message;
  }
  return (
    <div className="mx-auto max-w-xl py-16 text-center" role="alert">
      {status ? <p className="text-sm font-semibold text-indigo-700 dark:text-indigo-400">{status}</p> : null}
      <h1 className="mt-2 text-2xl font-semibold">{title}</h1>
      <p className="mt-3 whitespace-pre-line text-zinc-600 dark:text-zinc-400">{body}</p>
      <Link to="/" className="btn-secondary mt-6">
        Back to the start page
      </Link>
    </div>
  );
}
