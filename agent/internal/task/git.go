// Package task runs a workspace's task (docs/architecture.md, Tasks): the task branch is checked out before
// the coding agent starts, the prompt runs in a chat, and after every turn the VM agent — not the coding
// agent, whose git token is read-only — commits the work as the owner and pushes the task branch, and only it.
package task

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/session"
)

// gitTimeout bounds one git command; a push of a large change over a slow link is the longest.
const gitTimeout = 5 * time.Minute

// Git runs git in a repository as the workspace user (or as the agent when User is nil).
type Git struct {
	Dir  string
	User *session.User
	// Env is the whole environment (the user's session environment).
	Env []string
}

// safeConfig keeps the repository's own hooks and helpers out of what the agent runs: the coding agent can
// write .git, and a hook would otherwise run with every commit SAM makes.
var safeConfig = []string{"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "commit.gpgSign=false"}

// run is git with args in Dir; stdout is returned, and stderr's last line is in the error.
func (g Git) run(ctx context.Context, extraEnv []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append(slices.Clone(safeConfig), args...)...)
	cmd.Dir = g.Dir
	cmd.Env = append(slices.Clone(g.Env), append([]string{"GIT_TERMINAL_PROMPT=0"}, extraEnv...)...)
	if g.User != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: g.User.Credential()}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("git %s: %w: %s", args[0], err, lastLine(stderr.String()))
	}
	return stdout.String(), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// refExists says whether a ref resolves in the repository.
func (g Git) refExists(ctx context.Context, ref string) bool {
	_, err := g.run(ctx, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return err == nil
}

// CheckoutBranch puts the repository on branch before the coding agent starts: the branch itself when this
// repository (a kept volume) or the remote already has it, otherwise a new branch from the base.
func (g Git) CheckoutBranch(ctx context.Context, branch, base string) error {
	switch {
	case g.refExists(ctx, "refs/heads/"+branch):
		_, err := g.run(ctx, nil, "checkout", branch)
		return err
	case g.refExists(ctx, "refs/remotes/origin/"+branch):
		_, err := g.run(ctx, nil, "checkout", "-b", branch, "--track", "origin/"+branch)
		return err
	case g.refExists(ctx, "refs/remotes/origin/"+base):
		_, err := g.run(ctx, nil, "checkout", "-b", branch, "--no-track", "origin/"+base)
		return err
	default:
		return fmt.Errorf("the base branch %q is not in the clone", base)
	}
}

// Author is who the task's commits are by: the owner's GitHub identity (their noreply address).
type Author struct{ Name, Email string }

// CommitAll commits everything in the working tree (new files too) as author, with the coding agent named
// in a trailer. It reports false when there was nothing to commit.
func (g Git) CommitAll(ctx context.Context, author Author, subject, body, agent string) (bool, error) {
	if _, err := g.run(ctx, nil, "add", "--all"); err != nil {
		return false, err
	}
	if _, err := g.run(ctx, nil, "diff", "--cached", "--quiet"); err == nil {
		return false, nil
	}
	identity := []string{
		"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email,
		"GIT_COMMITTER_NAME=" + author.Name, "GIT_COMMITTER_EMAIL=" + author.Email,
	}
	message := subject
	if strings.TrimSpace(body) != "" {
		message += "\n\n" + body
	}
	_, err := g.run(ctx, identity, "commit", "--no-verify", "--quiet", "-m", message, "--trailer", "Coding-agent: "+agent)
	return err == nil, err
}

// Head is the commit HEAD names.
func (g Git) Head(ctx context.Context) (string, error) {
	out, err := g.run(ctx, nil, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// MergeBase is where HEAD left the base branch (as fetched at clone time).
func (g Git) MergeBase(ctx context.Context, base string) (string, error) {
	out, err := g.run(ctx, nil, "merge-base", "HEAD", "refs/remotes/origin/"+base)
	return strings.TrimSpace(out), err
}

// Pusher pushes the task branch from a repository the agent owns: the workspace's repository belongs to the
// workspace user and the coding agent can change its config and hooks, so the agent (root on a VM) never
// runs git inside it. It fetches the branch into its own bare mirror — reading an untrusted repository is
// safe, running it is not — and pushes from there with a token only its own git process sees.
type Pusher struct {
	// Mirror is the bare repository's path, in the agent's data directory.
	Mirror string
	// Source is the workspace's repository.
	Source string
	// Remote is the repository's URL on GitHub.
	Remote string
	Env    []string
}

var ErrNothingToPush = errors.New("the branch has no commits")

// Push makes the remote's branch what the workspace's branch is (force: only SAM pushes it).
func (p Pusher) Push(ctx context.Context, branch, token string) error {
	mirror := Git{Dir: "/", Env: p.Env}
	if _, err := mirror.run(ctx, nil, "init", "--quiet", "--bare", p.Mirror); err != nil {
		return err
	}
	ref := "refs/heads/" + branch
	// The source belongs to the workspace user; git reads it (upload-pack) and runs nothing of it. A local
	// fetch drops -c settings before starting upload-pack, so safe.directory goes on its own command line.
	if _, err := mirror.run(ctx, nil, "--git-dir="+p.Mirror, "fetch", "--quiet", "--no-tags", "--force",
		"--upload-pack=git -c 'safe.directory=*' upload-pack", p.Source, "+"+ref+":"+ref); err != nil {
		return err
	}
	// The token is in this process's environment only (not its command line, not a file); the helper
	// hands it to git for this one push.
	helper := `!f() { test "$1" = get && echo username=x-access-token && echo "password=$SAM_GIT_PUSH_TOKEN"; }; f`
	_, err := mirror.run(ctx, []string{"SAM_GIT_PUSH_TOKEN=" + token}, "--git-dir="+p.Mirror,
		"-c", "credential.helper=", "-c", "credential.helper="+helper, "push", "--quiet", p.Remote, "+"+ref+":"+ref)
	return err
}
