/**
 * 405 with `Allow`, for a route that answers one method. Without it Remix answers a method a route has no
 * handler for with 405 and a body that says only "Unexpected Server Error".
 */
export function methodNotAllowed(allow: "GET" | "POST") {
  return Response.json({ error: `Use ${allow}.` }, { status: 405, headers: { Allow: allow === "GET" ? "GET, HEAD" : "POST" } });
}
