import { safeRedirect } from "./auth.server";

/** Where to go after sign-in, kept in a short-lived cookie across the GitHub round trip. */
const RETURN_COOKIE = "__sam_return_to";

export function returnToCookie(path: string, secure: boolean): string {
  return `${RETURN_COOKIE}=${encodeURIComponent(path)}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

export function readReturnTo(request: Request): string {
  const cookie = request.headers.get("Cookie") ?? "";
  const match = new RegExp(`(?:^|;\\s*)${RETURN_COOKIE}=([^;]*)`).exec(cookie);
  return safeRedirect(match ? decodeURIComponent(match[1]!) : null);
}

export const clearReturnTo = `${RETURN_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;
