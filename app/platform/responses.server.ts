/**
 * 405 with `Allow`, for a route that answers one method. Without it Remix answers a method a route has no
 * handler for with 405 and a body that says only "Unexpected Server Error".
 */
export function methodNotAllowed(allow: "GET" | "POST") {
  return Response.json(
    { error: `Use ${allow}.` },
    { status: 405, headers: { Allow: allow === "GET" ? "GET, HEAD" : "POST" } },
  );
}

/**
 * 404 in the route's own words, for something that does not exist or is not the caller's: both answer the
 * same, so a stranger learns nothing from the difference. The error boundary shows the words.
 */
export function notFound(message: string) {
  return new Response(message, { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}
