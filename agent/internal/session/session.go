// Package session holds terminal sessions: a process on a PTY that outlives its WebSocket connections, with
// a single reader goroutine that feeds the screen emulator, the output ring and every attached client.
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

const readBufferSize = 32 << 10

// Flow control. The PTY reader stops reading (so the program blocks on its writes, as on a slow terminal) while
// an attached client is more than flowWindow bytes behind. A client that has made no progress for
// stallTimeout while that far behind is stuck: it no longer holds the reader back and is dropped (ErrTooSlow)
// once the ring has overwritten its position.
const (
	flowWindow   = 256 << 10
	stallTimeout = 3 * time.Second
)

// trimEvery is how much output the reader lets through between checks for ring bytes nobody needs any more.
const trimEvery = 64 << 10

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
	// rowStartAt is an offset known to begin a row: when the ring starts there, a replay may start there too.
	rowStartAt  uint64
	trimmedAt   uint64 // s.out.written at the last trim
	trimPending bool   // the last trim kept bytes only because a client had not read them yet
	progress    chan struct{}
	scr         *screen.Screen
	clients     map[*Client]struct{}
	exited      bool
	exitCode    int
	closed      bool // deleted or agent shutting down
	lastDetach  time.Time
	lastInput   time.Time
	lastOutput  time.Time
	done        chan struct{} // closed when the process has exited and output is drained
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

// readLoop is the session's only PTY reader. Output goes to the ring and the emulator under one lock, so an
// attach sees a snapshot and an offset that line up exactly.
func (s *Session) readLoop() {
	buf := make([]byte, readBufferSize)
	for {
		s.waitForClients()
		n, err := s.proc.Read(buf)
		if n > 0 {
			s.mu.Lock()
			if !s.closed {
				s.out.write(buf[:n])
				s.scr.Write(buf[:n])
				if s.out.written-s.trimmedAt >= trimEvery {
					s.trim()
				}
			}
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

// waitForClients returns once no attached client that is still making progress is more than flowWindow
// bytes behind.
func (s *Session) waitForClients() {
	var timer *time.Timer
	for {
		s.mu.Lock()
		wait := s.holdingBack(time.Now())
		s.mu.Unlock()
		if !wait {
			return
		}
		if timer == nil {
			timer = time.NewTimer(stallTimeout)
			defer timer.Stop()
		} else {
			timer.Reset(stallTimeout)
		}
		select {
		case <-s.progress:
		case <-timer.C:
		}
	}
}

// holdingBack reports whether a client that is not stuck lags more than flowWindow, marking stuck ones.
func (s *Session) holdingBack(now time.Time) bool {
	if s.closed {
		return false
	}
	for c := range s.clients {
		if s.out.written-c.off <= flowWindow {
			c.stuck = false
			continue
		}
		if now.Sub(c.progressAt) > stallTimeout {
			c.stuck = true
		}
		if !c.stuck {
			return true
		}
	}
	return false
}

// signalProgress lets a reader waiting for clients look again.
func (s *Session) signalProgress() {
	select {
	case s.progress <- struct{}{}:
	default:
	}
}

// trim releases the ring bytes that neither a replay nor an attached client will read.
func (s *Session) trim() {
	s.trimmedAt = s.out.written
	start, atRowStart := s.replayStart(s.out.written)
	keep := start
	for c := range s.clients {
		keep = min(keep, max(c.off, s.out.oldest()))
	}
	s.trimPending = keep < start
	if keep == start && atRowStart {
		s.rowStartAt = start
	}
	s.out.release(keep)
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
	start, _ := s.replayStart(end)
	replay := make([]byte, int(end-start))
	s.out.readAt(replay, start)
	snap := make([]byte, 0, len(replay)+8192)
	snap = append(snap, "\x1bc"...)
	snap = screen.Sanitize(snap, replay)
	snap = s.scr.AppendRestore(snap)
	snap = append(snap, pending...)
	c := &Client{s: s, off: s.out.written, progressAt: time.Now(), notify: make(chan struct{}, 1), buf: make([]byte, readBufferSize)}
	s.clients[c] = struct{}{}
	return c, snap, s.infoLocked(), nil
}

// replayStart finds where the replay begins: at a row start, with at most lines+rows lines before end, and no
// more of a last line than fills lines+rows rows (a longer one would scroll out of the client's scrollback).
// It reports whether the start is a row start; it is not when the ring holds no line start before end.
func (s *Session) replayStart(end uint64) (uint64, bool) {
	start, ok := s.lineReplayStart(end)
	cols := uint64(s.cols)
	rowsBytes := uint64(s.lines+s.rows) * cols
	if !ok || end-start <= rowsBytes {
		return start, ok
	}
	last := start
	if s.out.lineStart <= end {
		last = max(last, s.out.lineStart)
	} else if j, found := s.out.lastIndexByte(start, end, '\n'); found {
		last = j + 1
	}
	if end-last > rowsBytes {
		// Whole rows of the last line are skipped, so plain text wraps in the replay as it did.
		start = last + (end-last-rowsBytes+cols-1)/cols*cols
	}
	return start, true
}

// lineReplayStart is replayStart without the limit on the last line: it starts at a line start, or at rowStartAt.
func (s *Session) lineReplayStart(end uint64) (uint64, bool) {
	oldest := s.out.oldest()
	if end <= oldest {
		return end, oldest == s.rowStartAt
	}
	to := end
	if s.out.lineStart <= end {
		to = max(oldest, s.out.lineStart) // nothing after lineStart is a newline
	}
	for count := 1; ; count++ {
		j, ok := s.out.lastIndexByte(oldest, to, '\n')
		if !ok {
			break
		}
		if count > s.lines+s.rows {
			return j + 1, true
		}
		to = j
	}
	if oldest == s.rowStartAt {
		return oldest, true // the ring starts at a row start: at the beginning of history or where trim cut it
	}
	// The oldest held byte is mid-line: start after the first newline, or nowhere if there is none.
	if j, ok := s.out.indexByte(oldest, end, '\n'); ok {
		return j + 1, true
	}
	return end, false
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
	s.out.free()
	for c := range s.clients {
		c.wake()
	}
	s.mu.Unlock()
	s.signalProgress()
	_ = s.proc.Kill()
	_ = s.proc.Close()
}

// Client is one attachment. Its position in the output ring is its queue: the reader waits while it is more
// than flowWindow behind, unless it is stuck; a stuck client overtaken by the ring is dropped and must reattach
// for a fresh snapshot.
type Client struct {
	s          *Session
	off        uint64
	progressAt time.Time // when it last read output or had nothing to read
	stuck      bool
	notify     chan struct{}
	buf        []byte
	gone       bool
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
	c.progressAt = time.Now()
	if c.off < s.out.written {
		n := s.out.readAt(c.buf, c.off)
		c.off += uint64(n)
		if c.off < s.out.written {
			c.wake()
		} else if s.trimPending {
			s.trim()
		}
		s.signalProgress()
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
	if s.trimPending {
		s.trim()
	}
	s.signalProgress()
	if len(s.clients) == 0 {
		s.lastDetach = time.Now()
	}
}
