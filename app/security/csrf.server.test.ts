import { describe, expect, it } from "vitest";
import { isCrossSiteWrite } from "./csrf.server";

const appUrl = "http://localhost:8788";
const post = (headers: Record<string, string>, method = "POST") =>
  new Request(`${appUrl}/settings`, { method, headers });

describe("isCrossSiteWrite", () => {
  it.each([
    ["a form posted from another site", post({ Origin: "https://evil.example" }), true],
    ["a form posted from a sibling subdomain", post({ Origin: "http://ws-1.localhost:8788" }), true],
    ["a null origin (sandboxed iframe, data: URL)", post({ Origin: "null" }), true],
    ["a DELETE from another site", post({ Origin: "https://evil.example" }, "DELETE"), true],
    ["a cross-site fetch without Origin but with Sec-Fetch-Site", post({ "Sec-Fetch-Site": "cross-site" }), true],
    ["a form posted from this site", post({ Origin: "http://localhost:8788" }), false],
    ["an agent or webhook call (no browser headers)", post({}), false],
    ["a cross-site GET (navigation)", new Request(appUrl, { headers: { Origin: "https://evil.example" } }), false],
  ])("%s → refused: %s", (_name, request, refused) => {
    expect(isCrossSiteWrite(request, appUrl)).toBe(refused);
  });
});
