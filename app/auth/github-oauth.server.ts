import { createCookie, redirect, type AppLoadContext } from "@remix-run/cloudflare";
import {
  ArcticFetchError,
  CodeChallengeMethod,
  generateCodeVerifier,
  generateState,
  OAuth2Client,
  OAuth2RequestError,
  OAuth2Tokens,
  UnexpectedResponseError,
} from "arctic";
import { z } from "zod";
import { safeRedirect } from "./auth.server";

/**
 * GitHub's web flow (docs: /login/oauth/authorize, then /login/oauth/access_token), with PKCE (S256).
 *
 * What the browser must bring back (state, PKCE verifier, where to return) travels in one signed,
 * HttpOnly cookie that lives ten minutes and is cleared when the callback uses it. Over https its name is
 * `__Host-` prefixed: browsers refuse such a cookie from any other host, so a workspace host (same site,
 * controlled by whoever owns the workspace) cannot plant its own flow in a visitor's browser and sign them in
 * to the attacker's account. Signing keeps anyone from writing one by hand; the prefix is what stops a
 * cookie legitimately issued to the attacker from being tossed (docs/security.md).
 */

const flowSchema = z.object({
  state: z.string().min(20).max(200),
  verifier: z.string().min(43).max(128),
  returnTo: z.string().max(2000),
});

type Flow = z.infer<typeof flowSchema>;

const FLOW_LIFETIME_SECONDS = 600;

export function oauthCookieName(appUrl: string) {
  return appUrl.startsWith("https://") ? "__Host-sam_oauth" : "sam_oauth";
}

function flowCookie(context: AppLoadContext) {
  const { config } = context;
  return createCookie(oauthCookieName(config.APP_URL), {
    httpOnly: true,
    // Lax: GitHub's redirect back is a top-level GET navigation from another site, which Lax cookies ride on.
    sameSite: "lax",
    path: "/",
    secure: config.APP_URL.startsWith("https://"),
    secrets: [config.SESSION_SECRET],
    maxAge: FLOW_LIFETIME_SECONDS,
  });
}

/** A sign-in that cannot finish; `message` is for the person, the cookie is cleared either way. */
export class SignInFailed extends Error {
  constructor(
    message: string,
    readonly status: 400 | 502,
  ) {
    super(message);
    this.name = "SignInFailed";
  }
}

/** Sends the browser to GitHub; remembers state, PKCE verifier and where to come back to. */
export async function startGitHubSignIn(context: AppLoadContext, returnTo: string): Promise<Response> {
  const { config } = context;
  const flow: Flow = { state: generateState(), verifier: generateCodeVerifier(), returnTo: safeRedirect(returnTo) };
  const client = new OAuth2Client(config.GITHUB_CLIENT_ID, config.GITHUB_CLIENT_SECRET, callbackUrl(context));
  const url = client.createAuthorizationURLWithPKCE(
    `${config.GITHUB_URL}/login/oauth/authorize`,
    flow.state,
    CodeChallengeMethod.S256,
    flow.verifier,
    ["read:user", "user:email"],
  );
  return redirect(url.toString(), {
    headers: { "Set-Cookie": await flowCookie(context).serialize(flow), "Cache-Control": "no-store" },
  });
}

/** The Set-Cookie that ends a flow; sent with every callback answer. */
export function clearFlowCookie(context: AppLoadContext): Promise<string> {
  return flowCookie(context).serialize("", { maxAge: 0 });
}

/**
 * Checks the callback against the browser's flow cookie and exchanges the code (with the PKCE verifier).
 * Every way it can fail, including a cookie that is absent, duplicated, forged or mangled, is a
 * SignInFailed, never an exception that would answer 500.
 */
export async function finishGitHubSignIn(
  request: Request,
  context: AppLoadContext,
): Promise<{ tokens: OAuth2Tokens; returnTo: string }> {
  const url = new URL(request.url);
  const error = url.searchParams.get("error");
  if (error === "access_denied") throw new SignInFailed("You cancelled signing in with GitHub.", 400);
  if (error) {
    console.error("sign-in refused by GitHub", error, url.searchParams.get("error_description"));
    throw new SignInFailed(`GitHub refused the sign-in (${error.slice(0, 60)}). Please sign in again.`, 400);
  }
  const flow = await readFlow(request, context);
  const state = url.searchParams.get("state");
  const code = url.searchParams.get("code");
  if (!flow || !state || !code || state !== flow.state) {
    throw new SignInFailed(
      "Sign-in did not complete: the request expired or was not started in this browser. Please sign in again.",
      400,
    );
  }
  const tokens = await exchangeCode(context, code, flow.verifier);
  return { tokens, returnTo: safeRedirect(flow.returnTo) };
}

async function readFlow(request: Request, context: AppLoadContext): Promise<Flow | null> {
  const header = request.headers.get("Cookie");
  if (!header) return null;
  const name = oauthCookieName(context.config.APP_URL);
  // Two cookies under this name means one was planted (a sibling host, or a longer Path); trust neither.
  const occurrences = header.split(";").filter((pair) => pair.trim().startsWith(`${name}=`)).length;
  if (occurrences !== 1) return null;
  try {
    const parsed = flowSchema.safeParse(await flowCookie(context).parse(header));
    return parsed.success ? parsed.data : null;
  } catch {
    // A signature that is not even base64, or a value that is not URI-encoded, makes the parser throw.
    return null;
  }
}

/**
 * GitHub answers token errors with status 200 and an `error` field, which arctic's generic client does not
 * look for, so the exchange is done here as arctic's own GitHub provider does it (plus the verifier).
 */
async function exchangeCode(context: AppLoadContext, code: string, verifier: string): Promise<OAuth2Tokens> {
  const { config } = context;
  let response: Response;
  try {
    response = await fetch(`${config.GITHUB_URL}/login/oauth/access_token`, {
      method: "POST",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${config.GITHUB_CLIENT_ID}:${config.GITHUB_CLIENT_SECRET}`)}`,
        "User-Agent": "simple-agent-manager",
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: callbackUrl(context),
        code_verifier: verifier,
      }),
    });
  } catch (cause) {
    throw new ArcticFetchError(cause);
  }
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
}

function callbackUrl(context: AppLoadContext) {
  return `${context.config.APP_URL}/auth/github/callback`;
}
