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
    ["volumesEnabled", "on"],
    ["volumeDefaultGb", "20"],
    ["volumeMaxGb", "50"],
    ["volumeTotalGbPerUser", "100"],
    ["volumeRetentionDays", "14"],
    ["volumeReminderDays", "2"],
    ["allowedLogins", "Octocat, hubot\nsam-dev"],
  ];
  const replaced = (changes: Record<string, string>) =>
    form(valid.map(([name, value]): [string, string] => [name, changes[name] ?? value]));

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
      volumesEnabled: true,
      volumeDefaultGb: 20,
      volumeMaxGb: 50,
      volumeTotalGbPerUser: 100,
      volumeRetentionDays: 14,
      volumeReminderDays: 2,
      allowedLogins: ["octocat", "hubot", "sam-dev"],
    });
  });

  it("reads an unchecked volumes box as volumes off", () => {
    const result = parseWithZod(form(valid.filter(([name]) => name !== "volumesEnabled")), {
      schema: policyFormSchema,
    });
    expect(result.status === "success" && result.value.volumesEnabled).toBe(false);
  });

  it("keeps volume sizes within Hetzner's and the policy's bounds, each error beside its field", () => {
    const result = parseWithZod(
      replaced({
        volumeDefaultGb: "5",
        volumeMaxGb: "20000",
        volumeTotalGbPerUser: "102400",
        volumeRetentionDays: "400",
      }),
      {
        schema: policyFormSchema,
      },
    );
    expect(result.status === "error" && result.error).toMatchObject({
      volumeDefaultGb: ["At least 10 GB"],
      volumeMaxGb: ["At most 10240 GB"],
      volumeRetentionDays: ["At most 365 days"],
    });
  });

  it("refuses a default volume above the largest, a largest above the total, and a reminder after the deletion", () => {
    const errors = (changes: Record<string, string>) => {
      const result = parseWithZod(replaced(changes), { schema: policyFormSchema });
      return result.status === "error" ? result.error : null;
    };
    expect(errors({ volumeDefaultGb: "60" })?.volumeDefaultGb).toEqual([
      "The volume size is above the largest volume allowed",
    ]);
    expect(errors({ volumeMaxGb: "150", volumeTotalGbPerUser: "100" })?.volumeMaxGb).toEqual([
      "The largest volume is above the total a user may have",
    ]);
    expect(errors({ volumeReminderDays: "14" })?.volumeReminderDays).toEqual([
      "The reminder must come before the deletion: fewer days than the retention",
    ]);
    expect(errors({ volumeReminderDays: "0", volumeRetentionDays: "1" })).toBeNull();
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
