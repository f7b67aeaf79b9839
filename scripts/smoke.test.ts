// scripts/smoke.ts against a stand-in app: each failure names its step and what to change, and a workspace the
// run made is deleted even when a later step fails. The whole run against the local cloud is e2e smoke.spec.ts.
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { smoke, StepFailed } from "./smoke";

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** A stand-in app whose smoke workspace answers `workspace` to GET; records every request. */
async function fakeApp(workspace: Record<string, unknown>, url = "https://127.0.0.1:8443") {
  const seen: string[] = [];
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/api/health") return json(200, { status: "ok", version: "test" });
    if (req.url === "/.well-known/jwks.json") return json(200, { keys: [{ kty: "RSA", kid: "k1", alg: "RS256" }] });
    if (req.url === "/api/smoke/workspace" && req.method === "POST")
      return json(201, { id: "abcdefgh2345", serverType: "cx23", location: "fsn1", url });
    if (req.url === "/api/smoke/workspace" && req.method === "DELETE") return json(202, { status: "stopping" });
    if (req.url === "/api/smoke/workspace") return json(200, workspace);
    json(404, { error: "no" });
  });
  await new Promise<void>((ok) => server!.listen(0, "127.0.0.1", ok));
  return { app: `http://127.0.0.1:${(server!.address() as { port: number }).port}`, seen };
}

async function failure(run: Promise<void>): Promise<StepFailed> {
  const error = await run.then(
    () => null,
    (thrown) => thrown,
  );
  expect(error).toBeInstanceOf(StepFailed);
  return error as StepFailed;
}

describe("npm run smoke", () => {
  it("a workspace that fails to boot names step 4 with its error, and is still deleted", async () => {
    const { app, seen } = await fakeApp({
      status: "error",
      error: "Hetzner rejected the token: check it in Settings.",
    });
    const lines: string[] = [];
    const error = await failure(
      smoke({ url: app, token: "t".repeat(43), log: (line) => lines.push(line), pollMs: 10 }),
    );
    expect(error.step).toBe("4 boot");
    expect(error.message).toBe("the workspace failed: Hetzner rejected the token: check it in Settings.");
    expect(lines).toEqual([
      "✓ 1 health: ok, version test",
      "✓ 2 jwks: 1 key(s): k1",
      "✓ 3 create workspace: abcdefgh2345 (cx23 in fsn1)",
    ]);
    expect(seen).toContain("DELETE /api/smoke/workspace");
  });

  it("a workspace host that does not resolve to Cloudflare fails step 5 saying the record must be proxied", async () => {
    const { app, seen } = await fakeApp({ status: "running", terminalToken: "jwt", hostname: "127.0.0.1", events: [] });
    const error = await failure(smoke({ url: app, token: "t".repeat(43), log: () => {}, pollMs: 10 }));
    expect(error.step).toBe("5 edge");
    expect(error.message).toMatch(/127\.0\.0\.1 resolves to 127\.0\.0\.1, not Cloudflare: the record must be proxied/);
    expect(seen).toContain("DELETE /api/smoke/workspace");
  });

  it("without a token it stops at step 3 and says where to get one", async () => {
    const { app, seen } = await fakeApp({});
    const error = await failure(smoke({ url: app, token: "", log: () => {} }));
    expect(error.step).toBe("3 create workspace");
    expect(error.message).toContain("make one in /admin/smoke");
    expect(seen).not.toContain("POST /api/smoke/workspace");
  });
});
