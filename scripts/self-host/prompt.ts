// The wizard's questions (node:readline). Non-interactive runs (CI, no terminal, --yes) never ask.
import { createInterface } from "node:readline/promises";

export interface Prompter {
  ask(question: string, options?: { default?: string }): Promise<string>;
  close(): void;
}

export function terminalPrompter(): Prompter {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  return {
    async ask(question, options = {}) {
      const answer = (await rl.question(`${question}${options.default ? ` [${options.default}]` : ""}: `)).trim();
      return answer || options.default || "";
    },
    close: () => rl.close(),
  };
}

export function isInteractive(argv: string[], env: NodeJS.ProcessEnv): boolean {
  return Boolean(process.stdin.isTTY) && !env.CI && !argv.includes("--yes") && !argv.includes("--non-interactive");
}
