import type { AppLoadContext } from "@remix-run/cloudflare";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../platform/config.server";
import { startGitHubSignIn } from "./github-oauth.server";
import { testEnv } from "../../tests/support/test-env";

const contextFor = (appUrl: string) => ({ config: parseConfig({ ...testEnv(), APP_URL: appUrl }) }) as AppLoadContext;

describe("starting the GitHub web flow", () => {
  it("over https keeps the flow in a signed __Host- cookie no other host can set, and sends an S256 challenge", async () => {
    const response = await startGitHubSignIn(contextFor("https://sam.example.com"), "/settings");
    const cookie = response.headers.get("Set-Cookie")!;
    expect(cookie).toMatch(/^__Host-sam_oauth=[^;]+\.[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(cookie).not.toMatch(/Domain=/i);
    // The return path and state are inside the signed value, not readable cookies of their own.
    expect(cookie).not.toContain("settings");
    const location = new URL(response.headers.get("Location")!);
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get("state")).toMatch(/.{20,}/);
    expect(location.searchParams.get("redirect_uri")).toBe("https://sam.example.com/auth/github/callback");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("each start is a new state and verifier", async () => {
    const context = contextFor("http://localhost:8788");
    const [a, b] = await Promise.all([startGitHubSignIn(context, "/"), startGitHubSignIn(context, "/")]);
    const challenge = (response: Response) => new URL(response.headers.get("Location")!).searchParams;
    expect(challenge(a).get("state")).not.toBe(challenge(b).get("state"));
    expect(challenge(a).get("code_challenge")).not.toBe(challenge(b).get("code_challenge"));
    expect(a.headers.get("Set-Cookie")).toMatch(/^sam_oauth=/);
  });
});
