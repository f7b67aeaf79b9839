// docs/self-hosting.md may only name commands that exist, values the app reads, and URLs the app serves.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_NAMES } from "./settings";
import { repoRoot } from "./test-support";

const guide = readFileSync(join(repoRoot, "docs", "self-hosting.md"), "utf8");
const scripts = Object.keys(
  (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts,
);

/** Remix flat-route file names as URL patterns: `api.agent.download.ts` → /api/agent/download. */
function routePatterns(): RegExp[] {
  return readdirSync(join(repoRoot, "app", "routes")).map((file) => {
    const segments = file
      .replace(/\.tsx?$/, "")
      .replaceAll("[.]", "\u0000")
      .split(".")
      .filter((segment) => segment !== "_index")
      .map((segment) => segment.replace(/_$/, "").replaceAll("\u0000", "."))
      .map((segment) => (segment.startsWith("$") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    return new RegExp(`^/${segments.join("/")}$`);
  });
}

describe("docs/self-hosting.md", () => {
  it("names only npm scripts that exist", () => {
    const named = [...guide.matchAll(/npm run ([a-z:-]+)/g)].map((match) => match[1]!);
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => !scripts.includes(name))).toEqual([]);
  });

  it("names only configuration values the app reads, or the few the scripts and workflows read", () => {
    const scriptOnly = [
      "CLOUDFLARE_ACCOUNT_ID",
      "APP_HOSTNAME",
      "GH_CLIENT_SECRET",
      "GH_APP_PRIVATE_KEY",
      "GH_WEBHOOK_SECRET",
    ];
    const named = new Set([...guide.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)/g)].map((match) => match[1]!));
    expect(
      [...named].filter((name) => !(CONFIG_NAMES as string[]).includes(name) && !scriptOnly.includes(name)),
    ).toEqual([]);
  });

  it("every app URL it gives is one the app serves", () => {
    const patterns = routePatterns();
    const paths = [...guide.matchAll(/https:\/\/app\.example\.com(\/[A-Za-z0-9_./-]*)/g)].map((match) =>
      match[1]!.replace(/\.$/, ""),
    );
    expect(paths).toEqual(
      expect.arrayContaining([
        "/auth/github/callback",
        "/api/github/callback",
        "/api/github/webhook",
        "/api/health",
        "/api/agent/download",
      ]),
    );
    expect(paths.filter((path) => path !== "/" && !patterns.some((pattern) => pattern.test(path)))).toEqual([]);
  });
});
