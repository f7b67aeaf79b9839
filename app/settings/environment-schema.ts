import { z } from "zod";

/**
 * Workspace environment variables: the form's schema, shared by the browser (instant feedback) and the action
 * (the real check). Whether the scope is a repository the user can reach is checked on the server only.
 */

export const ENV_NAME_MAX_LENGTH = 64;
export const ENV_VALUE_MAX_BYTES = 8 * 1024;
export const ENV_VARS_PER_USER = 100;
/** The scope that applies to every repository; any other scope is a repository's `owner/name`. */
export const ALL_REPOSITORIES = "";

/**
 * Prefixes of names SAM itself uses in a workspace. A user's value there would either be overwritten or,
 * worse, redirect SAM's model proxy or git: refused, with the reason. Compared case-insensitively.
 */
const refusedPrefixes: Array<[prefix: string, why: string]> = [
  ["ANTHROPIC_", "SAM sets ANTHROPIC_* for Claude Code's model proxy; save an Anthropic key under Credentials instead"],
  ["OPENAI_", "SAM sets OPENAI_* for Codex's model proxy; save an OpenAI key under Credentials instead"],
  ["SAM_", "SAM_* names are SAM's own settings in the workspace"],
  ["GIT_", "SAM sets GIT_* so git uses the workspace's own short-lived repository tokens"],
];

/** Exact names SAM sets for every terminal, coding-agent session and setup script. */
const reservedNames = new Map<string, string>(
  Object.entries({
    PATH: "SAM sets PATH so the workspace finds Node.js and the coding-agent CLIs",
    HOME: "SAM sets HOME to the workspace user's home directory",
    USER: "SAM sets USER to the workspace user",
    LOGNAME: "SAM sets LOGNAME to the workspace user",
    SHELL: "SAM sets SHELL to the workspace user's shell",
    PWD: "the shell sets PWD to the current directory",
    TERM: "SAM sets TERM for the browser terminal",
    COLORTERM: "SAM sets COLORTERM for the browser terminal",
    CLAUDE_CODE_OAUTH_TOKEN:
      "SAM gives Claude Code its credential through its model proxy; save the token under Credentials instead",
  }),
);

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why `name` cannot be a workspace variable, as a sentence for beside the field; null when it can. */
export function environmentNameProblem(name: string): string | null {
  if (name.length > ENV_NAME_MAX_LENGTH) return `A name is at most ${ENV_NAME_MAX_LENGTH} characters.`;
  if (!NAME_PATTERN.test(name))
    return "A name is letters, digits and _, and does not start with a digit (like API_URL).";
  const upper = name.toUpperCase();
  const refused = refusedPrefixes.find(([prefix]) => upper.startsWith(prefix));
  if (refused) return `${name} cannot be used: ${refused[1]}.`;
  const reserved = reservedNames.get(upper);
  if (reserved) return `${name} cannot be used: ${reserved}.`;
  return null;
}

const encoder = new TextEncoder();

export const saveEnvironmentVariableSchema = z.object({
  intent: z.literal("save-variable"),
  name: z
    .string({ error: "Name the variable" })
    .trim()
    .superRefine((name, ctx) => {
      const problem = environmentNameProblem(name);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  value: z
    .string({ error: "Give the variable a value" })
    // Browsers submit a textarea's line breaks as CRLF; a multi-line value (a PEM key) means LF.
    .transform((value) => value.replace(/\r\n/g, "\n"))
    .refine((value) => !value.includes("\0"), "A value cannot contain a NUL character.")
    .refine(
      (value) => encoder.encode(value).length <= ENV_VALUE_MAX_BYTES,
      `A value is at most ${ENV_VALUE_MAX_BYTES / 1024} KiB.`,
    ),
  // An unchecked checkbox is not submitted at all.
  secret: z.boolean().default(false),
  scope: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, "Choose All repositories or one of your repositories")
    .max(200, "Choose All repositories or one of your repositories")
    .default(ALL_REPOSITORIES),
});

export type EnvironmentVariableForm = z.infer<typeof saveEnvironmentVariableSchema>;

export const removeEnvironmentVariableSchema = z.object({
  intent: z.literal("remove-variable"),
  id: z.uuid({ error: "Unknown variable" }),
});
