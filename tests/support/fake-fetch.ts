import { expect } from "vitest";
import { ProviderError } from "../../app/providers/http.server";
/** A stand-in for `fetch` in client tests: answers from a handler and records every request. */

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
  signal: AbortSignal | undefined;
}

export function fakeFetch(handler: (request: RecordedRequest, index: number) => Response | Promise<Response>) {
  const requests: RecordedRequest[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const text = await request.text();
    const recorded: RecordedRequest = {
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body: text ? JSON.parse(text) : undefined,
      signal: init?.signal ?? undefined,
    };
    requests.push(recorded);
    return handler(recorded, requests.length - 1);
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** Never answers; rejects when the request's signal aborts (as a real fetch does on timeout). */
export function hang(request: RecordedRequest): Promise<Response> {
  return new Promise((_, reject) => {
    request.signal?.addEventListener("abort", () => reject(request.signal?.reason));
  });
}

export function networkDown(): Promise<Response> {
  return Promise.reject(new TypeError("fetch failed"));
}

/** Awaits a promise that must fail with a ProviderError, and returns that error for further checks. */
export async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}
