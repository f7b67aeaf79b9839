import { z } from "zod";
import type { TaskStatus } from "../db/schema";

/**
 * The new-task form, shared by the browser (conform) and the action. The sizes come from the admin policy,
 * so both sides build the same schema from the values the loader sends.
 */

export const taskAgents = { "claude-code": "Claude Code", codex: "Codex" } as const;
export type TaskAgent = keyof typeof taskAgents;
export const taskAgentNames = Object.keys(taskAgents) as [TaskAgent, ...TaskAgent[]];

export const MAX_TASK_PROMPT_CHARS = 20_000;
export const MIN_COST_CAP_EUROS = 0.1;
export const MAX_COST_CAP_EUROS = 1000;

export interface TaskFormLimits {
  sizes: string[];
}

export function taskFormSchema(limits: TaskFormLimits) {
  return z.object({
    repository: z
      .string({ error: "Pick a repository" })
      .trim()
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "Pick a repository from the list (owner/name)"),
    baseBranch: z
      .string()
      .trim()
      .max(255)
      .regex(/^[^\s~^:?*[\\]+$/, "Not a valid branch name")
      .optional(),
    agentCli: z.enum(taskAgentNames, { error: "Pick the coding agent" }),
    size: z
      .string({ error: "Pick a size" })
      .refine((value) => limits.sizes.includes(value), "This size is not offered on this instance"),
    prompt: z
      .string({ error: "Say what the agent should do" })
      .trim()
      .min(1, "Say what the agent should do")
      .max(MAX_TASK_PROMPT_CHARS, `Keep the prompt under ${MAX_TASK_PROMPT_CHARS.toLocaleString("en-US")} characters`),
    costCapEuros: z
      .number({ error: "Give the cap in euros, e.g. 2.50" })
      .min(MIN_COST_CAP_EUROS, `At least €${MIN_COST_CAP_EUROS.toFixed(2)}`)
      .max(MAX_COST_CAP_EUROS, `At most €${MAX_COST_CAP_EUROS}`)
      .optional(),
  });
}

export type TaskForm = z.infer<ReturnType<typeof taskFormSchema>>;

/** The pull request form: title and body drafted from the task, editable before sending. */
export const pullRequestFormSchema = z.object({
  title: z
    .string({ error: "Give the pull request a title" })
    .trim()
    .min(1, "Give the pull request a title")
    .max(256, "Keep the title under 256 characters"),
  body: z.string().max(65_000, "Keep the description under 65,000 characters").optional(),
});

// Spelled out rather than imported from db/schema, which would bring drizzle into the page's JavaScript.
export const taskStatusLabels = {
  queued: "Queued",
  provisioning: "Provisioning",
  working: "Working",
  needs_input: "Needs input",
  ready: "Ready for review",
  pr_open: "Pull request open",
  failed: "Failed",
  cancelled: "Cancelled",
} as const satisfies Record<TaskStatus, string>;

export const taskStatusChoices = Object.keys(taskStatusLabels) as TaskStatus[];

/** The states in which a task still has work going on (its workspace may be billing). */
export const ACTIVE_TASK_STATUSES = [
  "queued",
  "provisioning",
  "working",
  "needs_input",
] as const satisfies TaskStatus[];

/** A task in these states is over; nothing moves it again. */
export const FINAL_TASK_STATUSES = ["failed", "cancelled"] as const satisfies TaskStatus[];

/**
 * `sam/<slug>-<short id>`: the slug from the prompt's first words, lowercase ASCII letters and digits joined
 * by dashes, so the name is a valid git ref whatever the prompt says (git-check-ref-format).
 */
export function taskBranchName(prompt: string, shortId: string): string {
  const words = prompt
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = "";
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if (next.length > 40) break;
    slug = next;
    if (slug.split("-").length >= 6) break;
  }
  if (!slug) slug = (words[0] ?? "task").slice(0, 40);
  return `sam/${slug}-${shortId}`;
}

/** A title for lists and the pull request: the prompt's first line, shortened at a word. */
export function taskTitle(prompt: string): string {
  const line = prompt.trim().split("\n")[0]!.trim();
  if (line.length <= 80) return line;
  const cut = line.slice(0, 80);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), 40))}…`;
}

/** "€1.50" from cents. */
export function formatCents(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`;
}
