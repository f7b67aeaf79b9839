import { redirect, type AppLoadContext } from "@remix-run/cloudflare";
import { OAuth2Client, OAuth2RequestError, OAuth2Tokens, UnexpectedResponseError } from "arctic";
import { eq } from "drizzle-orm";
import { Authenticator } from "remix-auth";
import { GitHubStrategy } from "remix-auth-github";
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
 * remix-auth-github with its endpoints moved to GITHUB_URL, so the local cloud (and GitHub
 * Enterprise) work through the same code. The strategy checks `state` against its cookie.
 * GitHub answers token errors with status 200 and an `error` field, which the generic OAuth client
 * does not look for, so the exchange is done here as arctic's own GitHub provider does it.
 */
class ConfigurableGitHubStrategy<T> extends GitHubStrategy<T> {
  constructor(
    githubUrl: string,
    options: GitHubStrategy.ConstructorOptions,
    verify: ConstructorParameters<typeof GitHubStrategy<T>>[1],
  ) {
    super(options, verify);
    const oauth = new OAuth2Client(options.clientId, options.clientSecret, options.redirectURI.toString());
    const tokenEndpoint = `${githubUrl}/login/oauth/access_token`;
    const exchange = async (grant: Record<string, string>) => {
      const response = await fetch(tokenEndpoint, {
        method: "POST",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: `Basic ${btoa(`${options.clientId}:${options.clientSecret}`)}`,
          "User-Agent": "simple-agent-manager",
        },
        body: new URLSearchParams(grant),
      });
      const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
      if (!response.ok || !body) throw new UnexpectedResponseError(response.status);
      if (typeof body.error === "string") {
        throw new OAuth2RequestError(
          body.error,
          typeof body.error_description === "string" ? body.error_description : null,
          null,
          null,
        );
      }
      return new OAuth2Tokens(body);
    };
    this.client = {
      createAuthorizationURL: (state: string, scopes: string[]) =>
        oauth.createAuthorizationURL(`${githubUrl}/login/oauth/authorize`, state, scopes),
      validateAuthorizationCode: (code: string) =>
        exchange({ grant_type: "authorization_code", code, redirect_uri: options.redirectURI.toString() }),
      refreshAccessToken: (refreshToken: string) =>
        exchange({ grant_type: "refresh_token", refresh_token: refreshToken }),
    } as unknown as GitHubStrategy<T>["client"];
  }
}

export function authenticator(request: Request, context: AppLoadContext) {
  const { config } = context;
  const auth = new Authenticator<SignInResult>();
  auth.use(
    new ConfigurableGitHubStrategy(
      config.GITHUB_URL,
      {
        clientId: config.GITHUB_CLIENT_ID,
        clientSecret: config.GITHUB_CLIENT_SECRET,
        redirectURI: `${config.APP_URL}/auth/github/callback`,
        scopes: ["read:user", "user:email"],
        cookie: {
          name: "__github_state",
          sameSite: "Lax",
          httpOnly: true,
          path: "/",
          ...(config.APP_URL.startsWith("https://") ? { secure: true as const } : {}),
        },
      },
      async ({ tokens }) =>
        signIn(request, context, tokens.accessToken(), tokens.hasRefreshToken() ? tokens.accessTokenExpiresAt() : null),
    ),
    "github",
  );
  return auth;
}

async function signIn(
  request: Request,
  context: AppLoadContext,
  accessToken: string,
  expiresAt: Date | null,
): Promise<SignInResult> {
  const client = github({ apiUrl: context.config.GITHUB_API_URL });
  const [profile, email] = await Promise.all([client.getUser(accessToken), client.getPrimaryEmail(accessToken)]);
  if (!(await isLoginAllowed(context, profile.login))) {
    await audit(context, request, { userId: null, action: "sign_in.refused", details: { login: profile.login } });
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
    if (!(await isLoginAllowed(context, user.login))) throw await destroyUserSession(request, context, "/private");
    return user;
  }
  const url = new URL(request.url);
  const back = request.method === "GET" ? `${url.pathname}${url.search}` : url.pathname;
  throw redirect(`/login?${new URLSearchParams({ redirectTo: back })}`);
}

/** Admin pages answer 404 to everyone else, so they do not reveal themselves. */
export async function requireAdmin(request: Request, context: AppLoadContext): Promise<User> {
  const user = await requireUser(request, context);
  if (!isAdmin(context, user.login)) throw notFound("There is no such page.");
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
