import { describe, expect, it } from "vitest";
import { workspaceUrl, workspaceUrlTemplateProblem } from "./url";

describe("the workspace URL template", () => {
  it("accepts the production template, whose port is the agent's and the firewall's", () => {
    expect(workspaceUrlTemplateProblem("https://ws-{id}.{BASE_DOMAIN}:8443", "example.com")).toBeNull();
    expect(
      workspaceUrl({ WORKSPACE_URL_TEMPLATE: "https://ws-{id}.{BASE_DOMAIN}:8443", BASE_DOMAIN: "example.com" }, "a1"),
    ).toBe("https://ws-a1.example.com:8443");
  });

  it("refuses a template without the port: browsers would use 443, which the firewall drops (522)", () => {
    expect(workspaceUrlTemplateProblem("https://ws-{id}.{BASE_DOMAIN}", "example.com")).toMatch(/must name port 8443/);
    expect(workspaceUrlTemplateProblem("https://ws-{id}.{BASE_DOMAIN}:2053", "example.com")).toMatch(/port 8443/);
  });

  it("refuses another host, and plain http anywhere but on this machine", () => {
    expect(workspaceUrlTemplateProblem("https://{id}.workspaces.example.com:8443", "example.com")).toMatch(
      /ws-\{id\}\.\{BASE_DOMAIN\}/,
    );
    expect(workspaceUrlTemplateProblem("http://ws-{id}.{BASE_DOMAIN}:8443", "example.com")).toMatch(/https/);
    expect(workspaceUrlTemplateProblem("http://ws-{id}.localhost:8790", "localhost")).toBeNull();
  });
});
