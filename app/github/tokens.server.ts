import type { Config } from "../platform/config.server";
import { createAppJwt, github, type InstallationPermissions } from "../providers/github.server";

/**
 * Installation tokens for one repository with only the permissions a job needs. GitHub refuses the whole
 * request (422) when the installation was not granted a permission asked for, or does not include the
 * repository, so a token is never quietly broader than asked.
 */

/** A task's coding agent: it reads the repository and may not push (the VM agent pushes for it). */
export const TASK_AGENT_PERMISSIONS = { contents: "read", metadata: "read" } as const satisfies InstallationPermissions;

/** SAM's own work on a task: pushing the task's branch and opening or updating its pull request. */
export const TASK_PUBLISH_PERMISSIONS = {
  contents: "write",
  pull_requests: "write",
  metadata: "read",
} as const satisfies InstallationPermissions;

export interface RepositoryToken {
  token: string;
  expiresAt: Date;
  permissions: Record<string, string>;
}

/** A one-hour token for `owner/name` only, with `permissions` only. Throws GitHub's ProviderError. */
export async function mintRepositoryToken(
  config: Pick<Config, "GITHUB_API_URL" | "GITHUB_APP_ID" | "GITHUB_APP_PRIVATE_KEY">,
  input: { installationId: number; repository: string; permissions: InstallationPermissions },
  options: { fetch?: typeof fetch } = {},
): Promise<RepositoryToken> {
  const [, name] = input.repository.split("/");
  if (!name) throw new Error(`"${input.repository}" is not an owner/name repository`);
  const appJwt = await createAppJwt({ appId: config.GITHUB_APP_ID, privateKey: config.GITHUB_APP_PRIVATE_KEY });
  const { token, expiresAt, permissions } = await github({
    apiUrl: config.GITHUB_API_URL,
    fetch: options.fetch,
  }).createInstallationToken(appJwt, input.installationId, {
    repositories: [name],
    permissions: input.permissions,
  });
  return { token, expiresAt, permissions };
}
