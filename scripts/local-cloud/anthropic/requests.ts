// What the Messages stand-in reads from a request body: the checks the real API makes on it, and the tool
// results an agent sends back for the previous reply.

export interface ToolResult {
  tool_use_id: string;
  content: unknown;
  is_error: boolean;
}

export function lastToolResults(body: { messages?: unknown }): ToolResult[] {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages[messages.length - 1] as { role?: string; content?: unknown } | undefined;
  if (!last || last.role !== "user" || !Array.isArray(last.content)) return [];
  return last.content
    .filter((block): block is Record<string, unknown> => block?.type === "tool_result")
    .map((block) => ({
      tool_use_id: String(block.tool_use_id),
      content: block.content ?? "",
      is_error: block.is_error === true,
    }));
}

/** The checks the real API makes on the fields every request needs, with its error wording. */
export function validationError(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "request body must be a JSON object";
  const b = body as Record<string, unknown>;
  if (b.model === undefined) return "model: Field required";
  if (typeof b.model !== "string" || b.model === "") return "model: Input should be a valid string";
  if (b.max_tokens === undefined) return "max_tokens: Field required";
  if (!Number.isInteger(b.max_tokens) || (b.max_tokens as number) < 1)
    return "max_tokens: Input should be a valid integer greater than or equal to 1";
  if (b.messages === undefined) return "messages: Field required";
  if (!Array.isArray(b.messages)) return "messages: Input should be a valid list";
  if (b.messages.length === 0) return "messages: at least one message is required";
  for (const [i, m] of b.messages.entries()) {
    const role = (m as { role?: unknown })?.role;
    if (role !== "user" && role !== "assistant" && role !== "system")
      return `messages.${i}.role: Input should be 'user', 'assistant' or 'system'`;
    const content = (m as { content?: unknown }).content;
    if (typeof content !== "string" && !Array.isArray(content))
      return `messages.${i}.content: Input should be a valid string or a valid list`;
  }
  if (b.stream !== undefined && typeof b.stream !== "boolean") return "stream: Input should be a valid boolean";
  return undefined;
}
