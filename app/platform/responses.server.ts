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

/**
 * The submitted form, or a 400 that says what was wrong: without a form content type (a script posting
 * nothing, or JSON) `request.formData()` throws, which Remix answers as a 500.
 */
export async function readForm(request: Request): Promise<FormData> {
  const type = request.headers.get("Content-Type") ?? "";
  if (/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) {
    try {
      return await request.formData();
    } catch {
      // A multipart body that does not match its boundary; answered as below.
    }
  }
  throw new Response(
    "This address takes a form submission (application/x-www-form-urlencoded or multipart/form-data); use the page's own form.",
    { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } },
  );
}
