import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./config.server";
import { testEnv } from "../../tests/support/test-env";

function problemsOf(env: Record<string, unknown>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

describe("parseConfig", () => {
  it("accepts the local configuration and normalises it", () => {
    const config = parseConfig({ ...testEnv(), APP_URL: "http://localhost:8788/" });
    expect(config.APP_URL).toBe("http://localhost:8788");
    expect(config.ADMIN_GITHUB_LOGINS).toEqual(["sam-dev"]);
    expect(config.ALLOWED_GITHUB_LOGINS).toEqual([]);
    expect(config.JWT_PRIVATE_KEY).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it.each([
    "ENCRYPTION_KEY",
    "JWT_PRIVATE_KEY",
    "JWT_PUBLIC_KEY",
    "GITHUB_CLIENT_ID",
    "HETZNER_API_URL",
    "CLOUDFLARE_ZONE_ID",
  ])("names %s and how to set it when it is missing", (name) => {
    const env = testEnv();
    delete env[name];
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name} is missing: .+`));
  });

  it("takes the Web Push key pair whole or not at all", () => {
    const env = testEnv();
    expect(parseConfig(env).VAPID_PUBLIC_KEY).toMatch(/^B[A-Za-z0-9_-]{86}$/);
    const { VAPID_PUBLIC_KEY: _, VAPID_PRIVATE_KEY: __, ...withoutPush } = env;
    expect(parseConfig(withoutPush).VAPID_PUBLIC_KEY).toBeUndefined();
    delete env.VAPID_PRIVATE_KEY;
    expect(problemsOf(env)).toEqual([expect.stringMatching(/^VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together/)]);
  });

  it("explains a malformed value without echoing it", () => {
    const problems = problemsOf({ ...testEnv(), ENCRYPTION_KEY: "not-a-real-key", APP_URL: "ftp://example.com" });
    expect(problems).toEqual([
      expect.stringMatching(/^APP_URL must be an http\(s\) URL/),
      expect.stringMatching(/^ENCRYPTION_KEY must be 32 random bytes in base64 \(run `npm run generate-keys`\)/),
    ]);
    expect(problems.join("\n")).not.toContain("not-a-real-key");
  });

  it("defaults the workspace URL to the agent's port 8443 and refuses one without it", () => {
    const env: Record<string, unknown> = { ...testEnv(), BASE_DOMAIN: "example.com" };
    delete env.WORKSPACE_URL_TEMPLATE;
    expect(parseConfig(env).WORKSPACE_URL_TEMPLATE).toBe("https://ws-{id}.{BASE_DOMAIN}:8443");
    const problems = problemsOf({ ...env, WORKSPACE_URL_TEMPLATE: "https://ws-{id}.{BASE_DOMAIN}" });
    expect(problems).toEqual([expect.stringMatching(/^WORKSPACE_URL_TEMPLATE must name port 8443 .*: leave it unset/)]);
  });

  it("accepts PEM values written with \\n escapes, as dotenv files hold them", () => {
    const env = testEnv();
    const config = parseConfig({ ...env, JWT_PUBLIC_KEY: env.JWT_PUBLIC_KEY!.replaceAll("\n", "\\n") });
    expect(config.JWT_PUBLIC_KEY).toBe(env.JWT_PUBLIC_KEY!.trim());
  });

  it("refuses a plain-http APP_URL anywhere but this machine", () => {
    expect(problemsOf({ ...testEnv(), APP_URL: "http://sam.example.com" })).toEqual([
      expect.stringMatching(
        /^APP_URL must be an https:\/\/ URL \(plain http is for local development on localhost only\)/,
      ),
    ]);
    for (const local of [
      "http://localhost:8788",
      "http://127.0.0.1:8788",
      "http://sam.localhost",
      "http://[::1]:8788",
    ]) {
      expect(parseConfig({ ...testEnv(), APP_URL: local }).APP_URL).toBe(local);
    }
    expect(parseConfig({ ...testEnv(), APP_URL: "https://sam.example.com" }).APP_URL).toBe("https://sam.example.com");
  });
});
