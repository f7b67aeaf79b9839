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
// more of a long line than the client's scrollback and screen (lines+rows rows) can show of it — which skips
// whole rows of the last line when it alone is that long, or else of the first. It reports whether the start
// is a row start; it is not when the ring holds no line start before end.
func (s *Session) replayStart(end uint64) (uint64, bool) {
	start, ok := s.lineReplayStart(end)
	cols := uint64(s.cols)
	budget := uint64(s.lines + s.rows) // rows
	if !ok || end-start <= budget*cols {
		return start, ok
	}
	last := start
	if s.out.lineStart <= end {
		last = max(last, s.out.lineStart)
	} else if j, found := s.out.lastIndexByte(start, end, '\n'); found {
		last = j + 1
	}
	if end-last > budget*cols {
		// Whole rows of the last line are skipped, so plain text wraps in the replay as it did.
		return last + (end-last-budget*cols+cols-1)/cols*cols, true
	}
	// Every line after the first takes a row at least (the last one counted only if not empty); the first
	// keeps the rows left, and its last row in any case.
	others := uint64(s.out.countNewlines(start, end))
	if last == end {
		others--
	}
	firstEnd, _ := s.out.indexByte(start, end, '\n')
	if keep := max(budget-min(budget, others), 1) * cols; firstEnd-start > keep {
		start += (firstEnd - start - keep + cols - 1) / cols * cols
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
	if j, ok := s.out.nthLastNewline(oldest, to, s.lines+s.rows+1); ok {
		return j + 1, true
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
