// Hetzner labels: key/value validation and the label selector language (API overview, "Labels" and
// "Label Selector").

const NAME = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Returns a problem with a label key, or undefined when it is valid. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (!NAME.test(name)) return `label key '${key}' is invalid`;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length > 253 || !prefix.split(".").every((part) => DNS_LABEL.test(part)))
      return `label key prefix '${prefix}' is not a DNS subdomain`;
    if (prefix === "hetzner.cloud" || prefix.endsWith(".hetzner.cloud"))
      return "label key prefix 'hetzner.cloud/' is reserved";
  }
  return undefined;
}

export function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "label value must be a string";
  if (value === "") return undefined;
  return NAME.test(value) ? undefined : `label value '${value}' is invalid`;
}

/** Validates a `labels` object; returns the messages for the `labels` field (empty when valid). */
export function labelProblems(labels: unknown): string[] {
  if (labels === undefined) return [];
  if (!labels || typeof labels !== "object" || Array.isArray(labels)) return ["must be an object"];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) problems.push(problem);
  }
  return problems;
}

type Requirement =
  | { op: "eq" | "ne"; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "absent"; key: string };

export class LabelSelectorError extends Error {}

/** Parses `k==v,k!=v,k,!k,k in (a,b),k notin (a,b)`. */
export function parseLabelSelector(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  let rest = selector.trim();
  if (rest === "") return requirements;
  const keyPattern = /^[a-zA-Z0-9._/-]+/;
  while (rest.length > 0) {
    let requirement: Requirement;
    const negated = rest.startsWith("!") && !rest.startsWith("!=");
    if (negated) rest = rest.slice(1).trimStart();
    const keyMatch = keyPattern.exec(rest);
    if (!keyMatch) throw new LabelSelectorError(`invalid label selector '${selector}'`);
    const key = keyMatch[0];
    rest = rest.slice(key.length).trimStart();
    if (negated) {
      requirement = { op: "absent", key };
    } else if (/^(==|=|!=)/.test(rest)) {
      const op = rest.startsWith("!=") ? "ne" : "eq";
      rest = rest.slice(rest.startsWith("==") || rest.startsWith("!=") ? 2 : 1).trimStart();
      const valueMatch = /^[a-zA-Z0-9._-]*/.exec(rest)!;
      rest = rest.slice(valueMatch[0].length).trimStart();
      requirement = { op, key, value: valueMatch[0] };
    } else if (/^(in|notin)\s*\(/.test(rest)) {
      const op = rest.startsWith("notin") ? "notin" : "in";
      const close = rest.indexOf(")");
      if (close < 0) throw new LabelSelectorError(`invalid label selector '${selector}': missing ')'`);
      const values = rest
        .slice(rest.indexOf("(") + 1, close)
        .split(",")
        .map((v) => v.trim());
      if (values.some((v) => !/^[a-zA-Z0-9._-]*$/.test(v)))
        throw new LabelSelectorError(`invalid label selector '${selector}'`);
      rest = rest.slice(close + 1).trimStart();
      requirement = { op, key, values };
    } else {
      requirement = { op: "exists", key };
    }
    requirements.push(requirement);
    if (rest.startsWith(",")) {
      rest = rest.slice(1).trimStart();
      if (rest === "") throw new LabelSelectorError(`invalid label selector '${selector}': trailing ','`);
    } else if (rest !== "") {
      throw new LabelSelectorError(`invalid label selector '${selector}'`);
    }
  }
  return requirements;
}

export function matchesSelector(labels: Record<string, string>, requirements: Requirement[]): boolean {
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case "eq":
        return has && value === r.value;
      case "ne":
        return !has || value !== r.value;
      case "in":
        return has && r.values.includes(value!);
      case "notin":
        return !has || !r.values.includes(value!);
      case "exists":
        return has;
      case "absent":
        return !has;
    }
  });
}
