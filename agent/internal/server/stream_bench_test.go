package server

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// streamBytes and streamCommand are the product benchmark's throughput workload.
const streamBytes = 64 << 20

var streamCommand = fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", streamBytes)

// readBinary reads binary frames into a reused buffer until at least want bytes arrived or the socket ends,
// and returns how many arrived and in how many messages.
func readBinary(ctx context.Context, conn *websocket.Conn, want int) (got, messages int) {
	buf := make([]byte, 64<<10)
	for got < want {
		typ, r, err := conn.Reader(ctx)
		if err != nil {
			return got, messages
		}
		if typ != websocket.MessageBinary {
			_, _ = io.Copy(io.Discard, r)
			continue
		}
		messages++
		for {
			n, err := r.Read(buf)
			got += n
			if err != nil {
				break
			}
		}
	}
	return got, messages
}

// BenchmarkAttachThroughput streams streamCommand's output through the WebSocket attach path to a client
// in this process and reports MB/s (10^6 bytes) from the first output byte to the last.
func BenchmarkAttachThroughput(b *testing.B) {
	e := newEnv(b)
	for i := 0; i < b.N; i++ {
		info := e.createSession(b, fmt.Sprintf(`{"command":["/bin/sh","-c",%q]}`, "sleep 0.3; "+streamCommand))
		tr := attachOK(b, e, info.ID)
		ctx := context.Background()
		first, _ := readBinary(ctx, tr.conn, 1)
		start := time.Now()
		got, messages := readBinary(ctx, tr.conn, streamBytes)
		got += first
		if got < streamBytes {
			b.Fatalf("only %d bytes", got)
		}
		b.ReportMetric(float64(got)/time.Since(start).Seconds()/1e6, "agent-MB/s")
		b.ReportMetric(float64(got)/float64(messages)/1024, "KiB/message")
	}
}

// BenchmarkStreamingSessionsMemory is the product benchmark's memory load: 50 sessions, each with a client,
// printing 2 MB at once and then a line every 100 ms; sampled 2 s after every client has its 2 MB. It reports
// the live heap and stacks the sessions add, in total and per session (the clients' share included).
func BenchmarkStreamingSessionsMemory(b *testing.B) {
	const count, burst = 50, 2_000_000
	command := fmt.Sprintf("sleep 0.5; head -c %d /dev/zero | tr '\\0' y; while :; do echo tick $(date +%%s%%N); sleep 0.1; done", burst)
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		before := liveHeap()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		arrived := make(chan int, count)
		for j := 0; j < count; j++ {
			info := e.createSession(b, fmt.Sprintf(`{"command":["/bin/sh","-c",%q]}`, command))
			tr := attachOK(b, e, info.ID)
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, _ := readBinary(ctx, tr.conn, burst)
				arrived <- got
				readBinary(ctx, tr.conn, 1<<62)
			}()
		}
		for j := 0; j < count; j++ {
			if got := <-arrived; got < burst {
				b.Fatalf("a client got %d bytes", got)
			}
		}
		time.Sleep(2 * time.Second)
		grown := float64(liveHeap()-before) / (1 << 20)
		b.ReportMetric(grown, "MiB-total")
		b.ReportMetric(grown/count*1024, "KiB/session")
		cancel()
		wg.Wait()
	}
}

// liveHeap is the heap in use plus goroutine stacks after two collections (the second empties sync.Pools).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}
