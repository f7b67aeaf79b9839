import { parseWithZod } from "@conform-to/zod/v4";
import { describe, expect, it } from "vitest";
import { agentCredentialSchema, hetznerTokenSchema, removeCredentialSchema } from "./schema";
import { form } from "../../tests/support/forms";

describe("settings forms", () => {
  it("accepts a 64-character Hetzner token and trims it", () => {
    const token = "A".repeat(32) + "9".repeat(32);
    const result = parseWithZod(
      form([
        ["intent", "save-hetzner"],
        ["token", ` ${token}\n`],
      ]),
      { schema: hetznerTokenSchema },
    );
    expect(result.status).toBe("success");
    expect(result.status === "success" && result.value.token).toBe(token);
  });

  it.each([
    ["", "Paste your Hetzner Cloud API token"],
    ["short", "A Hetzner Cloud API token is 64 letters and digits"],
    ["x".repeat(63) + "!", "A Hetzner Cloud API token is 64 letters and digits"],
  ])("explains a bad Hetzner token %j", (token, message) => {
    const result = parseWithZod(
      form([
        ["intent", "save-hetzner"],
        ["token", token],
      ]),
      { schema: hetznerTokenSchema },
    );
    expect(result.status).toBe("error");
    expect(result.status === "error" && result.error?.token?.[0]).toContain(message);
    // The secret is never sent back to the browser.
    expect(JSON.stringify(result.reply({ hideFields: ["token"] }))).not.toContain(token || "never");
  });

  it.each([
    ["anthropic_api_key", "sk-ant-api03-" + "a".repeat(40), true],
    ["anthropic_api_key", "sk-ant-oat01-" + "a".repeat(40), false],
    ["claude_oauth_token", "sk-ant-oat01-" + "b".repeat(40), true],
    ["openai_api_key", "sk-proj-" + "c".repeat(40), true],
    ["openai_api_key", "sk-" + "c".repeat(10), false],
    ["openai_api_key", "ghp_" + "c".repeat(36), false],
  ])("format-checks %s %s → valid: %s", (kind, secret, valid) => {
    const result = parseWithZod(
      form([
        ["intent", "save-agent"],
        ["kind", kind],
        ["secret", secret],
      ]),
      { schema: agentCredentialSchema },
    );
    expect(result.status === "success").toBe(valid);
    if (result.status === "error") expect(result.error?.secret?.[0]).toMatch(/starts with/);
  });

  it("refuses to remove an unknown kind of credential (the GitHub sign-in token is not removable here)", () => {
    expect(
      parseWithZod(
        form([
          ["intent", "remove"],
          ["kind", "hetzner"],
        ]),
        { schema: removeCredentialSchema },
      ).status,
    ).toBe("success");
    expect(
      parseWithZod(
        form([
          ["intent", "remove"],
          ["kind", "github_user_token"],
        ]),
        { schema: removeCredentialSchema },
      ).status,
    ).toBe("error");
  });
});
