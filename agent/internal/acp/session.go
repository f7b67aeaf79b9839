// Package acp runs a coding agent's Agent Client Protocol adapter (Claude Code, Codex) as the workspace user
// and keeps the conversation: every update goes into an append-only event log that browsers read from any
// point, permission requests wait for a person's answer, and a dead adapter is started again and the
// conversation resumed with session/load where the adapter supports it.
package acp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sdk "github.com/coder/acp-go-sdk"
)

// Command is how to start the adapter.
type Command struct {
	Path string
	Args []string
	// Env is the adapter's whole environment: never the real model credential (see modelproxy).
	Env []string
	Dir string
	// Credential runs the adapter as the workspace user; nil keeps the agent's own user (tests).
	Credential *syscall.Credential
}

// Config is what a Session needs.
type Config struct {
	Command Command
	// Workspace is the repository: the conversation's cwd and the only tree fs requests may touch.
	Workspace string
	// LogPath is the event log file.
	LogPath string
	Logger  *slog.Logger
	// StopGrace is how long the adapter gets between SIGTERM and SIGKILL (default 3 s).
	StopGrace time.Duration
	// Mode, if the adapter offers it, is set on every new or reloaded conversation (session/set_mode):
	// Claude Code's "default" asks before edits and commands, where its own default never asks.
	Mode sdk.SessionModeId
}

var (
	// ErrBusy refuses a second prompt while a turn is in flight.
	ErrBusy = errors.New("a turn is already in flight: wait for it or cancel it")
	// ErrClosed is returned once the session has been closed.
	ErrClosed = errors.New("agent session closed")
	// ErrUnknownPermission answers a decision for a request that is not waiting (answered or cancelled).
	ErrUnknownPermission = errors.New("no permission request with that id is waiting")
)

// Outcome is how a prompt turn ended.
type Outcome struct {
	StopReason sdk.StopReason `json:"stopReason"`
	Usage      *sdk.Usage     `json:"usage,omitempty"`
}

// Session is one conversation with one coding agent.
type Session struct {
	cfg    Config
	log    *Log
	logger *slog.Logger
	fs     *workspaceFS

	ctx    context.Context // the session's lifetime: turns run on it, not on a caller's request
	cancel context.CancelFunc

	// loading is set while session/load replays history, which is already in the log.
	loading atomic.Bool
	busy    atomic.Bool

	mu          sync.Mutex
	closed      bool
	adapter     *adapter
	sessionID   sdk.SessionId
	prompts     map[string]*promptRun
	permissions map[string]*pendingPermission
}

type promptRun struct {
	done    chan struct{}
	outcome Outcome
	err     error
}

type pendingPermission struct {
	options []sdk.PermissionOption
	answer  chan *sdk.PermissionOptionId // nil: cancelled
}

type adapter struct {
	cmd    *exec.Cmd
	conn   *sdk.ClientSideConnection
	exited chan struct{}
	stderr *tailBuffer
	caps   sdk.AgentCapabilities
}

// Open starts nothing yet: the adapter is started by the first prompt. Earlier events in the log are kept;
// a conversation found there is resumed when the adapter can load it.
func Open(cfg Config) (*Session, error) {
	if cfg.Workspace == "" || cfg.Command.Path == "" {
		return nil, errors.New("agent session needs a workspace directory and an adapter command")
	}
	fs, err := newWorkspaceFS(cfg.Workspace, cfg.Command.Credential)
	if err != nil {
		return nil, err
	}
	log, err := OpenLog(cfg.LogPath)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 3 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		cfg: cfg, log: log, logger: cfg.Logger, fs: fs, ctx: ctx, cancel: cancel,
		prompts: map[string]*promptRun{}, permissions: map[string]*pendingPermission{},
	}
	s.recover()
	return s, nil
}

// recover reads back from the log the conversation id and the prompts already applied, so a prompt retried
// across an agent restart is not sent twice.
func (s *Session) recover() {
	for _, event := range s.log.EventsAfter(0) {
		switch event.Kind {
		case KindConversationStarted, KindConversationResumed:
			var data struct {
				SessionID sdk.SessionId `json:"sessionId"`
			}
			if json.Unmarshal(event.Data, &data) == nil && data.SessionID != "" {
				s.sessionID = data.SessionID
			}
		case KindPromptEnded:
			var data struct {
				ClientID string `json:"clientId"`
				Outcome
				Error string `json:"error"`
			}
			if json.Unmarshal(event.Data, &data) == nil && data.ClientID != "" {
				run := &promptRun{done: make(chan struct{}), outcome: data.Outcome}
				if data.Error != "" {
					run.err = errors.New(data.Error)
				}
				close(run.done)
				s.prompts[data.ClientID] = run
			}
		}
	}
}

// Log is the session's event log, for readers.
func (s *Session) Log() *Log { return s.log }

// Busy says whether a turn is in flight: activity for the idle check.
func (s *Session) Busy() bool { return s.busy.Load() }

// PID is the adapter's process id, or 0 when none is running.
func (s *Session) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adapter == nil {
		return 0
	}
	return s.adapter.cmd.Process.Pid
}

// Prompt sends one user message and waits for the turn to end. clientID names the message: the same id
// sent again (a browser retrying) does not start a second turn but gets the first one's outcome. The turn
// runs on the session's lifetime, so a caller giving up (ctx) does not stop it; Cancel does.
func (s *Session) Prompt(ctx context.Context, clientID string, prompt []sdk.ContentBlock) (Outcome, error) {
	if clientID == "" {
		return Outcome{}, errors.New("a prompt needs a client id")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Outcome{}, ErrClosed
	}
	run, seen := s.prompts[clientID]
	if !seen {
		if !s.busy.CompareAndSwap(false, true) {
			s.mu.Unlock()
			return Outcome{}, ErrBusy
		}
		run = &promptRun{done: make(chan struct{})}
		s.prompts[clientID] = run
		go s.runTurn(clientID, prompt, run)
	}
	s.mu.Unlock()
	select {
	case <-run.done:
		return run.outcome, run.err
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
}

func (s *Session) runTurn(clientID string, prompt []sdk.ContentBlock, run *promptRun) {
	defer func() {
		ended := map[string]any{"clientId": clientID, "stopReason": run.outcome.StopReason, "usage": run.outcome.Usage}
		if run.err != nil {
			ended["error"] = run.err.Error()
		}
		s.append(KindPromptEnded, ended)
		s.busy.Store(false)
		close(run.done)
	}()
	s.append(KindPromptStarted, map[string]any{"clientId": clientID, "prompt": prompt})
	a, sessionID, err := s.ensureAdapter()
	if err != nil {
		run.err = err
		return
	}
	resp, err := a.conn.Prompt(s.ctx, sdk.PromptRequest{SessionId: sessionID, Prompt: prompt})
	if err != nil {
		run.err = fmt.Errorf("prompt: %w", err)
		select {
		case <-a.conn.Done():
			// The pipe closed: the process is ending. Wait for it, so its exit is logged before the turn's end.
			select {
			case <-a.exited:
				run.err = fmt.Errorf("the coding agent exited during the turn (%s); the next message restarts it", a.exitSummary())
			case <-time.After(s.cfg.StopGrace):
			}
		default:
		}
		return
	}
	run.outcome = Outcome{StopReason: resp.StopReason, Usage: resp.Usage}
}

// Cancel asks the adapter to stop the turn in flight; permission requests still waiting are answered
// "cancelled", as the protocol requires. The turn then ends with stop reason "cancelled".
func (s *Session) Cancel(ctx context.Context) error {
	s.mu.Lock()
	a, sessionID := s.adapter, s.sessionID
	for id, pending := range s.permissions {
		pending.answer <- nil
		delete(s.permissions, id)
	}
	s.mu.Unlock()
	if a == nil || !s.Busy() {
		return nil
	}
	if err := a.conn.Cancel(ctx, sdk.CancelNotification{SessionId: sessionID}); err != nil {
		return fmt.Errorf("send session/cancel: %w", err)
	}
	return nil
}

// Answer delivers a person's decision on a permission request (its id is in the permission_requested
// event); optionID is one of the options offered there (allow_once, allow_always, reject_once…).
func (s *Session) Answer(requestID string, optionID sdk.PermissionOptionId) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pending, ok := s.permissions[requestID]
	if !ok {
		return ErrUnknownPermission
	}
	for _, option := range pending.options {
		if option.OptionId == optionID {
			delete(s.permissions, requestID)
			pending.answer <- &optionID
			return nil
		}
	}
	return fmt.Errorf("option %q was not offered for this request", optionID)
}

// Close stops the adapter (SIGTERM, then SIGKILL after the grace period) and closes the log.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	a := s.adapter
	s.mu.Unlock()
	s.cancel()
	if a != nil {
		a.stop(s.cfg.StopGrace)
	}
	return s.log.Close()
}

// ensureAdapter returns a running adapter with the conversation open, starting one if there is none.
// Only the turn in flight calls it (busy), so two starts cannot race.
func (s *Session) ensureAdapter() (*adapter, sdk.SessionId, error) {
	s.mu.Lock()
	a, sessionID := s.adapter, s.sessionID
	s.mu.Unlock()
	if a != nil {
		select {
		case <-a.exited:
		default:
			return a, sessionID, nil
		}
	}
	a, err := s.startAdapter()
	if err != nil {
		return nil, "", err
	}
	init, err := a.conn.Initialize(s.ctx, sdk.InitializeRequest{
		ProtocolVersion:    sdk.ProtocolVersionNumber,
		ClientCapabilities: sdk.ClientCapabilities{Fs: sdk.FileSystemCapabilities{ReadTextFile: true, WriteTextFile: true}},
		ClientInfo:         &sdk.Implementation{Name: "sam-vm-agent", Title: sdk.Ptr("Simple Agent Manager"), Version: "1"},
	})
	if err != nil {
		a.stop(s.cfg.StopGrace)
		return nil, "", fmt.Errorf("initialize the coding agent (%s): %w", a.exitSummary(), err)
	}
	a.caps = init.AgentCapabilities
	s.append(KindAdapterStarted, map[string]any{"pid": a.cmd.Process.Pid, "agent": init.AgentInfo, "loadSession": init.AgentCapabilities.LoadSession})

	if sessionID != "" && a.caps.LoadSession {
		s.loading.Store(true)
		loaded, err := a.conn.LoadSession(s.ctx, sdk.LoadSessionRequest{SessionId: sessionID, Cwd: s.cfg.Workspace, McpServers: []sdk.McpServer{}})
		s.loading.Store(false)
		if err == nil {
			s.append(KindConversationResumed, map[string]any{"sessionId": sessionID})
			s.setMode(a, sessionID, loaded.Modes)
			return a, sessionID, nil
		}
		s.logger.Warn("coding agent could not load the conversation", "session", sessionID, "err", err)
		return s.newConversation(a, fmt.Sprintf("the coding agent could not reload the conversation (%v), so a new one started", err))
	}
	reason := ""
	if sessionID != "" {
		reason = "the coding agent restarted and cannot reload a conversation, so a new one started: it does not remember earlier messages"
	}
	return s.newConversation(a, reason)
}

func (s *Session) newConversation(a *adapter, reason string) (*adapter, sdk.SessionId, error) {
	created, err := a.conn.NewSession(s.ctx, sdk.NewSessionRequest{Cwd: s.cfg.Workspace, McpServers: []sdk.McpServer{}})
	if err != nil {
		a.stop(s.cfg.StopGrace)
		return nil, "", fmt.Errorf("start a conversation with the coding agent: %w", err)
	}
	s.mu.Lock()
	s.sessionID = created.SessionId
	s.mu.Unlock()
	data := map[string]any{"sessionId": created.SessionId}
	if reason != "" {
		data["reason"] = reason
	}
	s.append(KindConversationStarted, data)
	s.setMode(a, created.SessionId, created.Modes)
	return a, created.SessionId, nil
}

// setMode applies Config.Mode when the adapter offers it; a refusal is logged, not fatal: the conversation
// still works in the adapter's own mode.
func (s *Session) setMode(a *adapter, sessionID sdk.SessionId, modes *sdk.SessionModeState) {
	if s.cfg.Mode == "" || modes == nil || modes.CurrentModeId == s.cfg.Mode {
		return
	}
	for _, mode := range modes.AvailableModes {
		if mode.Id != s.cfg.Mode {
			continue
		}
		if _, err := a.conn.SetSessionMode(s.ctx, sdk.SetSessionModeRequest{SessionId: sessionID, ModeId: s.cfg.Mode}); err != nil {
			s.logger.Warn("coding agent refused the session mode", "mode", s.cfg.Mode, "err", err)
			return
		}
		s.append(KindModeSet, map[string]any{"modeId": s.cfg.Mode})
		return
	}
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
	a.conn = sdk.NewClientSideConnection(&client{s: s}, stdin, stdout)
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

func (s *Session) append(kind string, data any) {
	if _, err := s.log.Append(kind, data); err != nil && !errors.Is(err, ErrLogClosed) {
		s.logger.Error("event log append failed", "kind", kind, "err", err)
	}
}

func newRequestID() string {
	raw := make([]byte, 8)
	_, _ = rand.Read(raw)
	return hex.EncodeToString(raw)
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
