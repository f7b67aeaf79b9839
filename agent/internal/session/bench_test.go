package session

import (
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// benchBytes is what the throughput benchmarks print, the same command as the product benchmark's.
const benchBytes = 64 << 20

var benchCommand = fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", benchBytes)

// BenchmarkPTYThroughput reads benchCommand's output through a session's attach path (Client.Next) and, for
// comparison, straight from a bare PTY, and reports both rates in MB/s (10^6 bytes).
func BenchmarkPTYThroughput(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.ReportMetric(barePTYRate(b), "bare-MB/s")
		b.ReportMetric(sessionRate(b), "session-MB/s")
	}
}

func barePTYRate(b *testing.B) float64 {
	start := time.Now()
	f, err := pty.Start(exec.Command("/bin/sh", "-c", benchCommand))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n, _ := io.CopyBuffer(io.Discard, f, make([]byte, 32<<10))
	if n < benchBytes {
		b.Fatalf("bare PTY: %d bytes", n)
	}
	return float64(n) / time.Since(start).Seconds() / 1e6
}

func sessionRate(b *testing.B) float64 {
	m := NewManager(Options{Shell: "/bin/sh", ScrollbackLines: 5000, Grace: time.Hour, Logger: quietLogger})
	defer m.Close()
	s, err := m.Create(CreateRequest{Command: []string{"/bin/sh", "-c", "sleep 0.2; " + benchCommand}})
	if err != nil {
		b.Fatal(err)
	}
	c, _, _, err := s.Attach()
	if err != nil {
		b.Fatal(err)
	}
	got := 0
	var start time.Time
	for {
		data, _, err := c.Next()
		if err != nil {
			break
		}
		if len(data) == 0 {
			<-c.Wait()
			continue
		}
		if start.IsZero() {
			start = time.Now()
		}
		got += len(data)
	}
	if got < benchBytes {
		b.Fatalf("session: %d bytes", got)
	}
	return float64(got) / time.Since(start).Seconds() / 1e6
}

// BenchmarkIdleSessionMemory reports the live heap each idle session (a shell waiting for input) adds.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const count = 50
	for i := 0; i < b.N; i++ {
		m := NewManager(Options{Shell: "/bin/sh", ScrollbackLines: 5000, Grace: time.Hour, Logger: quietLogger})
		before := liveHeap()
		for j := 0; j < count; j++ {
			s, err := m.Create(CreateRequest{Command: []string{"/bin/sh", "-c", "echo ready; exec cat"}})
			if err != nil {
				b.Fatal(err)
			}
			waitForOutput(b, s, "ready")
		}
		b.ReportMetric(float64(liveHeap()-before)/count/1024, "KiB/session")
		m.Close()
	}
}

// waitForOutput waits until want has been printed, before or after attaching.
func waitForOutput(b *testing.B, s *Session, want string) {
	c, snap, _, err := s.Attach()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Detach()
	seen := string(snap)
	deadline := time.After(10 * time.Second)
	for !strings.Contains(seen, want) {
		data, _, err := c.Next()
		if err != nil {
			b.Fatal(err)
		}
		seen += string(data)
		if len(data) == 0 {
			select {
			case <-c.Wait():
			case <-deadline:
				b.Fatalf("no %q in %q", want, seen)
			}
		}
	}
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// liveHeap is the heap in use plus goroutine stacks after two collections (the second empties sync.Pools).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}
