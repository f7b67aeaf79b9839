package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// Steps runs the boot steps after bootstrap and reports each one.
type Steps struct {
	CP           *controlplane.Client
	State        *state.Store
	WorkspaceDir string
	// HelperCommand is the git credential.helper value, e.g. `!"/usr/local/bin/vm-agent" git-credential --socket …`.
	HelperCommand string
	// Run runs a command (tests substitute it); nil means exec.
	Exec func(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error)
	Log  *slog.Logger
}

// CLIPackages maps agent_cli values to their npm package.
var CLIPackages = map[string]string{
	"claude-code": "@anthropic-ai/claude-code",
	"codex":       "@openai/codex",
}

func (s *Steps) report(ctx context.Context, step, status, msg string) {
	if err := s.CP.BootLog(ctx, step, status, msg); err != nil {
		s.Log.Warn("boot-log failed", "step", step, "status", status, "err", err)
	}
}

func (s *Steps) run(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	if s.Exec != nil {
		return s.Exec(ctx, dir, env, name, args...)
	}
	return execCommand(ctx, dir, env, name, args...)
}

func execCommand(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// Run clones the repository, installs the agent CLI and reports ready. A failed clone or CLI install is
// reported but does not stop the workspace from becoming ready: the terminal still works.
func (s *Steps) Run(ctx context.Context) error {
	st := s.State.Get()
	s.report(ctx, "bootstrap", "ok", "agent bootstrapped")
	if st.Repository != nil {
		s.clone(ctx, *st.Repository)
	}
	if !st.BootCompleted {
		s.installCLI(ctx, st.AgentCLI)
	}
	if err := s.CP.Ready(ctx); err != nil {
		s.report(ctx, "ready", "error", err.Error())
		return fmt.Errorf("ready: %w", err)
	}
	s.report(ctx, "ready", "ok", "workspace ready")
	return s.State.Update(func(st *state.State) { st.BootCompleted = true })
}

func (s *Steps) clone(ctx context.Context, repo controlplane.Repository) {
	if _, err := os.Stat(filepath.Join(s.WorkspaceDir, ".git")); err == nil {
		s.report(ctx, "clone", "ok", "repository already present in "+s.WorkspaceDir)
		return
	}
	s.report(ctx, "clone", "started", "cloning "+repo.FullName)
	if err := os.MkdirAll(filepath.Dir(s.WorkspaceDir), 0o755); err != nil {
		s.report(ctx, "clone", "error", err.Error())
		return
	}
	// The token is never in the URL or the config: git asks the helper, which asks this agent.
	args := []string{"-c", "credential.helper=", "-c", "credential.helper=" + s.HelperCommand, "clone"}
	if repo.Branch != "" {
		args = append(args, "--branch", repo.Branch)
	}
	args = append(args, "--", repo.CloneURL, s.WorkspaceDir)
	env := []string{"GIT_TERMINAL_PROMPT=0"}
	if out, err := s.run(ctx, "", env, "git", args...); err != nil {
		s.report(ctx, "clone", "error", fmt.Sprintf("git clone failed: %v: %s", err, lastLine(out)))
		return
	}
	// Later fetches and pushes use the same helper; only the helper command is stored, never a token.
	if out, err := s.run(ctx, s.WorkspaceDir, env, "git", "config", "--local", "credential.helper", s.HelperCommand); err != nil {
		s.report(ctx, "clone", "error", fmt.Sprintf("git config failed: %v: %s", err, lastLine(out)))
		return
	}
	s.report(ctx, "clone", "ok", "cloned "+repo.FullName+" into "+s.WorkspaceDir)
}

func (s *Steps) installCLI(ctx context.Context, cli string) {
	if cli == "" || cli == "none" {
		return
	}
	pkg, ok := CLIPackages[cli]
	if !ok {
		s.report(ctx, "install-agent-cli", "error", fmt.Sprintf("unknown agent_cli %q", cli))
		return
	}
	s.report(ctx, "install-agent-cli", "started", "npm install -g "+pkg)
	out, err := s.run(ctx, "", nil, "npm", "install", "-g", pkg)
	if err != nil {
		var ee *exec.Error
		msg := fmt.Sprintf("npm install -g %s failed: %v: %s", pkg, err, lastLine(out))
		if errors.As(err, &ee) {
			msg = "npm is not installed: " + err.Error()
		}
		s.report(ctx, "install-agent-cli", "error", msg)
		return
	}
	s.report(ctx, "install-agent-cli", "ok", "installed "+pkg)
}

func lastLine(out []byte) string {
	out = bytes.TrimSpace(out)
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	return strings.TrimSpace(string(out[:min(len(out), 300)]))
}
