import { z } from "zod";
import type { WorkspaceStatus } from "../db/schema";

/**
 * The create-workspace form, shared by the browser (conform) and the action. The limits come from the
 * admin policy, so the same schema is built on both sides from the values the loader sends.
 */

export const agentClis = {
  "claude-code": "Claude Code",
  codex: "Codex",
  none: "None",
} as const;
export type AgentCli = keyof typeof agentClis;
export const agentCliNames = Object.keys(agentClis) as [AgentCli, ...AgentCli[]];

/** Idle timeouts offered, in minutes (15 min … 24 h); the policy's maximum cuts the list. */
export const idleTimeoutChoices = [15, 30, 60, 120, 240, 480, 720, 1440] as const;
export const MIN_IDLE_MINUTES = 15;
/** The workspace page warns this long before an idle stop, with a "Keep alive" button. */
export const IDLE_WARNING_MS = 5 * 60 * 1000;

export interface WorkspaceFormLimits {
  sizes: string[];
  locations: string[];
  maxIdleMinutes: number;
  maxLifetimeHours: number;
}

const oneOf = (values: string[], what: string) =>
  z
    .string({ error: `Pick a ${what}` })
    .refine((value) => values.includes(value), `This ${what} is not offered on this instance`);

export function workspaceFormSchema(limits: WorkspaceFormLimits) {
  return z.object({
    name: z
      .string({ error: "Give the workspace a name" })
      .trim()
      .min(1, "Give the workspace a name")
      .max(60, "Keep the name under 60 characters"),
    repository: z
      .string({ error: "Pick a repository" })
      .trim()
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "Pick a repository from the list (owner/name)"),
    branch: z
      .string()
      .trim()
      .max(255)
      .regex(/^[^\s~^:?*[\\]+$/, "Not a valid branch name")
      .optional(),
    size: oneOf(limits.sizes, "size"),
    location: oneOf(limits.locations, "location"),
    idleTimeoutMinutes: z
      .number({ error: "Pick an idle timeout" })
      .int()
      .min(MIN_IDLE_MINUTES, `At least ${MIN_IDLE_MINUTES} minutes`)
      .max(limits.maxIdleMinutes, `At most ${limits.maxIdleMinutes} minutes on this instance`),
    maxLifetimeHours: z
      .number({ error: "Give a maximum lifetime in hours" })
      .int("Whole hours")
      .min(1, "At least 1 hour")
      .max(limits.maxLifetimeHours, `At most ${limits.maxLifetimeHours} hours on this instance`),
    agentCli: z.enum(agentCliNames, { error: "Pick which agent CLI to install" }),
  });
}

export type WorkspaceForm = z.infer<ReturnType<typeof workspaceFormSchema>>;

/** "15 min", "2 h", "24 h". */
export function formatMinutes(minutes: number): string {
  return minutes < 60
    ? `${minutes} min`
    : minutes % 60 === 0
      ? `${minutes / 60} h`
      : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// Spelled out rather than imported from db/schema, which would bring drizzle into the page's JavaScript.
/** The statuses a workspace list can be filtered by. */
export const workspaceStatusChoices = [
  "creating",
  "running",
  "stopping",
  "stopped",
  "error",
] as const satisfies readonly WorkspaceStatus[];
