// Package session holds terminal sessions: a process on a PTY that outlives its WebSocket connections, with
// a single reader goroutine that feeds the screen emulator, the output ring and every attached client.
package session

import (
	"bytes"
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

const readBufferSize = 32 << 10

// Session is one terminal: a process on a PTY plus what attached clients need to see it.
type Session struct {
	id        string
	createdAt time.Time
	proc      Process
	lines     int // scrollback lines to replay

	inputMu sync.Mutex // keeps each client's input frame contiguous

	mu         sync.Mutex
	name       string
	cols, rows int
	out        *ring
	scr        *screen.Screen
	clients    map[*Client]struct{}
	exited     bool
	exitCode   int
	closed     bool // deleted or agent shutting down
	lastDetach time.Time
	lastInput  time.Time
	lastOutput time.Time
	done       chan struct{} // closed when the process has exited and output is drained
}

func newSession(id, name string, proc Process, cols, rows, lines int, now time.Time) *Session {
	return &Session{
		id: id, name: name, createdAt: now, proc: proc, lines: lines,
		cols: cols, rows: rows,
		out:        newRing(lines * bytesPerLine),
		scr:        screen.New(cols, rows),
		clients:    map[*Client]struct{}{},
		lastDetach: now,
		done:       make(chan struct{}),
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

// readLoop is the session's only PTY reader. Output goes to the ring and the emulator under one lock, so an
// attach sees a snapshot and an offset that line up exactly.
func (s *Session) readLoop() {
	buf := make([]byte, readBufferSize)
	for {
		n, err := s.proc.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.out.write(buf[:n])
			s.scr.Write(buf[:n])
			s.lastOutput = time.Now()
			for c := range s.clients {
				c.wake()
			}
			s.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	code, err := s.proc.Wait()
	if err != nil {
		code = -1
	}
	s.mu.Lock()
	s.exited = true
	s.exitCode = code
	for c := range s.clients {
		c.wake()
	}
	s.mu.Unlock()
	_ = s.proc.Close() // the PTY is done; release its descriptor now rather than when the session is removed
	close(s.done)
}

// Attach registers a client and returns it with a snapshot that, written to a terminal, restores the
// scrollback and the current screen. Live output starts exactly where the snapshot ends.
func (s *Session) Attach() (*Client, []byte, protocol.SessionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, protocol.SessionInfo{}, ErrSessionGone
	}
	pending := s.scr.Pending()
	end := s.out.written - uint64(len(pending))
	start := s.replayStart(end)
	replay := make([]byte, int(end-start))
	s.out.readAt(replay, start)
	snap := make([]byte, 0, len(replay)+8192)
	snap = append(snap, "\x1bc"...)
	snap = screen.Sanitize(snap, replay)
	snap = s.scr.AppendRestore(snap)
	snap = append(snap, pending...)
	c := &Client{s: s, off: s.out.written, notify: make(chan struct{}, 1), buf: make([]byte, readBufferSize)}
	s.clients[c] = struct{}{}
	return c, snap, s.infoLocked(), nil
}

// replayStart finds where the replay begins: at a line start, with at most lines+rows lines before end.
func (s *Session) replayStart(end uint64) uint64 {
	oldest := s.out.oldest()
	if end <= oldest {
		return end
	}
	first, second := s.out.segments(oldest, end)
	want := s.lines + s.rows
	count := 0
	// Scan backwards for newlines, newest segment first, without copying the ring.
	for _, seg := range []struct {
		data []byte
		base uint64
	}{{second, oldest + uint64(len(first))}, {first, oldest}} {
		i := len(seg.data)
		for {
			j := bytes.LastIndexByte(seg.data[:i], '\n')
			if j < 0 {
				break
			}
			count++
			if count > want {
				return seg.base + uint64(j+1)
			}
			i = j
		}
	}
	if oldest == 0 {
		return 0 // the whole history is here; start at its beginning
	}
	// The oldest held byte is mid-line: start after the first newline, or nowhere if there is none.
	for _, seg := range []struct {
		data []byte
		base uint64
	}{{first, oldest}, {second, oldest + uint64(len(first))}} {
		if j := bytes.IndexByte(seg.data, '\n'); j >= 0 {
			return seg.base + uint64(j+1)
		}
	}
	return end
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

// Resize sets the PTY and emulator size; the last client to resize wins.
func (s *Session) Resize(cols, rows int) error {
	if !protocol.ValidDimension(cols) || !protocol.ValidDimension(rows) {
		return protocol.ErrInvalidControl
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cols == cols && s.rows == rows {
		return nil
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
	for c := range s.clients {
		c.wake()
	}
	s.mu.Unlock()
	_ = s.proc.Kill()
	_ = s.proc.Close()
}

// Client is one attachment. Its position in the output ring is its queue: the ring bounds how far it can
// fall behind, and a client overtaken by the ring is dropped and must reattach for a fresh snapshot.
type Client struct {
	s      *Session
	off    uint64
	notify chan struct{}
	buf    []byte
	gone   bool
}

func (c *Client) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Wait returns a channel that receives when there may be something for Next.
func (c *Client) Wait() <-chan struct{} { return c.notify }

// Next returns the next output bytes (valid until the following call), or nil when nothing is pending. It
// returns ErrTooSlow, ErrSessionGone or ErrExited (with the exit code) when the attachment must end.
func (c *Client) Next() ([]byte, int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, ErrSessionGone
	}
	if c.off < s.out.oldest() {
		return nil, 0, ErrTooSlow
	}
	if c.off < s.out.written {
		n := s.out.readAt(c.buf, c.off)
		c.off += uint64(n)
		if c.off < s.out.written {
			c.wake()
		}
		return c.buf[:n], 0, nil
	}
	if s.exited {
		return nil, s.exitCode, ErrExited
	}
	return nil, 0, nil
}

// Detach removes the client; the session's grace period starts when the last one leaves.
func (c *Client) Detach() {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.gone {
		return
	}
	c.gone = true
	delete(s.clients, c)
	if len(s.clients) == 0 {
		s.lastDetach = time.Now()
	}
}
