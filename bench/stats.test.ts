import { describe, expect, it } from "vitest";
import { alternate, alternateSettled, percentile, round } from "./stats";

describe("percentile", () => {
  it("uses the nearest rank, whatever the input order", () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 100)).toBe(10);
  });

  it("is NaN for no values", () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("alternate", () => {
  it("runs every contender once per round and rotates who goes first", async () => {
    const order: string[] = [];
    const results = await alternate(3, {
      a: async (round) => (order.push(`a${round}`), round),
      b: async (round) => (order.push(`b${round}`), round * 10),
    });
    expect(order).toEqual(["a0", "b0", "b1", "a1", "a2", "b2"]);
    expect(results).toEqual({ a: [0, 1, 2], b: [0, 10, 20] });
  });
});

describe("alternateSettled", () => {
  it("keeps the other contenders' rounds when one throws, and names the one that did", async () => {
    const { results, errors } = await alternateSettled(3, {
      steady: async (round) => round,
      flaky: async (round) => {
        if (round === 1) throw new Error("only 268431804 bytes");
        return round * 10;
      },
    });
    expect(results).toEqual({ steady: [0, 1, 2], flaky: [0, 20] });
    expect(errors).toEqual({ flaky: "only 268431804 bytes" });
  });
});

describe("round", () => {
  it("keeps three significant digits but the whole integer part", () => {
    expect(round(1234.567)).toBe(1235);
    expect(round(12.3456)).toBe(12.3);
    expect(round(0.012345)).toBe(0.0123);
    expect(round(0)).toBe(0);
  });
});
