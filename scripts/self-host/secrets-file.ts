// The git-ignored file that holds an instance's secrets between runs (.sam/secrets.env, mode 0600), and
// the record of which secret values were already sent to Cloudflare.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { dotenvLine, parseDotenv } from "../keys.mjs";

export function readSecretsFile(path: string): Record<string, string> {
  return existsSync(path) ? (parseDotenv(readFileSync(path, "utf8")) as Record<string, string>) : {};
}

export function writeSecretsFile(path: string, values: Record<string, string>): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const body = Object.entries(values)
    .map(([name, value]) => dotenvLine(name, value))
    .join("\n");
  writeFileSync(
    path,
    `# Secrets of this SAM instance, written by \`npm run setup\`. Keep this file out of git and back it up:\n# without ENCRYPTION_KEY the stored credentials cannot be read.\n${body}\n`,
    { mode: 0o600 },
  );
}

/** One fingerprint per (target, name, value): changing any of them sends the secret again. */
export function fingerprint(target: string, name: string, value: string): string {
  return createHash("sha256").update(`${target}\0${name}\0${value}`).digest("hex");
}

export function readState(path: string): { secrets: Record<string, string> } {
  if (!existsSync(path)) return { secrets: {} };
  const parsed = JSON.parse(readFileSync(path, "utf8")) as { secrets?: Record<string, string> };
  return { secrets: parsed.secrets ?? {} };
}

export function writeState(path: string, state: { secrets: Record<string, string> }): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
