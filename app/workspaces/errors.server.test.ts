import { describe, expect, it } from "vitest";
import { ProviderError } from "../providers/http.server";
import { ActionableError, explainError } from "./errors.server";

describe("errors a person can act on", () => {
  const workspace = { serverType: "cx33", location: "fsn1" };
  const hetzner = (status: number, code?: string, message = "x") =>
    new ProviderError({ provider: "hetzner", status, code, message });
  it.each([
    [hetzner(401, "unauthorized"), "Hetzner rejected the token: check it in Settings."],
    // Hetzner sends token_readonly with status 401 (its error table): read-only, not "rejected".
    [
      hetzner(401, "token_readonly"),
      "The Hetzner token is read-only: create one with Read & Write access and save it in Settings.",
    ],
    [hetzner(412, "resource_unavailable"), "Hetzner has no capacity for cx33 in fsn1: pick another location or size."],
    [hetzner(429, "rate_limit_exceeded"), "Hetzner is rate-limiting requests: wait a minute, then retry."],
    [
      hetzner(500, "server_error"),
      "Hetzner had an internal error (500): retry in a minute; if it keeps happening, check Hetzner's status page.",
    ],
    [
      new ProviderError({
        provider: "hetzner",
        status: 0,
        code: "timeout",
        message: "Hetzner did not answer within 15 s",
      }),
      "Hetzner did not answer in time: retry in a minute; if it keeps happening, check Hetzner's status page.",
    ],
  ])("%s", (error, sentence) => {
    expect(explainError(error, workspace)).toBe(sentence);
  });

  it("a restart with a volume meets a sold-out location: it can only start there, so retry later", () => {
    const message = explainError(hetzner(412, "resource_unavailable"), { ...workspace, volumeId: 7 });
    expect(message).toContain("no cx33 servers available in fsn1");
    expect(message).toContain("a volume cannot move to another location");
    expect(message).not.toContain("pick another location");
  });

  it("a locked resource and an action that outlasts the wait say to retry", () => {
    expect(explainError(hetzner(423, "locked", "server is locked"), workspace)).toMatch(/busy .* retry in a minute/);
    expect(explainError(hetzner(0, "action_timeout", "still running"), workspace)).toMatch(/still working on it/);
    expect(explainError(new ActionableError("Do this."), workspace)).toBe("Do this.");
  });

  it("never repeats a token the provider echoed (the transport redacts it) and names what to check", () => {
    const message = explainError(hetzner(403, "resource_limit_exceeded", "server limit reached"), workspace);
    expect(message).toContain("resource limit");
    expect(message).toContain("server limit reached");
  });
});
