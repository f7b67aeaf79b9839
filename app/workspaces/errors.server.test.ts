import { describe, expect, it } from "vitest";
import { ProviderError } from "../providers/http.server";
import { explainError } from "./errors.server";

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

  it("never repeats a token the provider echoed (the transport redacts it) and names what to check", () => {
    const message = explainError(hetzner(403, "resource_limit_exceeded", "server limit reached"), workspace);
    expect(message).toContain("resource limit");
    expect(message).toContain("server limit reached");
  });
});
