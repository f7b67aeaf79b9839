import { describe, expect, it, vi } from "vitest";
import {
  consumeBootstrapToken,
  mintBootstrapToken,
  peekBootstrapToken,
  purgeExpiredBootstrapTokens,
} from "./bootstrap.server";
import { action as bootstrapAction } from "../routes/api.bootstrap.$token";
import { config, db, newWorkspace, reload, useFreshUser } from "../../tests/support/workspaces.workers";

useFreshUser();

describe("bootstrap tokens", () => {
  it("redeemed twice concurrently: exactly one wins", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id);
    const peek = await peekBootstrapToken(db, token);
    expect(peek.kind).toBe("redeemable");
    const results = await Promise.all(
      Array.from({ length: 8 }, () => consumeBootstrapToken(db, (peek as { tokenHash: string }).tokenHash)),
    );
    expect(results.filter((result) => result === workspace.id)).toHaveLength(1);
    expect(results.filter((result) => result === null)).toHaveLength(7);
    expect((await peekBootstrapToken(db, token)).kind).toBe("gone");
  });

  it("the endpoint answers 200 once, then 410; 404 for unknown and 401 for malformed tokens", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id);
    const call = (value: string) =>
      bootstrapAction({
        request: new Request(`http://localhost/api/bootstrap/${value}`, { method: "POST", body: "{}" }),
        context: { db, config, cloudflare: { ctx: { waitUntil: () => undefined } } } as never,
        params: { token: value },
      });
    const responses = await Promise.all([call(token), call(token), call(token)]);
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 410, 410]);
    const winner = responses.find((response) => response.status === 200)!;
    const body = (await winner.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      workspace_id: workspace.id,
      repository: {
        clone_url: `${config.GITHUB_URL}/sam-dev/hello-world.git`,
        branch: "main",
        full_name: "sam-dev/hello-world",
      },
      agent_cli: "codex",
      certificate: null,
      // Not a task's workspace; the permission delay is the configuration's.
      task: null,
      permission_notify_delay_seconds: config.PERMISSION_NOTIFY_DELAY_SECONDS,
    });
    expect(typeof body.callback_token).toBe("string");
    expect((await call("x".repeat(43))).status).toBe(404);
    expect((await call("not-a-token")).status).toBe(401);
  });

  it("tells the boot to run the repository's setup again once, when the owner asked for it", async () => {
    const workspace = await newWorkspace({ rerunSetup: true });
    const redeem = async () => {
      const { token } = await mintBootstrapToken(db, workspace.id);
      const response = await bootstrapAction({
        request: new Request(`http://localhost/api/bootstrap/${token}`, { method: "POST", body: "{}" }),
        context: { db, config, cloudflare: { ctx: { waitUntil: () => undefined } } } as never,
        params: { token },
      });
      return ((await response.json()) as { rerun_setup: boolean }).rerun_setup;
    };
    expect(await redeem()).toBe(true);
    expect((await reload(workspace.id))!.rerunSetup).toBe(false);
    // The next boot (a restart) runs it only if asked again.
    expect(await redeem()).toBe(false);
  });

  it("with a CSR: the winner's certificate is recorded for revocation, every other one is revoked at once", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id);
    const issued: string[] = [];
    const revoked: string[] = [];
    const cloudflareApi = new URL(config.CLOUDFLARE_API_URL);
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (url.host !== cloudflareApi.host) throw new Error(`unexpected fetch ${request.url}`);
      const envelope = (result: unknown) => Response.json({ success: true, errors: [], messages: [], result });
      if (request.method === "POST" && url.pathname.endsWith("/certificates")) {
        const id = `cert-${issued.length + 1}`;
        issued.push(id);
        return envelope({
          id,
          certificate: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----",
          expires_on: "2027-02-21 00:00:00 +0000 UTC",
        });
      }
      if (request.method === "DELETE" && url.pathname.includes("/certificates/")) {
        const id = url.pathname.split("/").pop()!;
        revoked.push(id);
        return envelope({ id });
      }
      throw new Error(`unexpected ${request.method} ${request.url}`);
    });
    try {
      const csr = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----";
      const call = () =>
        bootstrapAction({
          request: new Request(`http://localhost/api/bootstrap/${token}`, {
            method: "POST",
            body: JSON.stringify({ csr }),
          }),
          context: { db, config, cloudflare: { ctx: { waitUntil: () => undefined } } } as never,
          params: { token },
        });
      const responses = await Promise.all([call(), call(), call()]);
      expect(responses.map((response) => response.status).sort()).toEqual([200, 410, 410]);
      const winner = (await responses.find((response) => response.status === 200)!.json()) as { certificate: string };
      expect(winner.certificate).toContain("BEGIN CERTIFICATE");
      const kept = (await reload(workspace.id))!.certificateId;
      expect(issued.length).toBeGreaterThan(1); // the redemptions overlapped, so losers had certificates too
      expect(issued).toContain(kept);
      expect(revoked.sort()).toEqual(issued.filter((id) => id !== kept).sort());
    } finally {
      spy.mockRestore();
    }
  });

  it("expires after 15 minutes and is purged", async () => {
    const workspace = await newWorkspace();
    const { token } = await mintBootstrapToken(db, workspace.id, Date.now() - 16 * 60 * 1000);
    expect((await peekBootstrapToken(db, token)).kind).toBe("gone");
    expect(await purgeExpiredBootstrapTokens(db)).toBeGreaterThanOrEqual(1);
    expect((await peekBootstrapToken(db, token)).kind).toBe("unknown");
  });
});
