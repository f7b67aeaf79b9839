// The git plumbing behind the local GitHub's compare and pulls: file statuses (renames, removals, binary
// files), line counts and patches, ahead/behind and refs that must not be read as options.
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aheadBehind, commitsBetween, createRepoWithFiles, diffFiles, mergeBase, resolveCommit } from "./git";

let root: string;
let bare: string;

const env = {
  PATH: process.env.PATH,
  HOME: tmpdir(),
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.test",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.test",
};
const git = (args: string[], cwd: string) => execFileSync("git", args, { cwd, env }).toString();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "local-cloud-git-test-"));
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join("\n");
  bare = createRepoWithFiles(root, "o", "r", {
    "moved.txt": { content: `${lines}\n` },
    "gone.txt": { content: "bye\n" },
    "logo.bin": { content: "\u0000\u0001binary" },
    "edit.md": { content: "one\ntwo\n" },
  });
  const work = join(root, "work");
  git(["clone", "--quiet", bare, work], root);
  git(["checkout", "--quiet", "-b", "feature"], work);
  renameSync(join(work, "moved.txt"), join(work, "renamed.txt"));
  unlinkSync(join(work, "gone.txt"));
  writeFileSync(join(work, "logo.bin"), "\u0000\u0002other binary");
  writeFileSync(join(work, "edit.md"), "one\nTWO\nthree\n");
  writeFileSync(join(work, "new.md"), "fresh\n");
  git(["add", "--all"], work);
  git(["commit", "--quiet", "-m", "Many changes"], work);
  git(["push", "--quiet", "origin", "feature"], work);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("git plumbing for compare", () => {
  it("lists each changed file with its status, counts and patch", () => {
    const files = diffFiles(bare, resolveCommit(bare, "main")!, resolveCommit(bare, "feature")!);
    const byName = Object.fromEntries(files.map((f) => [f.filename, f]));
    expect(Object.keys(byName).sort()).toEqual(["edit.md", "gone.txt", "logo.bin", "new.md", "renamed.txt"]);
    expect(byName["renamed.txt"]).toMatchObject({
      status: "renamed",
      previousFilename: "moved.txt",
      additions: 0,
      deletions: 0,
    });
    expect(byName["gone.txt"]).toMatchObject({
      status: "removed",
      additions: 0,
      deletions: 1,
      patch: "@@ -1 +0,0 @@\n-bye",
    });
    expect(byName["new.md"]).toMatchObject({
      status: "added",
      additions: 1,
      deletions: 0,
      patch: "@@ -0,0 +1 @@\n+fresh",
    });
    expect(byName["edit.md"]).toMatchObject({ status: "modified", additions: 2, deletions: 1 });
    expect(byName["edit.md"]!.patch).toBe("@@ -1,2 +1,3 @@\n one\n-two\n+TWO\n+three");
    expect(byName["logo.bin"]).toMatchObject({ status: "modified", additions: 0, deletions: 0 });
    expect(byName["logo.bin"]!.patch).toBeUndefined();
    expect(byName["gone.txt"]!.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it("counts ahead and behind, lists commits oldest first and finds the merge base", () => {
    const main = resolveCommit(bare, "main")!;
    const feature = resolveCommit(bare, "feature")!;
    expect(aheadBehind(bare, main, feature)).toEqual({ ahead: 1, behind: 0 });
    expect(aheadBehind(bare, feature, main)).toEqual({ ahead: 0, behind: 1 });
    expect(commitsBetween(bare, main, feature).map((c) => c.message)).toEqual(["Many changes"]);
    expect(mergeBase(bare, main, feature)).toBe(main);
    expect(resolveCommit(bare, feature.slice(0, 10))).toBe(feature);
  });

  it("resolves no ref that git would read as an option or a revision expression", () => {
    for (const ref of ["--all", "main~1", "main^", "main..feature", "HEAD@{1}", "no-such-branch", ""])
      expect(resolveCommit(bare, ref)).toBeNull();
  });
});
