import type { z } from "zod";

/**
 * The shared transport for the outside-API clients (Hetzner, Cloudflare, GitHub): base URL from config,
 * bearer auth, JSON, a timeout on every attempt, zod-parsed success bodies, one error type, and retries
 * only for calls that are safe to repeat.
 */

export type Provider = "hetzner" | "cloudflare" | "github";

export const providerNames: Record<Provider, string> = {
  hetzner: "Hetzner",
  cloudflare: "Cloudflare",
  github: "GitHub",
};

export class ProviderError extends Error {
  readonly provider: Provider;
  /** The HTTP status; 0 when the provider could not be reached or did not answer in time. */
  readonly status: number;
  /** The provider's own error code, e.g. "uniqueness_error" (Hetzner), "81058" (Cloudflare), "rate_limited". */
  readonly code?: string;
  /** How long the provider asks us to wait before trying again, when it says so. */
  readonly retryAfterSeconds?: number;

  constructor(init: {
    provider: Provider;
    status: number;
    message: string;
    code?: string;
    retryAfterSeconds?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ProviderError";
    this.provider = init.provider;
    this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export function isProviderError(error: unknown, status?: number): error is ProviderError {
  return error instanceof ProviderError && (status === undefined || error.status === status);
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type Query = Record<string, string | number | boolean | undefined | null | ReadonlyArray<string | number>>;

/** What a provider's error body says, in the provider's own words. */
export interface ProviderErrorDetails {
  message: string;
  code?: string;
  retryAfterSeconds?: number;
}

export interface HttpConfig {
  provider: Provider;
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` unless a request brings its own token. */
  token?: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  /** Per attempt, body included. Default 15 s. */
  timeoutMs?: number;
  /** Attempts for a retryable call, the first included. Default 3. */
  maxAttempts?: number;
  /** First backoff step; doubles each retry, with jitter. Default 500 ms. */
  retryDelayMs?: number;
  /** The longest wait a retry may start after; a longer Retry-After is handed to the caller instead. Default 10 s. */
  maxRetryWaitMs?: number;
  /** No retry starts once this much time has passed since the first attempt. Default 30 s. */
  retryBudgetMs?: number;
  /** Reads the provider's error body (already JSON-parsed when it was JSON). */
  parseError: (response: Response, body: unknown) => ProviderErrorDetails;
  /** Sees every response, e.g. to keep the last rate-limit headers. */
  onResponse?: (response: Response) => void;
}

export interface RequestOptions<T> {
  method?: Method;
  /** A path below the base URL, or an absolute URL on the base URL's origin (pagination links). */
  path: string;
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides the configured token for this call (GitHub user tokens and App JWTs). */
  token?: string;
  schema: z.ZodType<T>;
  /** Whether the call may be repeated. Default: GET and DELETE yes, everything else no. */
  retry?: boolean;
}

export interface HttpResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function buildUrl(config: Pick<HttpConfig, "baseUrl" | "provider">, path: string, query?: Query): URL {
  const base = new URL(config.baseUrl.replace(/\/+$/, "") + "/");
  let url: URL;
  if (/^https?:\/\//i.test(path)) {
    url = new URL(path);
    // A pagination link must not carry our token to another host.
    if (url.origin !== base.origin) {
      throw new ProviderError({
        provider: config.provider,
        status: 0,
        message: `unexpected response: link to another host (${url.origin})`,
      });
    }
  } else {
    url = new URL(path.replace(/^\/+/, ""), base);
  }
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) url.searchParams.append(key, String(item));
    else url.searchParams.set(key, String(value));
  }
  return url;
}

/**
 * Seconds to wait as the response says: `Retry-After` (seconds or an HTTP date), else `RateLimit-Reset` /
 * `X-RateLimit-Reset` (a UNIX timestamp for Hetzner and GitHub; small values are read as seconds from now).
 */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get("retry-after");
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - now) / 1000));
  }
  const reset = headers.get("ratelimit-reset") ?? headers.get("x-ratelimit-reset");
  if (reset) {
    const value = Number(reset);
    if (Number.isFinite(value))
      return value > 1_000_000_000 ? Math.max(0, Math.ceil(value - now / 1000)) : Math.max(0, Math.ceil(value));
  }
  return undefined;
}

function isRetryable(error: ProviderError): boolean {
  return error.status === 0 || error.status === 429 || error.status >= 500 || error.code === "rate_limited";
}

function backoffMs(attempt: number, baseMs: number): number {
  return baseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function redact(message: string, secrets: Array<string | undefined>): string {
  let result = message;
  for (const secret of secrets) if (secret && secret.length >= 8) result = result.split(secret).join("[redacted]");
  return result;
}

async function attempt<T>(config: HttpConfig, options: RequestOptions<T>, url: URL): Promise<HttpResponse<T>> {
  const { provider } = config;
  const name = providerNames[provider];
  const token = options.token ?? config.token;
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers: Record<string, string> = { Accept: "application/json", ...config.headers, ...options.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";

  let response: Response;
  let text: string;
  try {
    response = await (config.fetch ?? fetch)(url, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    const message = timedOut
      ? `${name} did not answer within ${Math.round(timeoutMs / 100) / 10} s`
      : `could not reach ${name}: ${error instanceof Error ? error.message : String(error)}`;
    throw new ProviderError({
      provider,
      status: 0,
      code: timedOut ? "timeout" : "network_error",
      message: redact(message, [token]),
      cause: error,
    });
  }
  config.onResponse?.(response);

  let body: unknown;
  let jsonError: unknown;
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch (error) {
      jsonError = error;
    }
  }

  if (!response.ok) {
    const details = config.parseError(response, jsonError ? undefined : body);
    throw new ProviderError({
      provider,
      status: response.status,
      message: redact(details.message || `${name} answered ${response.status} ${response.statusText}`.trim(), [token]),
      code: details.code,
      retryAfterSeconds: details.retryAfterSeconds,
    });
  }

  const parsed = jsonError ? undefined : options.schema.safeParse(body);
  if (!parsed?.success) {
    throw new ProviderError({
      provider,
      status: response.status,
      code: "unexpected_response",
      message: `unexpected response from ${name} (${options.method ?? "GET"} ${url.pathname})`,
      cause: jsonError ?? parsed?.error,
    });
  }
  return { data: parsed.data, status: response.status, headers: response.headers };
}

/**
 * One call to a provider. Retryable calls (GET and DELETE unless told otherwise; never POST) are repeated
 * on network failure, timeout, 429 and 5xx, at most `maxAttempts` times, waiting what the provider asks
 * (Retry-After, RateLimit-Reset) or an exponential backoff; a wait longer than `maxRetryWaitMs`, or past
 * the overall `retryBudgetMs`, is not slept through but surfaces as the error (with `retryAfterSeconds`).
 */
export async function request<T>(config: HttpConfig, options: RequestOptions<T>): Promise<HttpResponse<T>> {
  const method = options.method ?? "GET";
  const retryable = options.retry ?? (method === "GET" || method === "DELETE");
  const maxAttempts = retryable ? Math.max(1, config.maxAttempts ?? 3) : 1;
  const baseDelayMs = config.retryDelayMs ?? 500;
  const maxWaitMs = config.maxRetryWaitMs ?? 10_000;
  const budgetMs = config.retryBudgetMs ?? 30_000;
  const url = buildUrl(config, options.path, options.query);
  const started = Date.now();

  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(config, { ...options, method }, url);
    } catch (error) {
      if (!(error instanceof ProviderError) || attemptNumber >= maxAttempts || !isRetryable(error)) throw error;
      const waitMs =
        error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : backoffMs(attemptNumber, baseDelayMs);
      if (waitMs > maxWaitMs || Date.now() - started + waitMs > budgetMs) throw error;
      await sleep(waitMs);
    }
  }
}

/** The URL of the `rel="next"` entry of an RFC 8288 `Link` header, if any. */
export function nextLink(linkHeader: string | null): string | undefined {
  if (!linkHeader) return undefined;
  for (const part of linkHeader.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>([\s\S]*)$/.exec(part);
    const rel = match && /;\s*rel\s*=\s*"?([^";]*)"?/i.exec(match[2]!);
    if (match && rel && rel[1]!.trim().split(/\s+/).includes("next")) return match[1];
  }
  return undefined;
}

/** Upper bound on pages followed, so a provider that keeps pointing onwards cannot loop us forever. */
export const MAX_PAGES = 500;
