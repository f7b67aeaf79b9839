package session

import (
	"github.com/simple-agent-manager/sam/agent/internal/protocol"
	"github.com/simple-agent-manager/sam/agent/internal/screen"
)

// Attach registers a client and returns it with a snapshot that, written to a terminal, restores the
// scrollback and the current screen. Live output starts exactly where the snapshot ends: the emulator is
// caught up to the ring's end and the client placed there under one lock, and the emulator is held (scrMu)
// until its restore is written.
func (s *Session) Attach() (*Client, []byte, protocol.SessionInfo, error) {
	s.scrMu.Lock()
	defer s.scrMu.Unlock()
	s.mu.Lock()
	s.catchUpScreenLocked()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, protocol.SessionInfo{}, ErrSessionGone
	}
	pending := s.scr.Pending()
	end := s.out.written - uint64(len(pending))
	start, _ := s.replayStart(end)
	replay := make([]byte, int(end-start))
	s.out.readAt(replay, start)
	c := newClient(s)
	s.clients[c] = struct{}{}
	info := s.infoLocked()
	s.mu.Unlock()

	snap := make([]byte, 0, len(replay)+8192)
	snap = append(snap, "\x1bc"...)
	snap = screen.Sanitize(snap, replay)
	snap = s.scr.AppendRestore(snap)
	snap = append(snap, pending...)
	return c, snap, info, nil
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
