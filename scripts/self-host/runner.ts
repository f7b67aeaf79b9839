// The only place that starts outside programs (wrangler, make, node). Tests replace it with a recorder, so
// everything around the commands runs in tests and the commands themselves are a visible list.
import { spawn } from "node:child_process";
import { join } from "node:path";

export interface Command {
  /** What the step does, for the log. */
  title: string;
  command: string;
  args: string[];
  /** Written to the program's standard input (how wrangler takes a secret's value; never on the command line). */
  input?: string;
  cwd?: string;
  /** A failure is reported and the run goes on (teardown of something that may already be gone). */
  allowFailure?: boolean;
}

export interface Runner {
  run(command: Command): Promise<{ ok: boolean; code: number | null }>;
}

/** Runs each command with inherited output; a failing command throws unless it allows failure. */
export function processRunner(root: string, env: NodeJS.ProcessEnv = process.env): Runner {
  return {
    run: (command) =>
      new Promise((resolve, reject) => {
        const bin = command.command === "wrangler" ? join(root, "node_modules", ".bin", "wrangler") : command.command;
        const child = spawn(bin, command.args, {
          cwd: command.cwd ?? root,
          stdio: [command.input === undefined ? "ignore" : "pipe", "inherit", "inherit"],
          env: { ...env, WRANGLER_SEND_METRICS: "false" },
        });
        child.on("error", (error) => reject(new Error(`${command.command} could not start: ${error.message}`)));
        if (command.input !== undefined) child.stdin!.end(command.input);
        child.on("exit", (code) => {
          if (code === 0) return resolve({ ok: true, code });
          if (command.allowFailure) return resolve({ ok: false, code });
          reject(new Error(`${command.title} failed: \`${display(command)}\` exited with ${code}`));
        });
      }),
  };
}

/** A runner that only records; `fail` makes matching commands fail, as wrangler would. */
export function recordingRunner(options: { fail?: (command: Command) => boolean } = {}) {
  const commands: Command[] = [];
  const runner: Runner = {
    async run(command) {
      commands.push(command);
      const failed = options.fail?.(command) ?? false;
      if (failed && !command.allowFailure)
        throw new Error(`${command.title} failed: \`${display(command)}\` exited with 1`);
      return { ok: !failed, code: failed ? 1 : 0 };
    },
  };
  return { runner, commands, lines: () => commands.map(display) };
}

/** The command as a person would type it; a value given on standard input is shown as `<stdin>`. */
export function display(command: Command): string {
  const quoted = [command.command, ...command.args]
    .map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replaceAll("'", "'\\''")}'`))
    .join(" ");
  return `${command.cwd ? `(cd ${command.cwd}) ` : ""}${quoted}${command.input !== undefined ? " <stdin>" : ""}`;
}
