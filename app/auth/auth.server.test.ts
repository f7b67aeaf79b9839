import { describe, expect, it } from "vitest";
import { safeRedirect } from "./auth.server";

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
