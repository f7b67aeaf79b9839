package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/protocol"
)

// MaxSessions bounds how many sessions one agent runs.
const MaxSessions = 64

// MaxNameLength bounds a session name.
const MaxNameLength = 100

// Options configure a Manager.
type Options struct {
	Shell string
	Dir   string // working directory for new sessions; falls back to the user's home when missing
	Env   []string
	// User is who sessions run as (the VM's `sam`); nil runs them as the agent's own user (tests, benchmarks).
	User            *User
	ScrollbackLines int
	Grace           time.Duration
	Start           Starter
	Logger          *slog.Logger
	// ExtraEnv, if set, is called for each new session: the user's workspace environment variables, put after
	// Env and before the session's own (TERM, SAM_SESSION_ID), which therefore win.
	ExtraEnv func() []string
}

// CreateRequest is what a client may choose for a new session.
type CreateRequest struct {
	Name    string
	Cols    int
	Rows    int
	Command []string
	// Dir, if it is a directory, is where the session starts instead of Options.Dir (a reopened tab).
	Dir string
}

// Manager owns all sessions.
type Manager struct {
	opts Options

	mu       sync.Mutex
	sessions map[string]*Session
	counter  int
	closed   bool
}

// NewManager returns an empty manager.
func NewManager(opts Options) *Manager {
	if opts.Start == nil {
		opts.Start = StartPTY
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Manager{opts: opts, sessions: map[string]*Session{}}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Create starts a new session.
func (m *Manager) Create(req CreateRequest) (*Session, error) {
	cols, rows := req.Cols, req.Rows
	if cols == 0 {
		cols = 80
	}
	if rows == 0 {
		rows = 24
	}
	if !protocol.ValidDimension(cols) || !protocol.ValidDimension(rows) {
		return nil, fmt.Errorf("%w: cols and rows must be 1..%d", protocol.ErrInvalidControl, protocol.MaxDimension)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrSessionGone
	}
	if len(m.sessions) >= MaxSessions {
		m.mu.Unlock()
		return nil, ErrTooMany
	}
	m.counter++
	name := req.Name
	if name == "" {
		name = fmt.Sprintf("Terminal %d", m.counter)
	}
	m.mu.Unlock()

	command := req.Command
	if len(command) == 0 {
		command = []string{m.opts.Shell, "-l"}
	}
	dir := m.opts.Dir
	if req.Dir != "" && isDir(req.Dir) {
		dir = req.Dir
	}
	if !isDir(dir) {
		dir, _ = os.UserHomeDir()
		if m.opts.User != nil {
			dir = m.opts.User.Home
		}
	}
	id := newID()
	env := slices.Clone(m.opts.Env)
	if m.opts.ExtraEnv != nil {
		env = append(env, m.opts.ExtraEnv()...)
	}
	env = append(env, "TERM=xterm-256color", "COLORTERM=truecolor", "SAM_SESSION_ID="+id)
	proc, err := m.opts.Start(Spec{Command: command, Dir: dir, Env: env, Cols: cols, Rows: rows, User: m.opts.User})
	if err != nil {
		return nil, err
	}
	s := newSession(id, name, proc, cols, rows, m.opts.ScrollbackLines, time.Now())
	s.dir = dir
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		s.close()
		return nil, ErrSessionGone
	}
	m.sessions[id] = s
	m.mu.Unlock()
	go s.readLoop()
	m.opts.Logger.Info("session created", "session", id, "command", command[0], "cols", cols, "rows", rows)
	return s, nil
}

// Get returns a session by id.
func (m *Manager) Get(id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, ErrNotFound
	}
	return s, nil
}

// List returns every session, oldest first.
func (m *Manager) List() []*Session {
	m.mu.Lock()
	out := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *Session) int {
		if c := a.createdAt.Compare(b.createdAt); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// Rename changes a session's name.
func (m *Manager) Rename(id, name string) (*Session, error) {
	s, err := m.Get(id)
	if err != nil {
		return nil, err
	}
	s.rename(name)
	return s, nil
}

// Delete kills a session's processes and forgets it.
func (m *Manager) Delete(id string) error {
	m.mu.Lock()
	s, ok := m.sessions[id]
	delete(m.sessions, id)
	m.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	s.close()
	m.opts.Logger.Info("session deleted", "session", id)
	return nil
}

// Close ends every session; used on shutdown.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	all := make([]*Session, 0, len(m.sessions))
	for id, s := range m.sessions {
		all = append(all, s)
		delete(m.sessions, id)
	}
	m.mu.Unlock()
	for _, s := range all {
		s.close()
	}
}

// Shutdown stops taking new sessions and hangs up the existing ones (SIGHUP, as a closing terminal does, so
// shells save their history and editors their recovery files); whatever is still running after grace is killed.
func (m *Manager) Shutdown(grace time.Duration) {
	m.mu.Lock()
	m.closed = true
	all := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		all = append(all, s)
	}
	m.mu.Unlock()
	deadline := time.After(grace)
	for _, s := range all {
		if h, ok := s.proc.(hanger); ok {
			_ = h.Hangup()
		}
	}
	for _, s := range all {
		select {
		case <-s.Done():
		case <-deadline:
		}
	}
	m.Close()
}

// Reap deletes sessions that have had no client for longer than the grace period.
func (m *Manager) Reap(now time.Time) {
	for _, s := range m.List() {
		s.mu.Lock()
		idle := len(s.clients) == 0 && now.Sub(s.lastDetach) > m.opts.Grace
		s.mu.Unlock()
		if idle {
			m.opts.Logger.Info("session grace period over", "session", s.id)
			_ = m.Delete(s.id)
		}
	}
}

// RunReaper calls Reap every interval until ctx ends.
func (m *Manager) RunReaper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.Reap(now)
		}
	}
}

// Activity summarises sessions for the heartbeat.
type Activity struct {
	LastInput       time.Time
	LastOutput      time.Time
	AttachedClients int
	Sessions        int
}

// Activity returns the latest input and output times and the counts across sessions.
func (m *Manager) Activity() Activity {
	var a Activity
	for _, s := range m.List() {
		s.mu.Lock()
		if s.lastInput.After(a.LastInput) {
			a.LastInput = s.lastInput
		}
		if s.lastOutput.After(a.LastOutput) {
			a.LastOutput = s.lastOutput
		}
		a.AttachedClients += len(s.clients)
		s.mu.Unlock()
		a.Sessions++
	}
	return a
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
