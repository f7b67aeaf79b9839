import { parseWithZod } from "@conform-to/zod/v4";
import { describe, expect, it } from "vitest";
import { policyFormSchema } from "./schema";
import { form } from "../../tests/support/forms";

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
    const entries = valid
      .filter(([name]) => name !== "allowedSizes")
      .map(([name, value]): [string, string] =>
        name === "defaultIdleMinutes" ? [name, "300"] : name === "maxWorkspacesPerUser" ? [name, "0"] : [name, value],
      );
    const result = parseWithZod(form(entries), { schema: policyFormSchema });
    expect(result.status).toBe("error");
    expect(result.status === "error" && result.error).toMatchObject({
      allowedSizes: ["Allow at least one size"],
      maxWorkspacesPerUser: ["At least 1"],
    });
    const withBadDefault = parseWithZod(
      form(
        valid.map(([name, value]): [string, string] => (name === "defaultIdleMinutes" ? [name, "300"] : [name, value])),
      ),
      {
        schema: policyFormSchema,
      },
    );
    expect(withBadDefault.status === "error" && withBadDefault.error?.defaultIdleMinutes).toEqual([
      "The default is above the maximum",
    ]);
  });
});
