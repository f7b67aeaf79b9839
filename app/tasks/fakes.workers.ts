/** Shared by the tasks' workers tests: a user with the prerequisites, GitHub and Hetzner as fetch sees them. */
import { vi } from "vitest";
import * as schema from "~/db/schema";
import { saveCredential } from "~/settings/credentials.server";
import { fakeFetch, json, type RecordedRequest } from "../../tests/support/fake-fetch";
import { config, db, deps, userId } from "../../tests/support/workspaces.workers";

export const REPOSITORY = "sam-dev/hello-world";

const pagination = { page: 1, per_page: 50, next_page: null, last_page: 1, total_entries: 1 };

/** The user's Hetzner token, their GitHub sign-in and an installation that sees sam-dev/hello-world. */
export async function givePrerequisites() {
  await saveCredential(deps as never, userId, "hetzner", `hz_${"a".repeat(60)}`);
  await saveCredential(deps as never, userId, "github_user_token", `ghu_${"b".repeat(36)}`);
  await db.insert(schema.githubInstallations).values({
    userId,
    installationId: 1,
    accountLogin: "sam-dev",
    accountType: "User",
    repositorySelection: "all",
  });
}

export interface FakeWorld {
  requests: RecordedRequest[];
  /** The App's permissions on the installation and the user's on the repository. */
  granted: Record<string, string>;
  userPermission: string;
  /** Answers for pulls and compare, set per test. */
  onPull?: (request: RecordedRequest) => Response;
  onCompare?: (request: RecordedRequest) => Response;
}

/** Installs a fake `fetch` for GitHub and Hetzner for the rest of the test (vi.unstubAllGlobals undoes it). */
export function fakeWorld(): FakeWorld {
  const world: FakeWorld = {
    requests: [],
    granted: { contents: "write", metadata: "read", pull_requests: "write" },
    userPermission: "admin",
  };
  const fake = fakeFetch((request) => {
    const path = request.url.pathname;
    const github = request.url.href.startsWith(config.GITHUB_API_URL);
    if (github) {
      if (/\/user\/installations\/\d+\/repositories$/.test(path))
        return json(200, {
          total_count: 1,
          repositories: [
            {
              id: 1,
              name: "hello-world",
              full_name: REPOSITORY,
              owner: { login: "sam-dev", id: 1 },
              private: false,
              html_url: `https://github.com/${REPOSITORY}`,
              default_branch: "main",
            },
          ],
        });
      if (path.endsWith(`/repos/${REPOSITORY}/branches`))
        return json(200, [
          { name: "main", commit: { sha: "a".repeat(40) }, protected: false },
          { name: "dev", commit: { sha: "b".repeat(40) }, protected: false },
        ]);
      if (/\/app\/installations\/\d+$/.test(path))
        return json(200, {
          id: 1,
          account: { id: 1, login: "sam-dev", type: "User" },
          repository_selection: "all",
          target_type: "User",
          permissions: world.granted,
        });
      if (path.endsWith("/access_tokens"))
        return json(201, {
          token: `ghs_${crypto.randomUUID().replace(/-/g, "")}`,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: (request.body as { permissions: Record<string, string> }).permissions,
        });
      if (path.includes("/collaborators/"))
        return json(200, { permission: world.userPermission, role_name: world.userPermission });
      if (path.includes("/compare/") && world.onCompare) return world.onCompare(request);
      if (path.includes("/pulls") && world.onPull) return world.onPull(request);
      return json(404, { message: "Not Found" });
    }
    if (path.endsWith("/server_types"))
      return json(200, {
        server_types: [
          {
            id: 1,
            name: "cx23",
            description: "CX23",
            cores: 2,
            memory: 4,
            disk: 40,
            cpu_type: "shared",
            architecture: "x86",
            deprecated: false,
            prices: [
              {
                location: "fsn1",
                price_hourly: { net: "0.0050", gross: "0.0060" },
                price_monthly: { net: "3.00", gross: "3.57" },
              },
            ],
            locations: [{ id: 1, name: "fsn1", available: true }],
          },
        ],
        meta: { pagination },
      });
    if (path.endsWith("/locations"))
      return json(200, {
        locations: ["fsn1", "nbg1", "hel1"].map((name, index) => ({
          id: index + 1,
          name,
          description: name,
          country: "DE",
          city: name,
          latitude: 0,
          longitude: 0,
          network_zone: "eu-central",
        })),
        meta: { pagination },
      });
    return json(404, { error: { code: "not_found", message: `no fake for ${request.method} ${path}` } });
  });
  world.requests = fake.requests;
  vi.stubGlobal("fetch", fake.fetch);
  return world;
}

export const tokenPermissions = (world: FakeWorld) =>
  world.requests
    .filter((request) => request.url.pathname.endsWith("/access_tokens"))
    .map((request) => (request.body as { permissions: Record<string, string> }).permissions);

/** A task row on a workspace, as createTask leaves it once linked. */
export async function newTask(values: Partial<typeof schema.tasks.$inferInsert> & { workspaceId: string | null }) {
  const [row] = await db
    .insert(schema.tasks)
    .values({
      userId,
      status: "provisioning",
      title: "append hello to README",
      prompt: "append hello to README",
      repository: REPOSITORY,
      installationId: 1,
      baseBranch: "main",
      branch: "sam/append-hello-to-readme-abc234",
      agentCli: "claude-code",
      size: "small",
      ...values,
    })
    .returning();
  return row!;
}
