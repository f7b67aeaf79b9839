import { z } from "zod";

/**
 * A task's changes against its base, as the VM agent's `GET /api/changes` answers them (and as SAM shapes
 * GitHub's compare once the workspace has stopped), and the unified diff of each file as lines with numbers.
 */

export const taskChangesSchema = z.object({
  base: z.string(),
  branch: z.string(),
  head_sha: z.string().nullable(),
  files: z.array(
    z.object({
      path: z.string(),
      status: z.enum(["added", "modified", "deleted", "renamed"]),
      additions: z.number(),
      deletions: z.number(),
      patch: z.string(),
    }),
  ),
});

export type TaskChanges = z.infer<typeof taskChangesSchema>;

export interface PatchLine {
  kind: "add" | "remove" | "same" | "hunk";
  text: string;
  /** Line number in the old file (remove, same) and in the new one (add, same). */
  oldLine: number | null;
  newLine: number | null;
}

/** Parses a unified diff's hunks (what GitHub's `patch` and `git diff` after the headers hold). */
export function parsePatch(patch: string): PatchLine[] {
  const lines: PatchLine[] = [];
  let oldLine = 0;
  let newLine = 0;
  for (const text of patch.split("\n")) {
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    // File headers, when a patch carries them, are not lines of the file.
    if (text.startsWith("diff --git") || text.startsWith("index ") || /^(---|\+\+\+) /.test(text)) continue;
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      lines.push({ kind: "hunk", text, oldLine: null, newLine: null });
    } else if (text.startsWith("+"))
      lines.push({ kind: "add", text: text.slice(1), oldLine: null, newLine: newLine++ });
    else if (text.startsWith("-"))
      lines.push({ kind: "remove", text: text.slice(1), oldLine: oldLine++, newLine: null });
    else if (text.startsWith(" "))
      lines.push({ kind: "same", text: text.slice(1), oldLine: oldLine++, newLine: newLine++ });
  }
  return lines;
}

export interface LineComment {
  path: string;
  line: number;
  /** A comment on a removed line names the old file's line. */
  side: "new" | "old";
  text: string;
}

/** One prompt naming each file, line and comment, for the agent to act on. */
export function commentsPrompt(comments: LineComment[]): string {
  const items = comments.map(
    (comment) =>
      `- ${comment.path}, line ${comment.line}${comment.side === "old" ? " (a removed line, numbered as in the base)" : ""}: ${comment.text.trim()}`,
  );
  return [`Review comments on your changes. Please address each one:`, "", ...items].join("\n");
}
