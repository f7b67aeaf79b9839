import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.server";
import { pageContentSecurityPolicy, withSecurityHeaders, workspaceSources } from "./security-headers.server";
import { testEnv } from "../../tests/support/test-env";

const config = (values: Record<string, string> = {}) => parseConfig({ ...testEnv(), ...values });

describe("Content-Security-Policy", () => {
  it("lets pages run only this site's scripts and the ones carrying this response's nonce", () => {
    const policy = pageContentSecurityPolicy(config({ APP_URL: "https://sam.example.com" }), "bm9uY2U=");
    expect(policy).toContain("script-src 'self' 'nonce-bm9uY2U='");
    expect(policy).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("object-src 'none'");
  });

  it("lets pages connect to the app and the workspace hosts (the terminal), nowhere else", () => {
    const production = config({
      APP_URL: "https://sam.example.com",
      BASE_DOMAIN: "ws.example.net",
      WORKSPACE_URL_TEMPLATE: "https://ws-{id}.{BASE_DOMAIN}:8443",
    });
    expect(workspaceSources(production)).toEqual(["https://*.ws.example.net:8443", "wss://*.ws.example.net:8443"]);
    expect(pageContentSecurityPolicy(production, "n")).toContain(
      "connect-src 'self' https://*.ws.example.net:8443 wss://*.ws.example.net:8443",
    );
    expect(workspaceSources(config({ WORKSPACE_URL_TEMPLATE: "http://ws-{id}.localhost:8790" }))).toEqual([
      "http://*.localhost:8790",
      "ws://*.localhost:8790",
    ]);
  });
});

describe("every answer", () => {
  it("is not cached, not framed, sends no referrer elsewhere, and over https asks for https only", () => {
    const response = withSecurityHeaders(Response.json({ token: "t" }), { APP_URL: "https://sam.example.com" });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Content-Security-Policy")).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(response.headers.get("Referrer-Policy")).toBe("same-origin");
    expect(response.headers.get("Strict-Transport-Security")).toMatch(/^max-age=\d{8}/);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("keeps a route's own caching and page policy; no HSTS over local http", () => {
    const page = new Response("<html>", {
      headers: { "Cache-Control": "public, max-age=300", "Content-Security-Policy": "default-src 'self'" },
    });
    const response = withSecurityHeaders(page, { APP_URL: "http://localhost:8788" });
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=300");
    expect(response.headers.get("Content-Security-Policy")).toBe("default-src 'self'");
    expect(response.headers.has("Strict-Transport-Security")).toBe(false);
  });

  it("works on a response whose headers are immutable (a fetched one)", async () => {
    const fetched = await fetch("data:text/plain,hello");
    const response = withSecurityHeaders(fetched, { APP_URL: "https://sam.example.com" });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.text()).toBe("hello");
  });
});
