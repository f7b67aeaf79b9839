package task

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	// The checkout may belong to another user (see the push test); the test's own git reads it anyway.
	cmd := exec.Command("git", append([]string{"-c", "safe.directory=*"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// repo is a "GitHub" bare repository with main holding README.md, and a clone of it on main.
func repo(t *testing.T) (remote, clone string) {
	t.Helper()
	root := t.TempDir()
	remote, clone = filepath.Join(root, "remote.git"), filepath.Join(root, "clone")
	seed := filepath.Join(root, "seed")
	git(t, root, "init", "--quiet", "--bare", "--initial-branch=main", remote)
	git(t, root, "init", "--quiet", "--initial-branch=main", seed)
	if err := os.WriteFile(filepath.Join(seed, "README.md"), []byte("# hello\n\nline\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, seed, "add", ".")
	git(t, seed, "commit", "--quiet", "-m", "first")
	git(t, seed, "push", "--quiet", remote, "main")
	git(t, root, "clone", "--quiet", "--branch", "main", remote, clone)
	return remote, clone
}

func TestTheTaskBranchIsMadeFromTheBaseAndChangesAreAgainstWhereItLeftIt(t *testing.T) {
	_, clone := repo(t)
	g := Git{Dir: clone, Env: os.Environ()}
	ctx := context.Background()
	if err := g.CheckoutBranch(ctx, "sam/append-hello-abc123", "main"); err != nil {
		t.Fatal(err)
	}
	if got := git(t, clone, "branch", "--show-current"); got != "sam/append-hello-abc123" {
		t.Fatalf("on %q", got)
	}
	// Checking out again (a restarted workspace with the repository kept) stays on the branch.
	if err := g.CheckoutBranch(ctx, "sam/append-hello-abc123", "main"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "README.md"), []byte("# hello\n\nline\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "new.txt"), []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changes, err := g.Changes(ctx, "sam/append-hello-abc123", "main")
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]File{}
	for _, f := range changes.Files {
		byPath[f.Path] = f
	}
	if f := byPath["README.md"]; f.Status != "modified" || f.Additions != 1 || f.Deletions != 0 || !strings.Contains(f.Patch, "+hello") {
		t.Errorf("README.md = %+v", f)
	}
	if f := byPath["new.txt"]; f.Status != "added" || f.Additions != 2 {
		t.Errorf("new.txt = %+v", f)
	}
	// The user's own index is left as it was: nothing staged.
	if staged := git(t, clone, "diff", "--cached", "--name-only"); staged != "" {
		t.Errorf("staged %q", staged)
	}
	if len(changes.Files) != 2 {
		t.Errorf("files %+v", changes.Files)
	}
}

func TestATurnIsCommittedAsTheOwnerAndOnlyTheTaskBranchIsPushed(t *testing.T) {
	remote, clone := repo(t)
	ctx := context.Background()
	g := Git{Dir: clone, Env: os.Environ()}
	branch := "sam/append-hello-abc123"
	if err := g.CheckoutBranch(ctx, branch, "main"); err != nil {
		t.Fatal(err)
	}
	committed, err := g.CommitAll(ctx, Author{Name: "Octo Cat", Email: "1+octo@users.noreply.github.com"}, "Append hello", "", "Claude Code")
	if err != nil || committed {
		t.Fatalf("nothing to commit: committed %v, err %v", committed, err)
	}
	// A hook the coding agent planted does not run when SAM commits.
	hook := filepath.Join(clone, ".git", "hooks", "pre-commit")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\ntouch "+filepath.Join(clone, "hook-ran")+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "README.md"), []byte("# hello\n\nline\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if committed, err = g.CommitAll(ctx, Author{Name: "Octo Cat", Email: "1+octo@users.noreply.github.com"}, "Append hello", "Added hello.", "Claude Code"); err != nil || !committed {
		t.Fatalf("committed %v, err %v", committed, err)
	}
	if _, err := os.Stat(filepath.Join(clone, "hook-ran")); err == nil {
		t.Error("the repository's pre-commit hook ran")
	}
	message := git(t, clone, "log", "-1", "--format=%an <%ae>%n%cn%n%B")
	for _, want := range []string{"Octo Cat <1+octo@users.noreply.github.com>", "Append hello", "Added hello.", "Coding-agent: Claude Code"} {
		if !strings.Contains(message, want) {
			t.Errorf("commit %q lacks %q", message, want)
		}
	}
	mainBefore := git(t, remote, "rev-parse", "main")
	// The coding agent points main at its commit too; only the task branch may leave the workspace.
	git(t, clone, "branch", "-f", "main", "HEAD")
	// On a VM the checkout belongs to the workspace user and the agent (root) pushes: git must not refuse the
	// source as of "dubious ownership". Running as root, the test hands the checkout to another user.
	if os.Getuid() == 0 {
		if err := filepath.Walk(clone, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, 65534, 65534)
		}); err != nil {
			t.Fatal(err)
		}
	}
	pusher := Pusher{Mirror: filepath.Join(t.TempDir(), "push.git"), Source: clone, Remote: remote, Env: os.Environ()}
	if err := pusher.Push(ctx, branch, "unused-for-a-file-remote"); err != nil {
		t.Fatal(err)
	}
	head := git(t, clone, "rev-parse", "HEAD")
	if got := git(t, remote, "rev-parse", "refs/heads/"+branch); got != head {
		t.Errorf("remote branch at %s, want %s", got, head)
	}
	if got := git(t, remote, "rev-parse", "main"); got != mainBefore {
		t.Errorf("main moved from %s to %s", mainBefore, got)
	}
	// A second push after another commit (and after the agent rewrote history) still lands.
	git(t, clone, "commit", "--quiet", "--no-verify", "--amend", "-m", "rewritten")
	if err := pusher.Push(ctx, branch, "unused"); err != nil {
		t.Fatal(err)
	}
	if got, want := git(t, remote, "rev-parse", "refs/heads/"+branch), git(t, clone, "rev-parse", "HEAD"); got != want {
		t.Errorf("after the rewrite the remote is at %s, want %s", got, want)
	}
}

func TestACodingAgentsGitPushIsRecognised(t *testing.T) {
	for input, want := range map[string]bool{
		`{"command":"git push origin main"}`:                 true,
		`{"command":"cd repo && git -C . push --force"}`:     true,
		`{"command":["git","push","origin","HEAD"]}`:         true,
		`{"command":"git status && echo push"}`:              false,
		`{"command":"git commit -m 'push the button'"}`:      false,
		`{"command":"echo x | git push"}`:                    true,
		`{"command":"/usr/bin/git -c a=b push"}`:             true,
		`{"file_path":"/workspace/README.md","content":"x"}`: false,
	} {
		if got := pushCommand(json.RawMessage(input)) != ""; got != want {
			t.Errorf("%s: reported %v, want %v", input, got, want)
		}
	}
}
