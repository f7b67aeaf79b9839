import type { AgentCredentialKind } from "../settings/schema";
import { agentCredentialKinds } from "../settings/schema";

/**
 * The coding agents a chat can run and the saved credentials each can use, in the order they are preferred:
 * a Claude subscription token before an Anthropic API key (a flat-rate plan before per-use billing).
 */
export const chatAgents = {
  "claude-code": { label: "Claude Code", credentials: ["claude_oauth_token", "anthropic_api_key"] },
  codex: { label: "Codex", credentials: ["openai_api_key"] },
} as const satisfies Record<string, { label: string; credentials: readonly AgentCredentialKind[] }>;

export type ChatAgent = keyof typeof chatAgents;
export const chatAgentNames = Object.keys(chatAgents) as [ChatAgent, ...ChatAgent[]];

export function isChatAgent(value: unknown): value is ChatAgent {
  return typeof value === "string" && Object.hasOwn(chatAgents, value);
}

/** What to tell a user who has none of the agent's credentials saved. */
export function missingCredentialMessage(agent: ChatAgent): string {
  const names = chatAgents[agent].credentials.map((kind) =>
    `an ${agentCredentialKinds[kind].label}`.replace(/^an C/, "a C"),
  );
  return `${chatAgents[agent].label} needs ${names.join(" or ")}: add one in Settings, then start the chat again.`;
}
