package server

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/creack/pty"
)

// BenchmarkEchoLatency measures keystroke → echo round trips through a real shell's PTY (stty raw-ish cat).
func BenchmarkEchoLatency(b *testing.B) {
	t := b
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh","-c","stty raw -echo; cat"]}`)
	tr := attachOK(t, e, info.ID)
	ctx := context.Background()
	time.Sleep(300 * time.Millisecond)
	tr.send(t, "READY")
	tr.readUntil(t, "READY")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := tr.conn.Write(ctx, websocket.MessageBinary, []byte{'x'}); err != nil {
			b.Fatal(err)
		}
		for {
			typ, data, err := tr.conn.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if typ == websocket.MessageBinary && len(data) > 0 {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

const throughputCmd = "head -c 100000000 /dev/zero | tr '\\0' 'a' | fold -w 100"

// BenchmarkThroughput compares streaming output through the agent with reading the bare PTY.
func BenchmarkThroughput(b *testing.B) {
	t := b
	e := newEnv(t)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cmd := exec.Command("sh", "-c", throughputCmd)
		f, err := pty.Start(cmd)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 32<<10)
		bare := 0
		for {
			n, err := f.Read(buf)
			bare += n
			if err != nil {
				break
			}
		}
		cmd.Wait()
		bareRate := float64(bare) / time.Since(start).Seconds() / 1e6

		info := e.createSession(t, fmt.Sprintf(`{"command":["/bin/sh","-c",%q]}`, "sleep 0.3; "+throughputCmd))
		tr := attachOK(t, e, info.ID)
		got := 0
		var first time.Time
		for {
			typ, data, err := tr.conn.Read(context.Background())
			if err != nil {
				break
			}
			if typ == websocket.MessageBinary {
				if first.IsZero() {
					first = time.Now()
				}
				got += len(data)
			}
		}
		agentRate := float64(got) / time.Since(first).Seconds() / 1e6
		b.ReportMetric(bareRate, "bare-MB/s")
		b.ReportMetric(agentRate, "agent-MB/s")
	}
}
