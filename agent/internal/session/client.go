package session

import "time"

// MaxNextSize is the most output one call of Next returns.
const MaxNextSize = chunkSize

// Client is one attachment. Its position in the output ring is its queue: the reader waits while it is more
// than flowWindow behind, unless it is stuck; a stuck client overtaken by the ring is dropped and must reattach
// for a fresh snapshot.
type Client struct {
	s          *Session
	off        uint64
	progressAt time.Time // when it last read output or had nothing to read
	stuck      bool
	notify     chan struct{}
	borrowed   *chunk // holds the bytes the last Next returned
	gone       bool
}

func newClient(s *Session) *Client {
	return &Client{s: s, off: s.out.written, progressAt: time.Now(), notify: make(chan struct{}, 1)}
}

func (c *Client) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Wait returns a channel that receives when there may be something for Next.
func (c *Client) Wait() <-chan struct{} { return c.notify }

// Next returns the next output bytes (valid until the following call or Detach), or nil when nothing is
// pending. It returns ErrTooSlow, ErrSessionGone or ErrExited (with the exit code) when the attachment must end.
// The bytes are the ring's own memory, at most one chunk: the client writes them out without a copy of its own.
func (c *Client) Next() ([]byte, int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.giveBack(c.borrowed)
	c.borrowed = nil
	if s.closed {
		return nil, 0, ErrSessionGone
	}
	if c.off < s.out.oldest() {
		return nil, 0, ErrTooSlow
	}
	c.progressAt = time.Now()
	if c.off < s.out.written {
		data, borrowed := s.out.lend(c.off)
		c.borrowed = borrowed
		c.off += uint64(len(data))
		if c.off < s.out.written {
			c.wake()
		} else if s.trimPending {
			s.trim()
		}
		s.signalProgress()
		return data, 0, nil
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
	s.out.giveBack(c.borrowed)
	c.borrowed = nil
	delete(s.clients, c)
	if s.trimPending {
		s.trim()
	}
	s.signalProgress()
	if len(s.clients) == 0 {
		s.lastDetach = time.Now()
	}
}
