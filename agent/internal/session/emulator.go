package session

// screenBatch is how far the emulator may fall behind the output before a goroutine catches it up (a chunk
// once the output pauses, so the ring can let go of it). Until then it waits: an attach or a resize catches
// it up first, so a quiet session's last bytes cost nothing until someone needs its screen, and a busy one's
// are parsed in batches off the PTY reader's path.
const screenBatch = 64 << 10

// lockedRounds: after this many batches of catching up without the session lock (output keeps coming), the
// rest is parsed holding it, so catching up always ends.
const lockedRounds = 64

// scheduleScreenLocked starts a catch-up when the emulator is far enough behind and none is running.
func (s *Session) scheduleScreenLocked(quiet bool) {
	batch := uint64(screenBatch)
	if quiet {
		batch = chunkSize
	}
	if s.scrRunning || s.out.written-s.scrOff < batch {
		return
	}
	s.scrRunning = true
	go func() {
		s.scrMu.Lock()
		defer s.scrMu.Unlock()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.catchUpScreenLocked()
		s.scrRunning = false
		if s.trimPending {
			s.trim()
		}
	}()
}

// catchUpScreenLocked feeds the emulator every ring byte it has not seen. It is called, and returns, with
// s.scrMu and s.mu held; it parses without s.mu, on bytes borrowed from the ring, so the PTY reader and the
// clients carry on meanwhile. On return the emulator has seen exactly s.out.written bytes (unless closed).
func (s *Session) catchUpScreenLocked() {
	for round := 0; s.scrOff < s.out.written && !s.closed; round++ {
		seg, c := s.out.lend(s.scrOff)
		if round < lockedRounds {
			s.mu.Unlock()
			s.scr.Write(seg)
			s.mu.Lock()
		} else {
			s.scr.Write(seg)
		}
		s.out.giveBack(c)
		s.scrOff += uint64(len(seg))
		s.signalProgress()
	}
}
