import { eq } from "drizzle-orm";
import { users } from "../db/schema";
import { createAppJwt, github, type InstallationPermissions } from "../providers/github.server";
import { isProviderError } from "../providers/http.server";
import { taskOfWorkspace } from "../tasks/tasks.server";
import { recordEvent, type Deps, type Workspace } from "./workspaces.server";

/**
 * The git token a workspace's credential helper gets: a GitHub App installation token narrowed to the
 * workspace's repository and to explicit permissions, never more than the owner's own permission on that
 * repository (GitHub states it per user) nor than the App was granted. Asked anew for every token, so a
 * user whose access was lowered or removed on GitHub gets less (or nothing) at the next refresh.
 * See docs/security.md, "Git tokens".
 *
 * A task's workspace is different (docs/architecture.md, "Tasks"): its credential helper, which the coding
 * agent uses, gets Contents: read only, so only the VM agent pushes, with a `task-push` token (Contents: write)
 * it asks for through its own endpoint.
 */

/** The permissions a workspace can use: pushing branches (contents) and opening pull requests. */
const GIT_PERMISSIONS = ["contents", "pull_requests"] as const;

const PERMISSION_LABELS: Record<(typeof GIT_PERMISSIONS)[number], string> = {
  contents: "Contents",
  pull_requests: "Pull requests",
};

export type GitTokenResult =
  | { ok: true; token: string; expiresAt: Date; permissions: Record<string, string> }
  | { ok: false; status: 403 | 404 | 502; error: string };

/** What the owner may do on the repository, from GitHub's base permission. */
function userLevel(permission: string): "write" | "read" | null {
  if (permission === "admin" || permission === "maintain" || permission === "write") return "write";
  if (permission === "triage" || permission === "read") return "read";
  return null;
}

/** `credential-helper`: git on the VM (read-only in a task's workspace); `task-push`: the VM agent pushing a task's branch. */
export type GitTokenPurpose = "credential-helper" | "task-push";

export async function issueGitToken(
  deps: Deps,
  workspace: Pick<Workspace, "id" | "userId" | "repository" | "installationId">,
  options: { fetch?: typeof fetch; purpose?: GitTokenPurpose } = {},
): Promise<GitTokenResult> {
  if (!workspace.repository || !workspace.installationId)
    return { ok: false, status: 404, error: "This workspace has no repository." };
  const purpose = options.purpose ?? "credential-helper";
  const forTask = purpose === "task-push" || Boolean(await taskOfWorkspace(deps.db, workspace.id));
  const owner = await deps.db.query.users.findFirst({
    columns: { login: true },
    where: eq(users.id, workspace.userId),
  });
  if (!owner) return { ok: false, status: 403, error: "The workspace's owner no longer exists." };
  const { config } = deps;
  const [repositoryOwner, repositoryName] = workspace.repository.split("/") as [string, string];
  const client = github({ apiUrl: config.GITHUB_API_URL, fetch: options.fetch });
  try {
    const appJwt = await createAppJwt({ appId: config.GITHUB_APP_ID, privateKey: config.GITHUB_APP_PRIVATE_KEY });
    const installation = await client.getInstallation(appJwt, workspace.installationId);
    // A token that may only read metadata asks GitHub what the owner may do on the repository.
    const lookup = await client.createInstallationToken(appJwt, workspace.installationId, {
      repositories: [repositoryName],
      permissions: { metadata: "read" },
    });
    const level = userLevel(
      await client.getCollaboratorPermission(lookup.token, repositoryOwner, repositoryName, owner.login),
    );
    if (!level)
      return {
        ok: false,
        status: 403,
        error: `GitHub says ${owner.login} no longer has access to ${workspace.repository}, so no git token is issued.`,
      };
    const permissions: InstallationPermissions = { metadata: "read" };
    if (purpose === "task-push") {
      if (level !== "write" || installation.permissions.contents !== "write")
        return {
          ok: false,
          status: 403,
          error:
            level !== "write"
              ? `${owner.login} has read access only to ${workspace.repository} on GitHub, so SAM cannot push the task's branch.`
              : `The GitHub App has no Contents: Read and write on ${workspace.repository}, so SAM cannot push the task's branch (docs/self-hosting.md).`,
        };
      permissions.contents = "write";
    } else if (forTask) {
      // The coding agent reads; the VM agent pushes the task's branch with its own token.
      if (installation.permissions.contents) permissions.contents = "read";
    } else {
      for (const name of GIT_PERMISSIONS) {
        const granted = installation.permissions[name];
        if (granted === "read" || granted === "write") permissions[name] = level === "write" ? granted : "read";
      }
    }
    const { token, expiresAt } = await client.createInstallationToken(appJwt, workspace.installationId, {
      repositories: [repositoryName],
      permissions,
    });
    if (!forTask) await noteReadOnly(deps, workspace, owner.login, level, installation.permissions);
    return { ok: true, token, expiresAt, permissions };
  } catch (error) {
    const status = isProviderError(error) && error.status >= 400 && error.status < 500 ? 403 : 502;
    const detail = isProviderError(error) ? error.message : "unexpected error";
    return { ok: false, status, error: `GitHub would not issue a token for ${workspace.repository}: ${detail}` };
  }
}

/**
 * GitHub refuses a push with a read-only token without saying which permission is missing; the timeline
 * says it (once per run), naming who can change it.
 */
async function noteReadOnly(
  deps: Deps,
  workspace: Pick<Workspace, "id" | "repository">,
  login: string,
  level: "write" | "read",
  granted: Record<string, string>,
) {
  let message: string | null = null;
  if (level === "read")
    message = `${login} has read access only to ${workspace.repository} on GitHub: git push from this workspace will be refused.`;
  else if (granted.contents !== "write")
    message = `The GitHub App has ${PERMISSION_LABELS.contents}: ${granted.contents === "read" ? "Read-only" : "No access"} on ${workspace.repository}, so git push from this workspace will be refused. The instance's operator can grant ${PERMISSION_LABELS.contents}: Read and write (docs/self-hosting.md).`;
  if (!message) return;
  const events = await deps.db.query.workspaceEvents.findMany({
    columns: { message: true },
    where: (event, { and, eq: equals }) => and(equals(event.workspaceId, workspace.id), equals(event.step, "git")),
  });
  if (!events.some((event) => event.message === message))
    await recordEvent(deps.db, workspace.id, "git", "info", message);
}
