import { describe, expect, it } from "vitest";
import { initials } from "./avatar";

describe("initials", () => {
  it("takes the first letter of up to two words of a name or login", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("sam-dev")).toBe("SD");
    expect(initials("octocat")).toBe("O");
    expect(initials("a.b_c d")).toBe("AB");
  });

  it("falls back to a question mark for an empty name", () => {
    expect(initials("  ")).toBe("?");
  });
});
