package session

import "time"

// Flow control. The PTY reader stops reading (so the program blocks on its writes, as on a slow terminal) while
// an attached client or the emulator is more than flowWindow bytes behind. A client that has made no progress
// for stallTimeout while that far behind is stuck: it no longer holds the reader back and is dropped
// (ErrTooSlow) once the ring has overwritten its position.
const (
	flowWindow   = 256 << 10
	stallTimeout = 3 * time.Second
)

// trimEvery is how much output the reader lets through between checks for ring bytes nobody needs any more
// while the program floods the PTY; once it stops (a read of less than quietRead bytes), a chunk's worth is
// enough, so a burst's leftovers are not kept until the next burst.
const (
	trimEvery = 64 << 10
	quietRead = 1 << 10
)

// readLoop is the session's only PTY reader. It reads straight into the ring's free space, so a read costs a
// copy into the kernel's buffer and nothing more; clients and the emulator take it from there.
func (s *Session) readLoop() {
	for {
		s.waitForClients()
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			break
		}
		buf := s.out.tail()
		s.mu.Unlock()
		n, err := s.proc.Read(buf)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			break
		}
		s.out.commit(n)
		if n > 0 {
			s.published(n, n < min(len(buf), quietRead))
		}
		s.mu.Unlock()
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

// published tells clients and the emulator that the ring has n bytes of new output; quiet when the read that
// brought them was short, so the program is not flooding the PTY.
func (s *Session) published(n int, quiet bool) {
	if untrimmed := s.out.written - s.trimmedAt; untrimmed >= trimEvery || quiet && untrimmed >= chunkSize {
		s.trim()
	}
	s.scheduleScreenLocked(quiet)
	s.lastOutput = time.Now()
	streaming.output(n, s.lastOutput)
	for c := range s.clients {
		c.wake()
	}
}

// waitForClients returns once neither the emulator nor an attached client that is still making progress is
// more than flowWindow bytes behind.
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

// holdingBack reports whether the emulator or a client that is not stuck lags more than flowWindow, marking
// stuck clients.
func (s *Session) holdingBack(now time.Time) bool {
	if s.closed {
		return false
	}
	if s.out.written-s.scrOff > flowWindow {
		return true
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

// trim releases the ring bytes that neither a replay, the emulator nor an attached client will read.
func (s *Session) trim() {
	s.trimmedAt = s.out.written
	start, atRowStart := s.replayStart(s.out.written)
	keep := min(start, max(s.scrOff, s.out.oldest()))
	for c := range s.clients {
		keep = min(keep, max(c.off, s.out.oldest()))
	}
	s.trimPending = keep < start
	if keep == start && atRowStart {
		s.rowStartAt = start
	}
	s.out.release(keep)
}
