import { z } from "zod";

/** The settings forms' schemas, shared by the browser (instant feedback) and the action (the real check). */

export const hetznerTokenSchema = z.object({
  intent: z.literal("save-hetzner"),
  token: z
    .string({ error: "Paste your Hetzner Cloud API token" })
    .trim()
    .regex(
      /^[A-Za-z0-9]{64}$/,
      "A Hetzner Cloud API token is 64 letters and digits: copy it again from your project's Security → API tokens page",
    ),
});

export const agentCredentialKinds = {
  anthropic_api_key: {
    label: "Anthropic API key",
    hint: "For Claude Code, billed per use. Starts with sk-ant-api.",
    pattern: /^sk-ant-api\d{2}-[A-Za-z0-9_-]{20,}$/,
    message: "An Anthropic API key starts with sk-ant-api03- followed by letters, digits, - and _",
  },
  claude_oauth_token: {
    label: "Claude subscription token",
    hint: "For Claude Code on a Pro or Max plan: run `claude setup-token` and paste what it prints. Starts with sk-ant-oat.",
    pattern: /^sk-ant-oat\d{2}-[A-Za-z0-9_-]{20,}$/,
    message: "A Claude subscription token starts with sk-ant-oat01- (run `claude setup-token` to get one)",
  },
  openai_api_key: {
    label: "OpenAI API key",
    hint: "For Codex. Starts with sk-.",
    pattern: /^sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}$/,
    message: "An OpenAI API key starts with sk- or sk-proj- followed by letters, digits, - and _",
  },
} as const;

export type AgentCredentialKind = keyof typeof agentCredentialKinds;
const agentKindNames = Object.keys(agentCredentialKinds) as [AgentCredentialKind, ...AgentCredentialKind[]];

export const agentCredentialSchema = z
  .object({
    intent: z.literal("save-agent"),
    kind: z.enum(agentKindNames, { error: "Choose which credential this is" }),
    secret: z.string({ error: "Paste the key" }).trim().max(400, "That is longer than any key of this kind"),
  })
  .superRefine((value, ctx) => {
    const kind = agentCredentialKinds[value.kind];
    if (!kind.pattern.test(value.secret)) ctx.addIssue({ code: "custom", path: ["secret"], message: kind.message });
  });

export const removeCredentialSchema = z.object({
  intent: z.literal("remove"),
  kind: z.enum(["hetzner", ...agentKindNames], { error: "Unknown credential" }),
});
