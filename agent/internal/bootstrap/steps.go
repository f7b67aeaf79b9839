package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// Steps runs the boot steps after bootstrap and reports each one.
type Steps struct {
	CP           *controlplane.Client
	State        *state.Store
	WorkspaceDir string
	// HelperCommand is the git credential.helper value, e.g. `!"/usr/local/bin/vm-agent" git-credential --socket …`.
	HelperCommand string
	// User is who the repository belongs to and is cloned as (the sessions' user); nil means the agent's own.
	User *session.User
	// UserEnv is the whole environment of the user's commands (session.Environment).
	UserEnv []string
	// ToolsDir is the root-owned prefix cloud-init put Node and npm in (node/); the CLI lands in its bin/.
	ToolsDir string
	// AgentEnv is the environment of the agent's own commands (npm's registry and CA settings among them).
	AgentEnv []string
	// Exec runs a command (tests substitute it); nil means exec.
	Exec func(ctx context.Context, c Command) ([]byte, error)
	// AfterClone runs once the repository is in place, before the coding-agent CLI is installed and the
	// workspace is ready (a task's branch is checked out there, before any coding agent can start).
	AfterClone func(ctx context.Context)
	Log        *slog.Logger
	// SetupMarkerPath, on the volume, exists once the repository's setup ran there; "" (no volume) runs no setup.
	SetupMarkerPath string
	// SetupTimeout bounds the setup (DefaultSetupTimeout when 0).
	SetupTimeout time.Duration
	// UserVariables returns the user's workspace environment variables for the setup.
	UserVariables func(ctx context.Context) []string
}

// Command is one program a boot step runs.
type Command struct {
	Dir  string
	Env  []string // the whole environment
	User *session.User
	Name string
	Args []string
}

// CLI is a coding-agent CLI the boot installs: a pinned npm package and the command it provides, and the
// pinned ACP adapter the chat runs it through (agent/internal/chat looks for AdapterCommand in bin/).
type CLI struct {
	Package        string
	Version        string
	Command        string
	Adapter        string
	AdapterVersion string
	AdapterCommand string
}

// CLIs maps agent_cli values to what gets installed. Versions are pinned: a workspace gets the CLI this agent
// was tested with, not whatever was published this morning.
var CLIs = map[string]CLI{
	"claude-code": {Package: "@anthropic-ai/claude-code", Version: "2.1.332", Command: "claude",
		Adapter: "@agentclientprotocol/claude-agent-acp", AdapterVersion: "0.101.0", AdapterCommand: "claude-agent-acp"},
	// codex-acp brings the Codex build it was made for (an @openai/codex dependency with its native binary
	// for this platform) and runs that one, not the CLI above, which is what the terminal runs.
	"codex": {Package: "@openai/codex", Version: "0.171.0", Command: "codex",
		Adapter: "@agentclientprotocol/codex-acp", AdapterVersion: "2.6.0", AdapterCommand: "codex-acp"},
}

// Report adds a line to the workspace's timeline.
func (s *Steps) Report(ctx context.Context, step, status, msg string) {
	s.report(ctx, step, status, msg)
}

func (s *Steps) report(ctx context.Context, step, status, msg string) {
	if err := s.CP.BootLog(ctx, step, status, msg); err != nil {
		s.Log.Warn("boot-log failed", "step", step, "status", status, "err", err)
	}
}

func (s *Steps) run(ctx context.Context, c Command) ([]byte, error) {
	if s.Exec != nil {
		return s.Exec(ctx, c)
	}
	return execCommand(ctx, c)
}

func execCommand(ctx context.Context, c Command) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if c.User != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.User.Credential()}
	}
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
	if s.AfterClone != nil {
		s.AfterClone(ctx)
	}
	if !st.BootCompleted {
		s.installCLI(ctx, st.AgentCLI)
	}
	if err := s.CP.Ready(ctx); err != nil {
		s.report(ctx, "ready", "error", err.Error())
		return fmt.Errorf("ready: %w", err)
	}
	s.report(ctx, "ready", "ok", "workspace ready")
	if err := s.State.Update(func(st *state.State) { st.BootCompleted = true }); err != nil {
		return err
	}
	// After ready: the terminal is usable while a long setup runs, and the control plane's provisioning
	// timeout does not cover the repository's own script.
	s.runSetup(ctx, st.RerunSetup)
	if st.RerunSetup && ctx.Err() == nil {
		return s.State.Update(func(st *state.State) { st.RerunSetup = false })
	}
	return nil
}

func (s *Steps) clone(ctx context.Context, repo controlplane.Repository) {
	if _, err := os.Stat(filepath.Join(s.WorkspaceDir, ".git")); err == nil {
		s.report(ctx, "clone", "ok", "repository already present in "+s.WorkspaceDir)
		return
	}
	s.report(ctx, "clone", "started", "cloning "+repo.FullName)
	if err := s.makeWorkspaceDir(); err != nil {
		s.report(ctx, "clone", "error", err.Error())
		return
	}
	// The token is never in the URL or the config: git asks the helper, which asks this agent.
	args := []string{"-c", "credential.helper=", "-c", "credential.helper=" + s.HelperCommand, "clone"}
	if repo.Branch != "" {
		args = append(args, "--branch", repo.Branch)
	}
	args = append(args, "--", repo.CloneURL, s.WorkspaceDir)
	// Cloned as the user, so the files are theirs; their git reaches the credential socket like any later fetch.
	env := append(slices.Clone(s.UserEnv), "GIT_TERMINAL_PROMPT=0")
	git := func(dir string, args ...string) ([]byte, error) {
		return s.run(ctx, Command{Dir: dir, Env: env, User: s.User, Name: "git", Args: args})
	}
	if out, err := git(s.WorkspaceDir, args...); err != nil {
		s.report(ctx, "clone", "error", fmt.Sprintf("git clone failed: %v: %s", err, lastLine(out)))
		return
	}
	// Later fetches and pushes use the same helper; only the helper command is stored, never a token.
	if out, err := git(s.WorkspaceDir, "config", "--local", "credential.helper", s.HelperCommand); err != nil {
		s.report(ctx, "clone", "error", fmt.Sprintf("git config failed: %v: %s", err, lastLine(out)))
		return
	}
	s.report(ctx, "clone", "ok", "cloned "+repo.FullName+" into "+s.WorkspaceDir)
}

// makeWorkspaceDir creates the (empty) clone target and hands it to the user.
func (s *Steps) makeWorkspaceDir() error {
	if err := os.MkdirAll(s.WorkspaceDir, 0o755); err != nil {
		return fmt.Errorf("workspace dir: %w", err)
	}
	if s.User != nil {
		if err := os.Chown(s.WorkspaceDir, int(s.User.UID), int(s.User.GID)); err != nil {
			return fmt.Errorf("workspace dir: %w", err)
		}
	}
	return nil
}

// installCLI installs the pinned CLI into the root-owned tools prefix with the Node cloud-init installed
// there: the user can run it but not change it, and a persistent home can neither hide nor freeze it.
func (s *Steps) installCLI(ctx context.Context, name string) {
	if name == "" || name == "none" {
		return
	}
	cli, ok := CLIs[name]
	if !ok {
		s.report(ctx, "install-agent-cli", "error", fmt.Sprintf("unknown agent_cli %q", name))
		return
	}
	spec := cli.Package + "@" + cli.Version
	if installedVersion(s.ToolsDir, cli.Package, cli.Command) == cli.Version &&
		(cli.Adapter == "" || installedVersion(s.ToolsDir, cli.Adapter, cli.AdapterCommand) == cli.AdapterVersion) {
		// A SAM image (a snapshot SAM built) holds Node.js and the pinned CLIs already: nothing to download.
		where := "already in " + s.ToolsDir
		if image := imageVersion(s.ToolsDir); image != "" {
			where = "from the SAM image " + image
		}
		s.report(ctx, "install-agent-cli", "ok", fmt.Sprintf("Node.js and %s (%s) %s: nothing to install", spec, cli.Command, where))
		return
	}
	nodeBin := filepath.Join(s.ToolsDir, "node", "bin")
	if _, err := os.Stat(filepath.Join(nodeBin, "npm")); err != nil {
		s.report(ctx, "install-agent-cli", "error", fmt.Sprintf("Node.js and npm are not installed in %s, so %s cannot be installed: cloud-init downloads them before the agent starts, and its download failed or did not match its SHA-256 (see /var/log/cloud-init-output.log on the server). The terminal works without it.", filepath.Join(s.ToolsDir, "node"), spec))
		return
	}
	specs, commands := []string{spec}, []string{cli.Command}
	if cli.Adapter != "" {
		specs = append(specs, cli.Adapter+"@"+cli.AdapterVersion)
		commands = append(commands, cli.AdapterCommand)
	}
	s.report(ctx, "install-agent-cli", "started", "installing "+strings.Join(specs, " ")+" into "+s.ToolsDir)
	env := withPath(s.AgentEnv, nodeBin)
	out, err := s.run(ctx, Command{Env: env, Name: filepath.Join(nodeBin, "npm"), Args: append([]string{
		"install", "--global", "--prefix", s.ToolsDir, "--no-audit", "--no-fund", "--no-update-notifier",
	}, specs...)})
	if err != nil {
		s.report(ctx, "install-agent-cli", "error", fmt.Sprintf("npm install %s failed: %v: %s", strings.Join(specs, " "), err, lastLine(out)))
		return
	}
	for _, command := range commands {
		if _, err := os.Stat(filepath.Join(s.ToolsDir, "bin", command)); err != nil {
			s.report(ctx, "install-agent-cli", "error", fmt.Sprintf("npm installed %s but %s/bin/%s is missing", strings.Join(specs, " "), s.ToolsDir, command))
			return
		}
	}
	s.report(ctx, "install-agent-cli", "ok", fmt.Sprintf("installed %s (%s)", spec, cli.Command))
}

// installedVersion is the version of an npm package under the tools prefix when its command is there too, else "".
func installedVersion(toolsDir, name, command string) string {
	if _, err := os.Stat(filepath.Join(toolsDir, "bin", command)); err != nil {
		return ""
	}
	raw, err := os.ReadFile(filepath.Join(toolsDir, "lib", "node_modules", name, "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(raw, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// imageVersion is the version a SAM image's marker (<tools>/sam-image, key=value lines) names, if any.
func imageVersion(toolsDir string) string {
	raw, err := os.ReadFile(filepath.Join(toolsDir, "sam-image"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "version="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// withPath is env with dir in front of its PATH.
func withPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = p
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+dir+":"+path)
}

func lastLine(out []byte) string {
	out = bytes.TrimSpace(out)
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	return strings.TrimSpace(string(out[:min(len(out), 300)]))
}
