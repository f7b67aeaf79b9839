// Package session holds terminal sessions: a process on a PTY that outlives its WebSocket connections. One
// reader goroutine per session moves PTY output into a ring of recent output; every attached client reads the
// ring at its own position, and the screen emulator catches up with it in batches off the reader's path.
package session

import (
	"errors"
	"sync"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/protocol"
	"github.com/simple-agent-manager/sam/agent/internal/screen"
)

// Expected ends of an attachment.
var (
	ErrNotFound    = errors.New("session not found")
	ErrSessionGone = errors.New("session was closed")
	ErrExited      = errors.New("session process exited")
	ErrTooSlow     = errors.New("client fell behind the output")
	ErrTooMany     = errors.New("too many sessions")
)

// bytesPerLine sizes the output ring from the scrollback line count: the ring holds at least that many lines
// as long as they average no more than this (escape sequences included).
const bytesPerLine = 256

// Session is one terminal: a process on a PTY plus what attached clients need to see it.
type Session struct {
	id        string
	createdAt time.Time
	proc      Process
	lines     int // scrollback lines to replay

	inputMu sync.Mutex // keeps each client's input frame contiguous

	// scrMu guards scr and is held by whoever feeds it; taken before mu, never while holding mu.
	scrMu sync.Mutex
	scr   *screen.Screen

	mu         sync.Mutex
	name       string
	cols, rows int
	out        *ring
	// rowStartAt is an offset known to begin a row: when the ring starts there, a replay may start there too.
	rowStartAt  uint64
	trimmedAt   uint64 // s.out.written at the last trim
	trimPending bool   // the last trim kept bytes only because a client had not read them yet
	scrOff      uint64 // output the emulator has seen: [0, scrOff)
	scrRunning  bool   // a goroutine is catching the emulator up
	progress    chan struct{}
	clients     map[*Client]struct{}
	exited      bool
	exitCode    int
	closed      bool // deleted or agent shutting down
	lastDetach  time.Time
	lastInput   time.Time
	lastOutput  time.Time
	done        chan struct{} // closed when the process has exited and output is drained
	dir         string        // the shell's directory when last looked at (Cwd)
}

func newSession(id, name string, proc Process, cols, rows, lines int, now time.Time) *Session {
	return &Session{
		id: id, name: name, createdAt: now, proc: proc, lines: lines,
		cols: cols, rows: rows,
		// Flow control keeps the emulator and live clients within flowWindow of the end, so a ring larger
		// than that never overwrites output they have not read.
		out:        newRing(max(lines*bytesPerLine, 2*flowWindow)),
		scr:        screen.New(cols, rows),
		clients:    map[*Client]struct{}{},
		lastDetach: now,
		done:       make(chan struct{}),
		progress:   make(chan struct{}, 1),
	}
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Done is closed once the process has exited.
func (s *Session) Done() <-chan struct{} { return s.done }

// Info describes the session for HTTP answers and hello messages.
func (s *Session) Info() protocol.SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infoLocked()
}

func (s *Session) infoLocked() protocol.SessionInfo {
	info := protocol.SessionInfo{
		ID: s.id, Name: s.name, CreatedAt: s.createdAt.UTC().Format(time.RFC3339),
		Cols: s.cols, Rows: s.rows, AttachedClients: len(s.clients), Exited: s.exited,
	}
	if s.exited {
		code := s.exitCode
		info.ExitCode = &code
	}
	return info
}

// WriteInput sends keyboard input to the process.
func (s *Session) WriteInput(p []byte) error {
	s.mu.Lock()
	s.lastInput = time.Now()
	closed := s.closed || s.exited
	s.mu.Unlock()
	if closed {
		return ErrExited
	}
	s.inputMu.Lock()
	defer s.inputMu.Unlock()
	_, err := s.proc.Write(p)
	return err
}

// Resize sets the PTY and emulator size; the last client to resize wins. The emulator first sees all output
// read so far, which the program wrote for the old size.
func (s *Session) Resize(cols, rows int) error {
	if !protocol.ValidDimension(cols) || !protocol.ValidDimension(rows) {
		return protocol.ErrInvalidControl
	}
	s.scrMu.Lock()
	defer s.scrMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cols == cols && s.rows == rows {
		return nil
	}
	s.catchUpScreenLocked()
	if s.closed {
		return ErrSessionGone
	}
	if !s.exited {
		if err := s.proc.Resize(cols, rows); err != nil {
			return err
		}
	}
	s.cols, s.rows = cols, rows
	s.scr.Resize(cols, rows)
	return nil
}

func (s *Session) rename(name string) {
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
}

// close kills the process and ends every attachment with ErrSessionGone.
func (s *Session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.out.free()
	for c := range s.clients {
		c.wake()
	}
	s.mu.Unlock()
	s.signalProgress()
	_ = s.proc.Kill()
	_ = s.proc.Close()
}
