package bootstrap

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// Setup limits: a chatty script must not flood the control plane's timeline, nor a stuck one run forever.
const (
	DefaultSetupTimeout = 30 * time.Minute
	setupBatchLines     = 50
	setupBatchBytes     = 4 << 10
	setupBatchEvery     = 2 * time.Second
	setupMaxBytes       = 64 << 10
	setupStep           = "setup"
)

// setupCommand is one program the setup runs, and how it is named on the timeline.
type setupCommand struct {
	label string
	args  []string
}

// setupCommands finds the repository's setup: .sam/setup.sh (bash), else the devcontainer's onCreateCommand
// and postCreateCommand. where names the file they came from ("" when there is none).
func setupCommands(repo string) (cmds []setupCommand, where string, err error) {
	if info, err := os.Stat(filepath.Join(repo, ".sam", "setup.sh")); err == nil && info.Mode().IsRegular() {
		return []setupCommand{{label: ".sam/setup.sh", args: []string{"bash", ".sam/setup.sh"}}}, ".sam/setup.sh", nil
	}
	for _, name := range []string{".devcontainer/devcontainer.json", ".devcontainer.json"} {
		raw, err := os.ReadFile(filepath.Join(repo, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, name, err
		}
		var dc map[string]json.RawMessage
		if err := json.Unmarshal(stripJSONC(raw), &dc); err != nil {
			return nil, name, fmt.Errorf("%s: %w", name, err)
		}
		for _, field := range []string{"onCreateCommand", "postCreateCommand"} {
			more, err := lifecycleCommands(field, dc[field])
			if err != nil {
				return nil, name, fmt.Errorf("%s: %w", name, err)
			}
			cmds = append(cmds, more...)
		}
		return cmds, name, nil
	}
	return nil, "", nil
}

// lifecycleCommands reads a devcontainer lifecycle command: a string runs in a shell, an array is the program
// and its arguments, an object names several of either (run one after another, in name order).
func lifecycleCommands(field string, raw json.RawMessage) ([]setupCommand, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		if strings.TrimSpace(text) == "" {
			return nil, nil
		}
		return []setupCommand{{label: field, args: []string{"sh", "-c", text}}}, nil
	}
	var argv []string
	if json.Unmarshal(raw, &argv) == nil {
		if len(argv) == 0 {
			return nil, nil
		}
		return []setupCommand{{label: field, args: argv}}, nil
	}
	var named map[string]json.RawMessage
	if err := json.Unmarshal(raw, &named); err != nil {
		return nil, fmt.Errorf("%s must be a string, an array or an object", field)
	}
	keys := make([]string, 0, len(named))
	for k := range named {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []setupCommand
	for _, k := range keys {
		one, err := lifecycleCommands(field+"."+k, named[k])
		if err != nil {
			return nil, err
		}
		out = append(out, one...)
	}
	return out, nil
}

// stripJSONC removes // and /* */ comments outside strings and commas before a closing bracket, as
// devcontainer.json allows.
func stripJSONC(in []byte) []byte {
	out := make([]byte, 0, len(in))
	inString, escaped := false, false
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case inString:
			out = append(out, c)
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			out = append(out, c)
		case c == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
			out = append(out, '\n')
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			end := strings.Index(string(in[i+2:]), "*/")
			if end < 0 {
				i = len(in)
			} else {
				i += end + 3
			}
			out = append(out, ' ')
		case c == ']' || c == '}':
			// A trailing comma: drop the last comma if only whitespace follows it.
			j := len(out) - 1
			for j >= 0 && strings.ContainsRune(" \t\r\n", rune(out[j])) {
				j--
			}
			if j >= 0 && out[j] == ',' {
				out = append(out[:j], out[j+1:]...)
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out
}

// setupMarker is what the marker file records.
type setupMarker struct {
	FinishedAt time.Time `json:"finished_at"`
	Source     string    `json:"source"`
	ExitCode   int       `json:"exit_code"`
}

// runSetup runs the repository's setup as the user when the volume has not run it yet (no marker) or the
// control plane asked for it again, streams its output to the timeline and writes the marker after it ends,
// failed or not: a failure is shown, and "Run setup again" is the way to retry. A stop while it runs leaves no
// marker, so the next start runs it again.
func (s *Steps) runSetup(ctx context.Context, rerun bool) {
	if s.SetupMarkerPath == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(s.WorkspaceDir, ".git")); err != nil {
		return // no repository (the clone failed): the next start tries again
	}
	if _, err := os.Stat(s.SetupMarkerPath); err == nil && !rerun {
		return
	}
	cmds, where, err := setupCommands(s.WorkspaceDir)
	switch {
	case err != nil:
		s.report(ctx, setupStep, "error", fmt.Sprintf("cannot read the setup in %s: %v", where, err))
		s.writeSetupMarker(where, -1)
		return
	case len(cmds) == 0:
		msg := "no .sam/setup.sh and no onCreateCommand or postCreateCommand in .devcontainer/devcontainer.json: nothing to set up"
		if where != "" {
			msg = where + " has no onCreateCommand or postCreateCommand: nothing to set up"
		}
		s.report(ctx, setupStep, "ok", msg)
		s.writeSetupMarker(where, 0)
		return
	}
	timeout := s.SetupTimeout
	if timeout == 0 {
		timeout = DefaultSetupTimeout
	}
	env := slices.Clone(s.UserEnv)
	if s.UserVariables != nil {
		env = append(env, s.UserVariables(ctx)...)
	}
	s.report(ctx, setupStep, "started", "running "+where+" as "+s.userName())
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := newSetupOutput(func(msg string) { s.report(ctx, setupStep, "info", msg) })
	code := 0
	for _, c := range cmds {
		if len(cmds) > 1 {
			out.line("$ " + strings.Join(c.args, " ") + "  (" + c.label + ")")
		}
		if code, err = s.runSetupCommand(runCtx, c.args, env, out); err != nil || code != 0 {
			break
		}
	}
	out.close()
	switch {
	case ctx.Err() != nil:
		s.Log.Info("setup interrupted by the agent stopping; it runs again on the next start")
		return
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		s.report(ctx, setupStep, "error", fmt.Sprintf("%s was stopped after %s; use Run setup again to retry", where, timeout))
		code = -1
	case err != nil:
		s.report(ctx, setupStep, "error", fmt.Sprintf("%s could not run: %v", where, err))
		code = -1
	case code != 0:
		s.report(ctx, setupStep, "error", fmt.Sprintf("%s failed with exit code %d; use Run setup again to retry", where, code))
	default:
		s.report(ctx, setupStep, "ok", where+" finished (exit code 0)")
	}
	s.writeSetupMarker(where, code)
}

func (s *Steps) userName() string {
	if s.User != nil {
		return s.User.Name
	}
	return "the agent's user"
}

func (s *Steps) writeSetupMarker(source string, code int) {
	raw, _ := json.Marshal(setupMarker{FinishedAt: time.Now().UTC(), Source: source, ExitCode: code})
	if err := state.WriteFileAtomic(s.SetupMarkerPath, raw); err != nil {
		s.Log.Error("setup marker not written: the setup will run again on the next start", "err", err)
	}
}

// runSetupCommand runs one program in the repository, in its own process group (a timeout ends all of it),
// and returns its exit code.
func (s *Steps) runSetupCommand(ctx context.Context, args, env []string, out *setupOutput) (int, error) {
	cmd := exec.CommandContext(ctx, lookPathIn(args[0], env), args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Dir, cmd.Env = s.WorkspaceDir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.User != nil {
		cmd.SysProcAttr.Credential = s.User.Credential()
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second // a background child holding the output open does not hold the setup
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			out.line(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	<-read
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	default:
		return -1, err
	}
}

// lookPathIn finds name on the PATH of env, as the user's shell would.
func lookPathIn(name string, env []string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(path) {
				candidate := filepath.Join(dir, name)
				if info, err := os.Stat(candidate); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
					return candidate
				}
			}
		}
	}
	return name
}

// setupOutput batches the setup's lines into timeline messages: sent when setupBatchLines or setupBatchBytes
// gather or setupBatchEvery passes, and no more than setupMaxBytes in all; the rest is counted, not sent.
type setupOutput struct {
	send func(string)

	mu      sync.Mutex
	lines   []string
	size    int
	sent    int
	dropped int
	first   time.Time
	kick    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

func newSetupOutput(send func(string)) *setupOutput {
	o := &setupOutput{send: send, kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go o.loop()
	return o
}

func (o *setupOutput) line(text string) {
	if len(text) > 1000 {
		text = text[:1000] + "…"
	}
	o.mu.Lock()
	if o.sent+o.size+len(text)+1 > setupMaxBytes {
		o.dropped++
		o.mu.Unlock()
		return
	}
	if len(o.lines) == 0 {
		o.first = time.Now()
	}
	o.lines = append(o.lines, text)
	o.size += len(text) + 1
	full := len(o.lines) >= setupBatchLines || o.size >= setupBatchBytes
	o.mu.Unlock()
	if full {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
}

func (o *setupOutput) loop() {
	defer close(o.stopped)
	tick := time.NewTicker(setupBatchEvery / 4)
	defer tick.Stop()
	for {
		select {
		case <-o.done:
			o.flush(true)
			return
		case <-o.kick:
			o.flush(false)
		case <-tick.C:
			o.mu.Lock()
			due := len(o.lines) > 0 && time.Since(o.first) >= setupBatchEvery
			o.mu.Unlock()
			if due {
				o.flush(false)
			}
		}
	}
}

func (o *setupOutput) flush(last bool) {
	o.mu.Lock()
	batch := strings.Join(o.lines, "\n")
	o.sent += o.size
	o.lines, o.size = nil, 0
	dropped := o.dropped
	o.mu.Unlock()
	if batch != "" {
		o.send(batch)
	}
	if last && dropped > 0 {
		o.send(fmt.Sprintf("… %d more lines of output not shown", dropped))
	}
}

// close sends what is left and waits for it.
func (o *setupOutput) close() {
	close(o.done)
	<-o.stopped
}
