import { createWorkersKVSessionStorage, type AppLoadContext, type Session } from "@remix-run/cloudflare";

export interface SessionData {
  userId: string;
}

export interface Toast {
  kind: "success" | "error" | "info";
  title: string;
  description?: string;
}

interface FlashData {
  toast: Toast;
}

const storages = new WeakMap<object, ReturnType<typeof build>>();

/** Over https the cookie is `__Host-` prefixed: browsers then refuse one set by a sibling host (a workspace). */
export function sessionCookieName(appUrl: string) {
  return appUrl.startsWith("https://") ? "__Host-session" : "__session";
}

function build(context: AppLoadContext) {
  const { config, cloudflare } = context;
  return createWorkersKVSessionStorage<SessionData, FlashData>({
    kv: cloudflare.env.SESSIONS,
    cookie: {
      name: sessionCookieName(config.APP_URL),
      httpOnly: true,
      sameSite: "lax",
      path: "/",
      secure: config.APP_URL.startsWith("https://"),
      secrets: [config.SESSION_SECRET],
      maxAge: 60 * 60 * 24 * 14,
    },
  });
}

/** Sessions live in KV behind a signed cookie; one storage per Worker env. */
export function sessionStorage(context: AppLoadContext) {
  let storage = storages.get(context.cloudflare.env);
  if (!storage) {
    storage = build(context);
    storages.set(context.cloudflare.env, storage);
  }
  return storage;
}

export type AppSession = Session<SessionData, FlashData>;

/**
 * The request's session, or a fresh one when the cookie is absent, forged or mangled: a cookie whose
 * signature is not even valid base64 makes the parser throw, and that must not lock a browser out.
 */
export function getSession(request: Request, context: AppLoadContext): Promise<AppSession> {
  // The root loader (toast) and the route (user) both read it: one KV read per request, one object they share.
  const cookie = request.headers.get("Cookie");
  let sessions = sessionsByRequest.get(context);
  if (!sessions) sessionsByRequest.set(context, (sessions = new Map()));
  let session = sessions.get(cookie);
  if (!session) {
    const storage = sessionStorage(context);
    session = storage.getSession(cookie).catch(() => storage.getSession());
    sessions.set(cookie, session);
  }
  return session;
}

/** The load context is one per request; what getSession read is kept there until the session is destroyed. */
const sessionsByRequest = new WeakMap<AppLoadContext, Map<string | null, Promise<AppSession>>>();

export function commitSession(session: AppSession, context: AppLoadContext): Promise<string> {
  return sessionStorage(context).commitSession(session);
}

export function destroySession(session: AppSession, context: AppLoadContext): Promise<string> {
  sessionsByRequest.delete(context);
  return sessionStorage(context).destroySession(session);
}
