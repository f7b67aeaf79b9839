import { env } from "cloudflare:workers";
import { getLoadContext } from "../../app/platform/context.server";

/** A load context over the test's real D1/KV/R2 (workerd), as a request would get. */
export function testContext() {
  const pending: Promise<unknown>[] = [];
  const context = getLoadContext({
    request: new Request("http://localhost/"),
    context: {
      cloudflare: {
        env: env as unknown as Env,
        ctx: { waitUntil: (promise) => void pending.push(promise), passThroughOnException: () => {} },
      },
    },
  });
  return { context, settled: () => Promise.all(pending) };
}
