// Package acp runs a coding agent's Agent Client Protocol adapter (Claude Code, Codex) as the workspace user
// and keeps the conversation: every update goes into an append-only event log that browsers read from any
// point, permission requests wait for a person's answer, and a dead adapter is started again and the
// conversation resumed with session/load where the adapter supports it.
package acp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
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
	// turn is the turn in flight (nil between turns): where its cancel stands.
	turn *turnState
}

type promptRun struct {
	done    chan struct{}
	outcome Outcome
	err     error
}

// turnState lets a Stop pressed at any moment of a turn end it. session/cancel only reaches a prompt the
// adapter has already received, so a cancel that comes while the adapter starts (initialize, session/new or
// session/load still running) is remembered: the prompt is then never sent, and one that comes after the
// prompt was decided but before it was written is sent just after it.
type turnState struct {
	cancelRequested bool
	// adapter and sessionID are set once the prompt is decided; promptWritten once it is on the adapter's stdin.
	adapter       *adapter
	sessionID     sdk.SessionId
	promptWritten bool
}

type pendingPermission struct {
	options []sdk.PermissionOption
	answer  chan *sdk.PermissionOptionId // nil: cancelled
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
func (s *Session) append(kind string, data any) {
	if _, err := s.log.Append(kind, data); err != nil && !errors.Is(err, ErrLogClosed) {
		s.logger.Error("event log append failed", "kind", kind, "err", err)
	}
}
