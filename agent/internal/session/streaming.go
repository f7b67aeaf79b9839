package session

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// While output streams, the agent runs Go code on one P. With more, each PTY read that hands output to a
// client's goroutine wakes a second OS thread; on a 2-vCPU VM those wakeups cost the agent twice the CPU per
// byte streamed, taken from the program producing the output. With one P, though, nothing spins waiting for
// work, so a quiet terminal's keystroke echo waits for a thread to wake from epoll (≈ +0.1 ms at p50): quiet
// terminals keep the default. When a stream ends, the memory its burst left behind goes back to the OS at
// once rather than after the next collections.
const (
	streamWindow = 100 * time.Millisecond
	streamBytes  = 1 << 20 // per streamWindow across sessions: 10 MB/s
	quietAfter   = time.Second
)

type streamGovernor struct {
	mu          sync.Mutex
	windowStart time.Time
	windowBytes int
	lastBusy    time.Time
	single      bool
	disabled    bool // GOMAXPROCS was chosen in the environment, or there is one CPU anyway
}

var streaming = streamGovernor{disabled: os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) == 1}

// output counts n bytes of PTY output read at now and switches between one P and the default.
func (g *streamGovernor) output(n int, now time.Time) {
	if g.disabled {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.windowBytes += n
	if now.Sub(g.windowStart) < streamWindow {
		return
	}
	if g.windowBytes >= streamBytes {
		g.lastBusy = now
	}
	g.windowStart, g.windowBytes = now, 0
	switch busy := now.Sub(g.lastBusy) < quietAfter; {
	case busy && !g.single:
		g.single = true
		runtime.GOMAXPROCS(1)
	case !busy && g.single:
		g.single = false
		runtime.SetDefaultGOMAXPROCS()
		go debug.FreeOSMemory()
	}
}
