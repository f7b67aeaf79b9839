import type { AppLoadContext } from "@remix-run/cloudflare";
import { chatAgents, isChatAgent } from "../chat/agents";
import { mintRepositoryToken } from "../github/tokens.server";
import { audit } from "../platform/audit.server";
import { github, type GitHubDiffEntry } from "../providers/github.server";
import { isProviderError } from "../providers/http.server";
import { lastSummary, recordTaskEvent, transitionTask, type Task } from "./tasks.server";
import type { TaskChanges } from "./changes";

/**
 * Reviewing a task: its changes from GitHub once the workspace has stopped (while it runs the browser asks the
 * VM agent), and the pull request from the task's branch into its base. Both use installation tokens narrowed
 * to the repository and to what the step needs.
 */

type Context = Pick<AppLoadContext, "db" | "config">;

/** The pull request's description as drafted: the prompt, the agent's last summary, and who made it. */
export async function draftPullRequest(context: Context, task: Task) {
  const summary = await lastSummary(context.db, task);
  const agent = isChatAgent(task.agentCli) ? chatAgents[task.agentCli].label : task.agentCli;
  const body = [task.prompt.trim(), summary?.trim(), `Made by SAM with ${agent}`].filter(Boolean).join("\n\n");
  return { title: task.title, body };
}

export type PullResult =
  | { kind: "opened"; task: Task; url: string; number: number }
  | { kind: "refused"; message: string; url?: string };

/** Opens the pull request (ready → pr_open). GitHub's refusals become sentences, with a link where there is one. */
export async function openTaskPull(
  context: Context,
  task: Task,
  input: { title: string; body?: string },
  options: { fetch?: typeof fetch } = {},
): Promise<PullResult> {
  if (task.status !== "ready")
    return { kind: "refused", message: "A pull request can be opened once the task is ready for review." };
  const client = github({ apiUrl: context.config.GITHUB_API_URL, fetch: options.fetch });
  let token: string;
  try {
    token = (
      await mintRepositoryToken(
        context.config,
        {
          installationId: task.installationId,
          repository: task.repository,
          permissions: { contents: "read", pull_requests: "write", metadata: "read" },
        },
        options,
      )
    ).token;
  } catch (error) {
    return {
      kind: "refused",
      message: `GitHub would not let SAM open pull requests on ${task.repository} (${describe(error)}). The GitHub App needs Pull requests: Read and write (docs/self-hosting.md).`,
    };
  }
  try {
    const pull = await client.createPull(token, task.repository, {
      title: input.title,
      head: task.branch,
      base: task.baseBranch,
      body: input.body,
    });
    return await linkPull(context, task, pull);
  } catch (error) {
    if (isProviderError(error, 422) && /already exists/i.test(error.message)) {
      const [existing] = await client
        .listPulls(token, task.repository, { head: task.branch, base: task.baseBranch, state: "open" })
        .catch(() => []);
      if (existing) {
        const linked = await linkPull(context, task, existing);
        return {
          kind: "refused",
          message: `A pull request already exists for ${task.branch}: #${existing.number}. The task now links to it.`,
          url: linked.kind === "opened" ? linked.url : existing.html_url,
        };
      }
      return { kind: "refused", message: `A pull request already exists for ${task.branch} on GitHub.` };
    }
    if (isProviderError(error, 422) && /no commits between/i.test(error.message))
      return {
        kind: "refused",
        message: `${task.branch} has no commits that ${task.baseBranch} lacks, so there is nothing to open a pull request for.`,
      };
    return { kind: "refused", message: `GitHub did not open the pull request: ${describe(error)}` };
  }
}

async function linkPull(context: Context, task: Task, pull: { number: number; html_url: string }): Promise<PullResult> {
  const moved = await transitionTask(context.db, { id: task.id, userId: task.userId }, ["ready"], {
    status: "pr_open",
    pullNumber: pull.number,
    pullUrl: pull.html_url,
  });
  if (!moved) return { kind: "refused", message: "The task changed meanwhile; reload the page.", url: pull.html_url };
  await recordTaskEvent(context.db, moved, "ok", `Opened pull request #${pull.number}`);
  await audit(context, null, {
    userId: task.userId,
    action: "task.pull_opened",
    details: { taskId: task.id, repository: task.repository, number: pull.number },
  });
  return { kind: "opened", task: moved, url: pull.html_url, number: pull.number };
}

const describe = (error: unknown) =>
  isProviderError(error) ? error.message : error instanceof Error ? error.message : String(error);

const statusOf = (entry: GitHubDiffEntry): TaskChanges["files"][number]["status"] =>
  entry.status === "removed"
    ? "deleted"
    : entry.status === "added" || entry.status === "renamed"
      ? entry.status
      : "modified";

/** What the task's branch changed against its base, from GitHub's compare (Contents: read). */
export async function changesFromGitHub(
  context: Context,
  task: Task,
  options: { fetch?: typeof fetch } = {},
): Promise<{ ok: true; changes: TaskChanges } | { ok: false; message: string }> {
  try {
    const { token } = await mintRepositoryToken(
      context.config,
      {
        installationId: task.installationId,
        repository: task.repository,
        permissions: { contents: "read", metadata: "read" },
      },
      options,
    );
    const comparison = await github({ apiUrl: context.config.GITHUB_API_URL, fetch: options.fetch }).compare(
      token,
      task.repository,
      task.baseBranch,
      task.branch,
    );
    return {
      ok: true,
      changes: {
        base: task.baseBranch,
        branch: task.branch,
        head_sha: comparison.commits.at(-1)?.sha ?? null,
        files: comparison.files.map((entry) => ({
          path: entry.filename,
          status: statusOf(entry),
          additions: entry.additions,
          deletions: entry.deletions,
          patch: entry.patch ?? "",
        })),
      },
    };
  } catch (error) {
    if (isProviderError(error, 404))
      return { ok: false, message: `${task.branch} is not on GitHub yet: the agent has pushed nothing so far.` };
    return { ok: false, message: `GitHub did not show the changes: ${describe(error)}` };
  }
}
