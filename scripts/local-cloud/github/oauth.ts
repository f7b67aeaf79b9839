// The OAuth web flow of the GitHub App: a browser session on the local GitHub, /login/oauth/authorize with
// its single-use codes, and /login/oauth/access_token minting (and refreshing) user tokens.
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Request } from "../context";
import { escapeHtml, htmlPage, parseCookies, sendJson, sendText } from "../http";
import { randomToken, type GitHubStore, type GitHubUser } from "./store";

interface UserToken {
  login: string;
  expiresAt: number;
  refreshToken: string;
}

const SESSION_COOKIE = "local_github_login";
const CODE_LIFETIME_MS = 10 * 60_000;
const USER_TOKEN_LIFETIME_S = 28_800;
const REFRESH_TOKEN_LIFETIME_S = 15_811_200;

/** The user signed in to the local GitHub in this browser (the developer when nobody is). */
export function sessionUser(store: GitHubStore, req: IncomingMessage): GitHubUser {
  const login = parseCookies(req.headers.cookie)[SESSION_COOKIE];
  return (login && store.users.get(login.toLowerCase())) || store.userOf(store.cloud.options.githubLogin);
}

export class OAuth {
  private readonly codes = new Map<
    string,
    { login: string; redirectUri: string | null; expiresAt: number; codeChallenge: string | null }
  >();
  private readonly userTokens = new Map<string, UserToken>();
  private readonly refreshTokens = new Map<string, { login: string; expiresAt: number; accessToken: string }>();

  constructor(private readonly store: GitHubStore) {}

  reset(): void {
    this.codes.clear();
    this.userTokens.clear();
    this.refreshTokens.clear();
  }

  resolveUserToken(token: string): GitHubUser | undefined {
    const entry = this.userTokens.get(token);
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    return this.store.users.get(entry.login.toLowerCase());
  }

  /** GET /session?login=…: signs this browser in to the local GitHub as that user. */
  signIn(r: Request): void {
    const { res } = r;
    const login = r.url.searchParams.get("login") ?? "";
    const user = this.store.users.get(login.toLowerCase());
    if (!user)
      return sendText(
        res,
        404,
        htmlPage("Not Found", `<h1>No such user: ${escapeHtml(login)}</h1>`),
        "text/html; charset=utf-8",
      );
    const cookie = `${SESSION_COOKIE}=${encodeURIComponent(user.login)}; Path=/github; HttpOnly; SameSite=Lax`;
    const returnTo = r.url.searchParams.get("return_to");
    if (returnTo && /^https?:\/\//.test(returnTo)) {
      res.writeHead(302, { Location: returnTo, "Set-Cookie": cookie });
      res.end();
      return;
    }
    return sendText(
      res,
      200,
      htmlPage("Signed in", `<h1>Signed in to the local GitHub as ${escapeHtml(user.login)}</h1>`),
      "text/html; charset=utf-8",
      { "Set-Cookie": cookie },
    );
  }

  private async form(r: Request): Promise<URLSearchParams> {
    const raw = (await r.body()).toString("utf8");
    const type = r.req.headers["content-type"] ?? "";
    const params = new URLSearchParams(r.url.search);
    if (type.includes("application/json") && raw.trim()) {
      try {
        const json = JSON.parse(raw) as Record<string, unknown>;
        for (const [key, value] of Object.entries(json))
          if (value !== undefined && value !== null) params.set(key, String(value));
      } catch {}
    } else {
      new URLSearchParams(raw).forEach((value, key) => params.append(key, value));
    }
    return params;
  }

  /** GitHub App callback URLs: anything on the app's origin (registered callback) or a loopback address. */
  private redirectAllowed(uri: string): boolean {
    try {
      const target = new URL(uri);
      const app = new URL(this.store.cloud.options.appUrl);
      if (target.origin === app.origin) return true;
      return target.protocol === "http:" && ["127.0.0.1", "[::1]"].includes(target.hostname);
    } catch {
      return false;
    }
  }

  authorize(r: Request): void {
    const q = r.url.searchParams;
    const clientId = q.get("client_id");
    if (clientId !== this.store.cloud.options.githubClientId) {
      return sendText(
        r.res,
        404,
        htmlPage("Page not found · GitHub", "<h1>404</h1><p>The OAuth application (client_id) is unknown.</p>"),
        "text/html; charset=utf-8",
      );
    }
    const redirectUri = q.get("redirect_uri") ?? `${this.store.cloud.options.appUrl}/auth/github/callback`;
    if (!this.redirectAllowed(redirectUri)) {
      return sendText(
        r.res,
        400,
        htmlPage(
          "Redirect URI mismatch",
          `<h1>The redirect_uri is not associated with this application.</h1><p>${escapeHtml(redirectUri)} is not under ${escapeHtml(this.store.cloud.options.appUrl)}.</p>`,
        ),
        "text/html; charset=utf-8",
      );
    }
    const target = new URL(redirectUri);
    // PKCE (GitHub accepts S256 only): the challenge is kept with the code and checked at the exchange.
    const codeChallenge = q.get("code_challenge");
    if (codeChallenge !== null) {
      const method = q.get("code_challenge_method");
      const problem =
        method !== "S256"
          ? "code_challenge_method must be S256"
          : !/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)
            ? "code_challenge must be the 43-character base64url SHA-256 of the code_verifier"
            : null;
      if (problem) {
        target.searchParams.set("error", "invalid_request");
        target.searchParams.set("error_description", problem);
        const state = q.get("state");
        if (state !== null) target.searchParams.set("state", state);
        r.res.writeHead(302, { Location: target.toString() });
        r.res.end();
        return;
      }
    }
    const user = sessionUser(this.store, r.req);
    const code = randomBytes(10).toString("hex");
    this.codes.set(code, {
      login: user.login,
      redirectUri: q.get("redirect_uri"),
      expiresAt: Date.now() + CODE_LIFETIME_MS,
      codeChallenge,
    });
    target.searchParams.set("code", code);
    const state = q.get("state");
    if (state !== null) target.searchParams.set("state", state);
    r.res.writeHead(302, { Location: target.toString() });
    r.res.end();
  }

  async accessToken(r: Request): Promise<void> {
    const params = await this.form(r);
    const accept = r.req.headers.accept ?? "";
    const answer = (body: Record<string, string | number>) => {
      if (accept.includes("application/json")) return sendJson(r.res, 200, body);
      const encoded = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
      sendText(r.res, 200, encoded, "application/x-www-form-urlencoded; charset=utf-8");
    };
    const error = (code: string, description: string, uri: string) =>
      answer({
        error: code,
        error_description: description,
        error_uri: `https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#${uri}`,
      });
    // Client credentials come in the body or, per RFC 6749 §2.3.1, as HTTP Basic auth (GitHub accepts both).
    const basic = /^Basic\s+(\S+)$/i.exec(r.req.headers.authorization ?? "")?.[1];
    const [basicId, basicSecret] = basic
      ? Buffer.from(basic, "base64").toString("utf8").split(":", 2).map(decodeURIComponent)
      : [];
    const clientId = params.get("client_id") ?? basicId ?? null;
    const secret = params.get("client_secret") ?? basicSecret ?? null;
    if (
      clientId !== this.store.cloud.options.githubClientId ||
      secret !== this.store.cloud.options.githubClientSecret
    ) {
      return error(
        "incorrect_client_credentials",
        "The client_id and/or client_secret passed are incorrect.",
        "incorrect-client-credentials",
      );
    }
    let login: string;
    if (params.get("grant_type") === "refresh_token") {
      const refresh = this.refreshTokens.get(params.get("refresh_token") ?? "");
      if (!refresh || refresh.expiresAt <= Date.now())
        return error("bad_refresh_token", "The refresh token passed is incorrect or expired.", "bad-refresh-token");
      this.refreshTokens.delete(params.get("refresh_token")!);
      this.userTokens.delete(refresh.accessToken);
      login = refresh.login;
    } else {
      const code = params.get("code") ?? "";
      const entry = this.codes.get(code);
      if (!entry || entry.expiresAt <= Date.now()) {
        this.codes.delete(code);
        return error("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code");
      }
      const redirectUri = params.get("redirect_uri");
      if (redirectUri && entry.redirectUri && redirectUri !== entry.redirectUri) {
        return error(
          "redirect_uri_mismatch",
          "The redirect_uri MUST match the registered callback URL for this application.",
          "redirect-uri-mismatch",
        );
      }
      if (entry.codeChallenge !== null) {
        const verifier = params.get("code_verifier") ?? "";
        const computed = createHash("sha256").update(verifier).digest("base64url");
        if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || computed !== entry.codeChallenge) {
          this.codes.delete(code);
          return error(
            "bad_verification_code",
            "The code_verifier does not match the code_challenge sent with the authorization request.",
            "bad-verification-code",
          );
        }
      }
      this.codes.delete(code);
      login = entry.login;
      const user = this.store.users.get(login.toLowerCase());
      if (user && !user.emailVerified)
        return error("unverified_user_email", "The user must have a verified primary email.", "unverified-user-email");
    }
    const accessToken = randomToken("ghu_", 36);
    const refreshToken = randomToken("ghr_", 76);
    this.userTokens.set(accessToken, { login, expiresAt: Date.now() + USER_TOKEN_LIFETIME_S * 1000, refreshToken });
    this.refreshTokens.set(refreshToken, {
      login,
      expiresAt: Date.now() + REFRESH_TOKEN_LIFETIME_S * 1000,
      accessToken,
    });
    answer({
      access_token: accessToken,
      expires_in: USER_TOKEN_LIFETIME_S,
      refresh_token: refreshToken,
      refresh_token_expires_in: REFRESH_TOKEN_LIFETIME_S,
      token_type: "bearer",
      scope: "",
    });
  }
}
