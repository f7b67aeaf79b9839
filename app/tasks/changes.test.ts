import { describe, expect, it } from "vitest";
import { commentsPrompt, parsePatch } from "./changes";

describe("parsePatch", () => {
  it("numbers added, removed and unchanged lines as in the new and old files", () => {
    const patch = "@@ -1,2 +1,3 @@\n # hello-world\n-old line\n+new line\n+hello";
    expect(parsePatch(patch)).toEqual([
      { kind: "hunk", text: "@@ -1,2 +1,3 @@", oldLine: null, newLine: null },
      { kind: "same", text: "# hello-world", oldLine: 1, newLine: 1 },
      { kind: "remove", text: "old line", oldLine: 2, newLine: null },
      { kind: "add", text: "new line", oldLine: null, newLine: 2 },
      { kind: "add", text: "hello", oldLine: null, newLine: 3 },
    ]);
  });

  it("skips file headers and the no-newline marker", () => {
    const patch =
      "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -5 +5 @@\n-a\n+b\n\\ No newline at end of file";
    expect(parsePatch(patch).map((line) => [line.kind, line.oldLine, line.newLine])).toEqual([
      ["hunk", null, null],
      ["remove", 5, null],
      ["add", null, 5],
    ]);
  });
});

describe("commentsPrompt", () => {
  it("names each file, line and comment in one prompt", () => {
    const prompt = commentsPrompt([
      { path: "README.md", line: 3, side: "new", text: "Say hello to the world " },
      { path: "src/a.ts", line: 10, side: "old", text: "Keep this" },
    ]);
    expect(prompt).toContain("- README.md, line 3: Say hello to the world");
    expect(prompt).toContain("- src/a.ts, line 10 (a removed line, numbered as in the base): Keep this");
  });
});
