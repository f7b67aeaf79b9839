// The instance's secrets: kept or generated in .sam/secrets.env by setup, then sent to the Pages project and
// the scheduler Worker with `wrangler secret put` whenever a value changed (by setup and by deploy).
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { generateKeys } from "../keys.mjs";
import type { Runner } from "./runner";
import { fingerprint, readSecretsFile, readState, writeSecretsFile, writeState } from "./secrets-file";
import { GITHUB_APP_SECRETS, SECRET_NAMES, type Paths, type ResourceNames } from "./settings";
import type { SetupInputs, StepStatus } from "./setup";

/** The given keys' non-blank values, trimmed: how the GitHub App values split into vars and secrets. */
export function pick<K extends string>(
  values: Partial<Record<string, string>>,
  keys: readonly K[],
): Partial<Record<K, string>> {
  const picked: Partial<Record<K, string>> = {};
  for (const key of keys) if (values[key]?.trim()) picked[key] = values[key]!.trim();
  return picked;
}

/** Keeps what the file has, generates missing keys, and takes the token and GitHub App secrets given now. */
export function ensureSecrets(
  path: string,
  inputs: SetupInputs,
): { values: Record<string, string>; status: StepStatus; detail?: string } {
  const existed = existsSync(path);
  const current = readSecretsFile(path);
  const next = { ...current };
  const generated: string[] = [];
  const keys = generateKeys() as Record<string, string>;
  // The JWT values are one key pair and its id, the VAPID values one key pair: replace a group whole or not at all.
  const groups = [
    ["ENCRYPTION_KEY"],
    ["SESSION_SECRET"],
    ["JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "JWT_KEY_ID"],
    ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"],
  ];
  for (const group of groups) {
    if (group.every((name) => current[name])) continue;
    for (const name of group) next[name] = keys[name]!;
    generated.push(...group);
  }
  if (!next.GITHUB_WEBHOOK_SECRET && !inputs.github?.GITHUB_WEBHOOK_SECRET) {
    next.GITHUB_WEBHOOK_SECRET = randomBytes(24).toString("hex");
    generated.push("GITHUB_WEBHOOK_SECRET");
  }
  // CLOUDFLARE_ACCOUNT_ID is not secret, but wrangler needs it beside the token, so it is kept with it.
  const given: Record<string, string | undefined> = {
    CLOUDFLARE_API_TOKEN: inputs.cloudflareApiToken,
    CLOUDFLARE_ACCOUNT_ID: inputs.cloudflareAccountId,
    ...pick(inputs.github ?? {}, GITHUB_APP_SECRETS),
  };
  const taken: string[] = [];
  for (const [name, value] of Object.entries(given)) {
    if (value && next[name] !== value) {
      next[name] = value;
      taken.push(name);
    }
  }
  if (generated.length === 0 && taken.length === 0) return { values: current, status: "unchanged" };
  writeSecretsFile(path, next);
  const detail = [
    generated.length ? `generated ${generated.join(", ")}` : "",
    taken.length ? `stored ${taken.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
  // Read back, so this run sends exactly what a later run will read (dotenv trims PEM line ends).
  return { values: readSecretsFile(path), status: existed ? "updated" : "created", detail };
}

/** Sends each secret whose value changed since the last run to the Pages project and the scheduler Worker. */
export async function putSecrets(
  runner: Runner,
  paths: Paths,
  values: Record<string, string>,
  names: ResourceNames,
): Promise<string[]> {
  const state = readState(paths.stateFile);
  const sent: string[] = [];
  try {
    for (const name of SECRET_NAMES) {
      const value = values[name];
      if (!value) continue;
      for (const command of secretCommands(name, value, names, paths)) {
        const print = fingerprint(command.target, name, value);
        if (state.secrets[`${command.target}:${name}`] === print) continue;
        await runner.run(command);
        state.secrets[`${command.target}:${name}`] = print;
        sent.push(`${name} (${command.target})`);
      }
    }
  } finally {
    if (sent.length) writeState(paths.stateFile, state);
  }
  return sent;
}

export function secretCommands(name: string, value: string, names: ResourceNames, paths: Pick<Paths, "schedulerToml">) {
  return [
    {
      target: "pages",
      title: `Pages secret ${name}`,
      command: "wrangler",
      args: ["pages", "secret", "put", name, "--project-name", names.pagesProject],
      input: value,
    },
    {
      target: "scheduler",
      title: `scheduler secret ${name}`,
      command: "wrangler",
      args: ["secret", "put", name, "-c", paths.schedulerToml],
      input: value,
    },
  ];
}
