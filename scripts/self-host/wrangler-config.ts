// Reads and edits the two wrangler configs (wrangler.toml for Pages, scripts/scheduler.wrangler.toml for the
// scheduler Worker). Edits are targeted line replacements, so comments and layout survive; every edit is
// checked by parsing the result with smol-toml.
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "smol-toml";

export interface WranglerConfig {
  name?: string;
  vars?: Record<string, string>;
  d1_databases?: Array<{ binding: string; database_name?: string; database_id?: string; migrations_dir?: string }>;
  kv_namespaces?: Array<{ binding: string; id?: string }>;
  r2_buckets?: Array<{ binding: string; bucket_name?: string }>;
}

export function readWranglerConfig(path: string): WranglerConfig {
  return parse(readFileSync(path, "utf8")) as WranglerConfig;
}

/** Where a value lives: a top-level key, a key of [vars], or a key of the array table with this binding. */
export type Location =
  | { table: ""; key: string }
  | { table: "vars"; key: string }
  | { table: "d1_databases" | "kv_namespaces" | "r2_buckets"; binding: string; key: string };

interface Section {
  table: string;
  array: boolean;
  start: number;
  end: number;
}

function sections(lines: string[]): Section[] {
  const found: Section[] = [{ table: "", array: false, start: 0, end: lines.length }];
  lines.forEach((line, index) => {
    const header = /^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (!header) return;
    found[found.length - 1]!.end = index;
    found.push({ table: header[2]!, array: header[1] === "[[", start: index, end: lines.length });
  });
  return found;
}

const keyLine = (key: string) =>
  new RegExp(
    `^(\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*=\\s*)("(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^#\\s]+)(.*)$`,
  );

/** TOML basic strings accept JSON's escapes (\" \\ \n \uXXXX). */
const tomlString = (value: string) => JSON.stringify(value);

/** Sets each value in the TOML text, keeping everything else as it was. */
export function setTomlValues(text: string, values: Array<[Location, string]>): string {
  let lines = text.split("\n");
  for (const [location, value] of values) {
    const all = sections(lines);
    const section = all.find((candidate) => {
      if (candidate.table !== location.table) return false;
      if (!("binding" in location)) return true;
      const body = lines.slice(candidate.start, candidate.end);
      return body.some((line) => keyLine("binding").exec(line)?.[2] === tomlString(location.binding));
    });
    if (!section) {
      if (location.table !== "vars")
        throw new Error(
          `no [[${location.table}]] with binding "${"binding" in location ? location.binding : ""}" to write ${location.key} into`,
        );
      const trimmed = lines.join("\n").replace(/\n*$/, "");
      lines = `${trimmed}\n\n[vars]\n${location.key} = ${tomlString(value)}\n`.split("\n");
      continue;
    }
    const pattern = keyLine(location.key);
    const index = lines.findIndex((line, at) => at >= section.start && at < section.end && pattern.test(line));
    if (index >= 0) {
      lines[index] = lines[index]!.replace(
        pattern,
        (_, before: string, _old: string, after: string) => `${before}${tomlString(value)}${after}`,
      );
      continue;
    }
    // A new key goes after the section's last key line (before blank lines and the next header).
    let insertAt = section.table === "" ? section.start : section.start + 1;
    for (let at = section.start; at < section.end; at++)
      if (/^\s*[A-Za-z0-9_-]+\s*=/.test(lines[at]!)) insertAt = at + 1;
    lines.splice(insertAt, 0, `${location.key} = ${tomlString(value)}`);
  }
  const result = lines.join("\n");
  const parsed = parse(result) as WranglerConfig;
  for (const [location, value] of values) {
    if (readLocation(parsed, location) !== value)
      throw new Error(`editing the wrangler config failed: ${describeLocation(location)} did not read back as written`);
  }
  return result;
}

export function readLocation(config: WranglerConfig, location: Location): string | undefined {
  if (location.table === "") return (config as Record<string, unknown>)[location.key] as string | undefined;
  if (location.table === "vars") return config.vars?.[location.key];
  const entry = (config[location.table] as Array<Record<string, string>> | undefined)?.find(
    (item) => item.binding === location.binding,
  );
  return entry?.[location.key];
}

export function describeLocation(location: Location): string {
  if (location.table === "") return location.key;
  if (location.table === "vars") return `[vars] ${location.key}`;
  return `[[${location.table}]] ${location.binding} ${location.key}`;
}

/** Applies the values to the file; returns the locations whose value changed (nothing is written when none did). */
export function updateWranglerFile(path: string, values: Array<[Location, string]>): string[] {
  const text = readFileSync(path, "utf8");
  const current = parse(text) as WranglerConfig;
  const changed = values.filter(([location, value]) => readLocation(current, location) !== value);
  if (changed.length === 0) return [];
  writeFileSync(path, setTomlValues(text, changed));
  return changed.map(([location]) => describeLocation(location));
}
