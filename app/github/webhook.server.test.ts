import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { installation, repo, user } from "../../tests/support/github-webhooks";
import { parseWebhook, verifyWebhookSignature, WebhookPayloadError } from "./webhook.server";

const SECRET = "It's a Secret to Everybody";

describe("verifyWebhookSignature", () => {
  // GitHub's documented test vector ("Validating webhook deliveries").
  const body = "Hello, World!";
  const documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

  it("accepts GitHub's documented example signature, for a string and for raw bytes", async () => {
    expect(await verifyWebhookSignature(SECRET, body, documented)).toBe(true);
    expect(await verifyWebhookSignature(SECRET, new TextEncoder().encode(body).buffer as ArrayBuffer, documented)).toBe(
      true,
    );
    expect(await verifyWebhookSignature(SECRET, body, documented.toUpperCase().replace("SHA256=", "sha256="))).toBe(
      true,
    );
  });

  it("accepts a signature computed over a JSON payload", async () => {
    const payload = JSON.stringify({ action: "created", installation: { id: 1 } });
    const signature = `sha256=${createHmac("sha256", SECRET).update(payload).digest("hex")}`;
    expect(await verifyWebhookSignature(SECRET, payload, signature)).toBe(true);
  });

  it.each([
    ["a changed body", "Hello, World?", documented],
    ["another secret", body, `sha256=${createHmac("sha256", "other secret").update(body).digest("hex")}`],
    ["a missing header", body, null],
    ["an empty header", body, ""],
    ["the old sha1 header", body, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"],
    ["a signature one byte short", body, documented.slice(0, -2)],
    ["a signature one byte long", body, `${documented}00`],
    ["non-hex characters", body, documented.slice(0, -1) + "z"],
  ])("rejects %s", async (_, payload, header) => {
    expect(await verifyWebhookSignature(SECRET, payload, header)).toBe(false);
  });

  it("rejects everything when no secret is configured", async () => {
    expect(await verifyWebhookSignature("", body, documented)).toBe(false);
  });
});

describe("parseWebhook", () => {
  it("parses installation created with its repositories", () => {
    const parsed = parseWebhook("installation", {
      action: "created",
      installation,
      repositories: [repo(1)],
      requester: null,
      sender: user,
    });
    expect(parsed).toEqual({
      event: "installation",
      action: "created",
      installation: {
        id: 42,
        account: { id: 2, login: "acme", type: "Organization" },
        repositorySelection: "selected",
        suspendedAt: null,
        permissions: { contents: "write", metadata: "read" },
      },
      repositories: [{ id: 1, name: "repo-1", full_name: "acme/repo-1", private: true }],
      sender: { id: 1, login: "octocat" },
    });
  });

  it.each(["deleted", "suspend", "unsuspend", "new_permissions_accepted"] as const)(
    "parses installation %s",
    (action) => {
      const suspended =
        action === "suspend"
          ? { ...installation, suspended_at: "2024-02-01T00:00:00Z", suspended_by: user }
          : installation;
      const parsed = parseWebhook("installation", { action, installation: suspended, sender: user });
      expect(parsed).toMatchObject({
        event: "installation",
        action,
        installation: { id: 42 },
        repositories: [],
        sender: { login: "octocat" },
      });
      if (action === "suspend") expect(parsed?.installation.suspendedAt).toBe("2024-02-01T00:00:00Z");
    },
  );

  it("parses installation_repositories added and removed", () => {
    const added = parseWebhook("installation_repositories", {
      action: "added",
      installation,
      repository_selection: "selected",
      repositories_added: [repo(1), repo(2)],
      repositories_removed: [],
      requester: null,
      sender: user,
    });
    expect(added).toMatchObject({
      event: "installation_repositories",
      action: "added",
      repositorySelection: "selected",
      repositoriesRemoved: [],
    });
    expect(added?.event === "installation_repositories" && added.repositoriesAdded.map((r) => r.full_name)).toEqual([
      "acme/repo-1",
      "acme/repo-2",
    ]);

    const removed = parseWebhook("installation_repositories", {
      action: "removed",
      installation: { ...installation, repository_selection: "all" },
      repository_selection: "all",
      repositories_added: [],
      repositories_removed: [repo(3)],
      requester: user,
      sender: user,
    });
    expect(removed).toMatchObject({
      action: "removed",
      installation: { repositorySelection: "all" },
      repositoriesRemoved: [{ id: 3 }],
    });
  });

  it("reads an enterprise account's slug as its login", () => {
    const enterprise = {
      id: 9,
      slug: "acme-ent",
      name: "Acme",
      node_id: "E_1",
      html_url: "",
      created_at: null,
      updated_at: null,
      avatar_url: "",
    };
    const parsed = parseWebhook("installation", {
      action: "deleted",
      installation: { ...installation, account: enterprise },
      sender: user,
    });
    expect(parsed?.installation.account).toEqual({ id: 9, login: "acme-ent", type: "Enterprise" });
  });

  it("returns null for events and actions the app does not handle", () => {
    expect(parseWebhook("ping", { zen: "Keep it logically awesome.", hook_id: 1 })).toBeNull();
    expect(parseWebhook("push", { action: "created" })).toBeNull();
    expect(parseWebhook("installation", { action: "renamed", installation, sender: user })).toBeNull();
    expect(parseWebhook("installation", "not an object")).toBeNull();
  });

  it("throws WebhookPayloadError for a handled event with a malformed payload", () => {
    expect(() =>
      parseWebhook("installation", { action: "created", installation: { ...installation, id: "42" }, sender: user }),
    ).toThrow(WebhookPayloadError);
    expect(() => parseWebhook("installation_repositories", { action: "added", installation, sender: user })).toThrow(
      /repositories_added/,
    );
  });
});
