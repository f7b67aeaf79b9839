// Package repostatus counts the work in the workspace's repository that exists nowhere else: uncommitted
// changes and commits on no remote-tracking branch. The heartbeat carries the counts, so the dashboard can
// warn before a delete throws them away.
package repostatus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/session"
)

// Defaults: a status in a large repository reads every file's metadata, so it is not run on every beat.
const (
	DefaultEvery   = time.Minute
	DefaultTimeout = 10 * time.Second
)

// Checker counts unsaved work, at most once per Every.
type Checker struct {
	Dir string
	// User runs git (the repository is theirs; root's git would refuse it as "dubious ownership").
	User *session.User
	// Env is the user's session environment.
	Env     []string
	Every   time.Duration
	Timeout time.Duration

	mu      sync.Mutex
	checked time.Time
	last    *controlplane.UnsavedWork
}

// Current is the last count when it is recent enough, else a new one.
func (c *Checker) Current(ctx context.Context) *controlplane.UnsavedWork {
	every := c.Every
	if every == 0 {
		every = DefaultEvery
	}
	c.mu.Lock()
	if !c.checked.IsZero() && time.Since(c.checked) < every {
		defer c.mu.Unlock()
		return c.last
	}
	c.mu.Unlock()
	return c.Now(ctx)
}

// Now counts at once (the last heartbeat before a stop). A count that fails keeps the previous one; no
// repository is nil.
func (c *Checker) Now(ctx context.Context) *controlplane.UnsavedWork {
	work, err := c.count(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = time.Now()
	if err == nil || errors.Is(err, errNoRepository) {
		c.last = work
	}
	return c.last
}

var errNoRepository = errors.New("no repository")

func (c *Checker) count(ctx context.Context) (*controlplane.UnsavedWork, error) {
	if _, err := os.Stat(filepath.Join(c.Dir, ".git")); err != nil {
		return nil, errNoRepository
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status, err := c.git(ctx, "status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return nil, err
	}
	work := &controlplane.UnsavedWork{}
	for _, line := range bytes.Split(status, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			work.Uncommitted++
		}
	}
	if _, err := c.git(ctx, "rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
		return work, nil // no commit yet: nothing to push
	}
	count, err := c.git(ctx, "rev-list", "--count", "HEAD", "--not", "--remotes")
	if err != nil {
		return nil, err
	}
	if work.Unpushed, err = strconv.Atoi(strings.TrimSpace(string(count))); err != nil {
		return nil, fmt.Errorf("git rev-list: %q is not a count", count)
	}
	return work, nil
}

func (c *Checker) git(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = c.Dir
	// No index lock: a status running beside the user's own git must not make theirs fail.
	cmd.Env = append(slices.Clone(c.Env), "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0")
	if c.User != nil && os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.User.Credential()}
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return out, nil
}
