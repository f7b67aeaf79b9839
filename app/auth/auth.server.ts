import { redirect, type AppLoadContext } from "@remix-run/cloudflare";
import type { OAuth2Tokens } from "arctic";
import { eq } from "drizzle-orm";
import { audit } from "../platform/audit.server";
import { saveCredential } from "../settings/credentials.server";
import { users } from "../db/schema";
import { github } from "../providers/github.server";
import { isAdmin, isLoginAllowed } from "../admin/policy.server";
import { commitSession, destroySession, getSession, sessionStorage } from "./session.server";
import { notFound } from "../platform/responses.server";

export type User = typeof users.$inferSelect;

export type SignInResult = { kind: "signed-in"; user: User } | { kind: "refused"; login: string };

/**
 * Records the user GitHub vouched for, if the instance lets them in. The GitHub token comes from the web flow
 * in ./github-oauth.server.ts.
 */
export async function signIn(request: Request, context: AppLoadContext, tokens: OAuth2Tokens): Promise<SignInResult> {
  const accessToken = tokens.accessToken();
  const expiresAt = tokens.hasRefreshToken() ? tokens.accessTokenExpiresAt() : null;
  const client = github({ apiUrl: context.config.GITHUB_API_URL });
  const [profile, email] = await Promise.all([client.getUser(accessToken), client.getPrimaryEmail(accessToken)]);
  if (!(await isLoginAllowed(context, { login: profile.login, githubId: profile.id }))) {
    await audit(context, request, {
      userId: null,
      action: "sign_in.refused",
      details: { login: profile.login, githubId: profile.id },
    });
    return { kind: "refused", login: profile.login };
  }
  const now = new Date();
  const values = {
    login: profile.login,
    name: profile.name ?? null,
    avatarUrl: profile.avatar_url,
    email,
    lastSignInAt: now,
    updatedAt: now,
  };
  const [user] = await context.db
    .insert(users)
    .values({ githubId: profile.id, ...values })
    .onConflictDoUpdate({ target: users.githubId, set: values })
    .returning();
  if (!user) throw new Error("could not record the user");
  // The user's GitHub token proves which App installations they can see; kept encrypted, never sent out.
  await saveCredential(context, user.id, "github_user_token", accessToken, { expiresAt });
  await audit(context, request, { userId: user.id, action: "sign_in", details: { login: user.login } });
  return { kind: "signed-in", user };
}

/** A path on this site to return to after sign-in; anything else (other hosts, `//x`, `/\x`) becomes the fallback. */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = "/dashboard"): string {
  if (typeof to !== "string" || !to.startsWith("/") || to.startsWith("//") || to.startsWith("/\\")) return fallback;
  try {
    const url = new URL(to, "http://sam.invalid");
    if (url.origin !== "http://sam.invalid") return fallback;
    // Normalising can itself produce a protocol-relative path ("/..//evil.example" → "//evil.example").
    const path = `${url.pathname}${url.search}${url.hash}`;
    return path.startsWith("//") || path.startsWith("/\\") ? fallback : path;
  } catch {
    return fallback;
  }
}

export async function getUserId(request: Request, context: AppLoadContext): Promise<string | null> {
  if (!request.headers.get("Cookie")?.includes("session=")) return null;
  const session = await getSession(request, context);
  return session.get("userId") ?? null;
}

// The root loader and the route's loader both ask who is signing in; the load context is one per request.
const usersByRequest = new WeakMap<AppLoadContext, Promise<User | null>>();

export function getOptionalUser(request: Request, context: AppLoadContext): Promise<User | null> {
  let user = usersByRequest.get(context);
  if (!user) {
    user = (async () => {
      const userId = await getUserId(request, context);
      if (!userId) return null;
      return (await context.db.query.users.findFirst({ where: eq(users.id, userId) })) ?? null;
    })();
    usersByRequest.set(context, user);
  }
  return user;
}

/** The signed-in user, or a redirect to sign in that brings them back to this page. */
export async function requireUser(request: Request, context: AppLoadContext): Promise<User> {
  const user = await getOptionalUser(request, context);
  if (user) {
    // Taking someone off the allow-list ends their access at once, not when their session expires.
    if (!(await isLoginAllowed(context, user))) throw await destroyUserSession(request, context, "/private");
    return user;
  }
  const url = new URL(request.url);
  const back = request.method === "GET" ? `${url.pathname}${url.search}` : url.pathname;
  throw redirect(`/login?${new URLSearchParams({ redirectTo: back })}`);
}

/** Admin pages answer 404 to everyone else, so they do not reveal themselves. */
export async function requireAdmin(request: Request, context: AppLoadContext): Promise<User> {
  const user = await requireUser(request, context);
  if (!(await isAdmin(context, user))) throw notFound("There is no such page.");
  return user;
}

export async function createUserSession(request: Request, context: AppLoadContext, userId: string, redirectTo: string) {
  // Always a new session id: reusing one the browser brought would let a planted cookie become the victim's session.
  const session = await sessionStorage(context).getSession();
  session.set("userId", userId);
  return redirect(redirectTo, { headers: { "Set-Cookie": await commitSession(session, context) } });
}

export async function destroyUserSession(request: Request, context: AppLoadContext, to = "/") {
  const session = await getSession(request, context);
  // A visitor without a stored session has nothing to destroy (and KV refuses an empty key).
  if (!session.id) return redirect(to);
  const userId = session.get("userId");
  if (userId) await audit(context, request, { userId, action: "sign_out" });
  return redirect(to, { headers: { "Set-Cookie": await destroySession(session, context) } });
}
