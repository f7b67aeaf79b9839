package acp

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	sdk "github.com/coder/acp-go-sdk"
)

type adapter struct {
	cmd    *exec.Cmd
	conn   *sdk.ClientSideConnection
	exited chan struct{}
	stderr *tailBuffer
	caps   sdk.AgentCapabilities
}

func (s *Session) startAdapter() (*adapter, error) {
	c := s.cfg.Command
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	// Its own process group, so stopping it also stops what it started (the agent's shells, its runtime).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Credential}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("adapter stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("adapter stdout: %w", err)
	}
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the coding agent %s: %w", c.Path, err)
	}
	a := &adapter{cmd: cmd, exited: make(chan struct{}), stderr: stderr}
	a.conn = sdk.NewClientSideConnection(&client{s: s}, &promptWatch{w: stdin, sent: func() { s.promptSent(a) }}, stdout)
	a.conn.SetLogger(s.logger.With("component", "acp"))
	s.mu.Lock()
	s.adapter = a
	closed := s.closed
	s.mu.Unlock()
	go s.watch(a)
	if closed {
		a.stop(0)
		return nil, ErrClosed
	}
	return a, nil
}

// watch records the adapter's end; a turn in flight fails and the next one starts a new process.
func (s *Session) watch(a *adapter) {
	err := a.cmd.Wait()
	s.mu.Lock()
	if s.adapter == a {
		s.adapter = nil
	}
	closing := s.closed
	s.mu.Unlock()
	if !closing {
		s.append(KindAdapterExited, map[string]any{"pid": a.cmd.Process.Pid, "status": a.cmd.ProcessState.String(), "stderr": a.stderr.String()})
		s.logger.Warn("coding agent exited", "err", err, "stderr", a.stderr.String())
	}
	close(a.exited)
}

func (a *adapter) stop(grace time.Duration) {
	pgid := -a.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(grace):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-a.exited
	}
}

func (a *adapter) exitSummary() string {
	select {
	case <-a.exited:
		return a.cmd.ProcessState.String()
	default:
		return "still running"
	}
}

// promptMarker is found in a session/prompt request and in no other message the client writes: the
// connection writes one JSON-RPC message per Write, and inside a string (the user's text) the same characters
// are escaped (\"method\").
var promptMarker = []byte(`"method":"` + sdk.AgentMethodSessionPrompt + `"`)

// promptWatch is the adapter's stdin. It tells when a prompt has been written, so a cancel is never written
// before the prompt it cancels (the adapter would ignore it, and the turn would run to its end).
type promptWatch struct {
	w    io.Writer
	sent func()
}

func (p *promptWatch) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err == nil && bytes.Contains(b, promptMarker) {
		p.sent()
	}
	return n, err
}

// tailBuffer keeps the last bytes the adapter wrote to stderr: its crash message, for the event log.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

var _ io.Writer = (*tailBuffer)(nil)
