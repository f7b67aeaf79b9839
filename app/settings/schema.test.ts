import { parseWithZod } from "@conform-to/zod/v4";
import { describe, expect, it } from "vitest";
import { policyFormSchema } from "../admin/schema";
import { safeRedirect } from "../auth/auth.server";
import { agentCredentialSchema, hetznerTokenSchema, removeCredentialSchema } from "./schema";

const form = (entries: Array<[string, string]>) => {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  return data;
};

describe("safeRedirect", () => {
  it.each([
    ["/settings?tab=1#x", "/settings?tab=1#x"],
    ["/workspaces/abc/terminal?session=s1", "/workspaces/abc/terminal?session=s1"],
    ["https://evil.example/", "/dashboard"],
    ["//evil.example/path", "/dashboard"],
    ["/\\evil.example", "/dashboard"],
    ["/..//evil.example", "/dashboard"],
    ["/.//evil.example/x", "/dashboard"],
    ["/a/..//evil.example", "/dashboard"],
    ["/%2e%2e//evil.example", "/dashboard"],
    ["javascript:alert(1)", "/dashboard"],
    ["", "/dashboard"],
    [null, "/dashboard"],
  ])("%s → %s", (input, expected) => {
    expect(safeRedirect(input)).toBe(expected);
  });
});

describe("settings forms", () => {
  it("accepts a 64-character Hetzner token and trims it", () => {
    const token = "A".repeat(32) + "9".repeat(32);
    const result = parseWithZod(form([["intent", "save-hetzner"], ["token", ` ${token}\n`]]), { schema: hetznerTokenSchema });
    expect(result.status).toBe("success");
    expect(result.status === "success" && result.value.token).toBe(token);
  });

  it.each([
    ["", "Paste your Hetzner Cloud API token"],
    ["short", "A Hetzner Cloud API token is 64 letters and digits"],
    ["x".repeat(63) + "!", "A Hetzner Cloud API token is 64 letters and digits"],
  ])("explains a bad Hetzner token %j", (token, message) => {
    const result = parseWithZod(form([["intent", "save-hetzner"], ["token", token]]), { schema: hetznerTokenSchema });
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
    const result = parseWithZod(form([["intent", "save-agent"], ["kind", kind], ["secret", secret]]), { schema: agentCredentialSchema });
    expect(result.status === "success").toBe(valid);
    if (result.status === "error") expect(result.error?.secret?.[0]).toMatch(/starts with/);
  });

  it("refuses to remove an unknown kind of credential (the GitHub sign-in token is not removable here)", () => {
    expect(parseWithZod(form([["intent", "remove"], ["kind", "hetzner"]]), { schema: removeCredentialSchema }).status).toBe("success");
    expect(parseWithZod(form([["intent", "remove"], ["kind", "github_user_token"]]), { schema: removeCredentialSchema }).status).toBe("error");
  });
});

describe("admin policy form", () => {
  const valid: Array<[string, string]> = [
    ["allowedSizes", "small"],
    ["allowedSizes", "large"],
    ["allowedLocations", "fsn1"],
    ["maxWorkspacesPerUser", "5"],
    ["defaultIdleMinutes", "30"],
    ["maxIdleMinutes", "120"],
    ["defaultLifetimeHours", "8"],
    ["maxLifetimeHours", "24"],
    ["allowedLogins", "Octocat, hubot\nsam-dev"],
  ];

  it("parses checkboxes, numbers and the login list", () => {
    const result = parseWithZod(form(valid), { schema: policyFormSchema });
    expect(result.status).toBe("success");
    expect(result.status === "success" && result.value).toEqual({
      allowedSizes: ["small", "large"],
      allowedLocations: ["fsn1"],
      maxWorkspacesPerUser: 5,
      defaultIdleMinutes: 30,
      maxIdleMinutes: 120,
      defaultLifetimeHours: 8,
      maxLifetimeHours: 24,
      allowedLogins: ["octocat", "hubot", "sam-dev"],
    });
  });

  it("says which field is wrong", () => {
    const entries = valid.filter(([name]) => name !== "allowedSizes").map(([name, value]): [string, string] =>
      name === "defaultIdleMinutes" ? [name, "300"] : name === "maxWorkspacesPerUser" ? [name, "0"] : [name, value],
    );
    const result = parseWithZod(form(entries), { schema: policyFormSchema });
    expect(result.status).toBe("error");
    expect(result.status === "error" && result.error).toMatchObject({
      allowedSizes: ["Allow at least one size"],
      maxWorkspacesPerUser: ["At least 1"],
    });
    const withBadDefault = parseWithZod(form(valid.map(([name, value]): [string, string] => (name === "defaultIdleMinutes" ? [name, "300"] : [name, value]))), {
      schema: policyFormSchema,
    });
    expect(withBadDefault.status === "error" && withBadDefault.error?.defaultIdleMinutes).toEqual(["The default is above the maximum"]);
  });
});
