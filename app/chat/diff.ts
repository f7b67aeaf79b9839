/** Line diffs of the edits a tool call reports (ACP `diff` content), as the transcript shows them. */

export type DiffLine = { op: "same" | "add" | "remove"; text: string };

/** Cells of the longest-common-subsequence table beyond which the middle is shown as removed, then added. */
const MAX_DIFF_CELLS = 4_000_000;

/** A line diff of an edit (null old text: a new file), with the unchanged lines kept for context. */
export function lineDiff(oldText: string | null, newText: string): DiffLine[] {
  const split = (text: string) => (text === "" ? [] : text.replace(/\n$/, "").split("\n"));
  const a = split(oldText ?? "");
  const b = split(newText);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: DiffLine[] = a.slice(0, start).map((text) => ({ op: "same", text }));
  const tail: DiffLine[] = a.slice(endA).map((text) => ({ op: "same", text }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  let middle: DiffLine[];
  if (midA.length * midB.length > MAX_DIFF_CELLS) {
    middle = [
      ...midA.map((text) => ({ op: "remove" as const, text })),
      ...midB.map((text) => ({ op: "add" as const, text })),
    ];
  } else {
    const rows = midA.length + 1;
    const cols = midB.length + 1;
    const lcs = new Uint32Array(rows * cols);
    for (let i = midA.length - 1; i >= 0; i--)
      for (let j = midB.length - 1; j >= 0; j--)
        lcs[i * cols + j] =
          midA[i] === midB[j]
            ? lcs[(i + 1) * cols + j + 1]! + 1
            : Math.max(lcs[(i + 1) * cols + j]!, lcs[i * cols + j + 1]!);
    middle = [];
    let i = 0;
    let j = 0;
    while (i < midA.length && j < midB.length) {
      if (midA[i] === midB[j]) {
        middle.push({ op: "same", text: midA[i]! });
        i++;
        j++;
      } else if (lcs[(i + 1) * cols + j]! >= lcs[i * cols + j + 1]!) middle.push({ op: "remove", text: midA[i++]! });
      else middle.push({ op: "add", text: midB[j++]! });
    }
    while (i < midA.length) middle.push({ op: "remove", text: midA[i++]! });
    while (j < midB.length) middle.push({ op: "add", text: midB[j++]! });
  }
  return [...head, ...middle, ...tail];
}

/** The changed lines with up to `context` unchanged lines around each change; gaps become null. */
export function diffHunks(lines: DiffLine[], context = 3): Array<DiffLine | null> {
  const keep = lines.map(() => false);
  lines.forEach((line, index) => {
    if (line.op === "same") return;
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) keep[k] = true;
  });
  const out: Array<DiffLine | null> = [];
  lines.forEach((line, index) => {
    if (keep[index]) out.push(line);
    else if (out.length === 0 || out[out.length - 1] !== null) out.push(null);
  });
  return out;
}
