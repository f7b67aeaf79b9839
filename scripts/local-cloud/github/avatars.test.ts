import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { identiconPng } from "./avatars";

describe("identiconPng", () => {
  it("is a PNG of 60×60 RGB pixels that decompresses to whole scanlines", () => {
    const png = identiconPng("sam-dev");
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.toString("ascii", 12, 16)).toBe("IHDR");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([60, 60]);
    const idatLength = png.readUInt32BE(33);
    expect(png.toString("ascii", 37, 41)).toBe("IDAT");
    expect(inflateSync(png.subarray(41, 41 + idatLength)).length).toBe(60 * (1 + 60 * 3));
  });

  it("draws the same picture for the same login and another for another", () => {
    expect(identiconPng("sam-dev")).toEqual(identiconPng("SAM-dev"));
    expect(identiconPng("sam-dev")).not.toEqual(identiconPng("sam-other"));
  });
});
