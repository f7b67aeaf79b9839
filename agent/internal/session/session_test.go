package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/screen"
)

// fakeProcess is a Process whose output the test writes and whose input the test reads.
type fakeProcess struct {
	outR *io.PipeReader
	outW *io.PipeWriter
	mu   sync.Mutex
	in   bytes.Buffer
	exit chan int
}

func newFake() *fakeProcess {
	r, w := io.Pipe()
	return &fakeProcess{outR: r, outW: w, exit: make(chan int, 1)}
}

func (f *fakeProcess) Read(p []byte) (int, error) { return f.outR.Read(p) }
func (f *fakeProcess) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.in.Write(p)
}
func (f *fakeProcess) Close() error          { return f.outR.Close() }
func (f *fakeProcess) Resize(int, int) error { return nil }
func (f *fakeProcess) Wait() (int, error)    { return <-f.exit, nil }
func (f *fakeProcess) Kill() error           { f.outW.Close(); f.exitOnce(137); return nil }
func (f *fakeProcess) exitOnce(code int) {
	select {
	case f.exit <- code:
	default:
	}
}

func newFakeManager(t *testing.T, fake *fakeProcess) *Manager {
	t.Helper()
	m := NewManager(Options{Shell: "/bin/sh", ScrollbackLines: 5000, Grace: time.Hour,
		Start: func(Spec) (Process, error) { return fake, nil }})
	t.Cleanup(m.Close)
	return m
}

// drain collects a client's output until want has been seen or the deadline passes.
func drain(t *testing.T, c *Client, want string) string {
	t.Helper()
	var got bytes.Buffer
	deadline := time.After(5 * time.Second)
	for !strings.Contains(got.String(), want) {
		b, _, err := c.Next()
		if err != nil {
			t.Fatalf("Next: %v (got %d bytes)", err, got.Len())
		}
		got.Write(b)
		if b == nil {
			select {
			case <-c.Wait():
			case <-deadline:
				t.Fatalf("timed out waiting for %q, got %q", want, got.String())
			}
		}
	}
	return got.String()
}

// readN reads n bytes of a client's output.
func readN(t *testing.T, c *Client, n int) {
	t.Helper()
	for got := 0; got < n; {
		b, _, err := c.Next()
		if err != nil {
			t.Fatalf("Next: %v after %d bytes", err, got)
		}
		got += len(b)
		if b == nil {
			select {
			case <-c.Wait():
			case <-time.After(5 * time.Second):
				t.Fatalf("timed out after %d of %d bytes", got, n)
			}
		}
	}
}

func TestSnapshotThenLiveHasNoGapOrDuplicate(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, err := m.Create(CreateRequest{Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	first, _, _, _ := s.Attach()
	fake.outW.Write([]byte("one\r\ntwo\r\n"))
	drain(t, first, "two")

	second, snap, info, err := s.Attach()
	if err != nil {
		t.Fatal(err)
	}
	if info.AttachedClients != 2 {
		t.Fatalf("attached = %d", info.AttachedClients)
	}
	fake.outW.Write([]byte("three\r\n"))
	live := drain(t, second, "three")
	if strings.Contains(live, "two") || strings.Count(string(snap), "three") != 0 {
		t.Fatalf("overlap: snapshot %q live %q", snap, live)
	}
	term := screen.New(80, 24)
	term.Write(snap)
	term.Write([]byte(live))
	for y, want := range []string{"one", "two", "three"} {
		if got := term.Line(y); got != want {
			t.Fatalf("line %d = %q, want %q", y, got, want)
		}
	}
}

func TestSlowClientSlowsTheOutputAndGetsEveryByte(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{})
	c, _, _, _ := s.Attach()
	total := 3 * s.out.limit
	go func() {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for written := 0; written < total; written += len(chunk) {
			fake.outW.Write(chunk)
		}
	}()
	got := 0
	for got < total {
		b, _, err := c.Next()
		if err != nil {
			t.Fatalf("slow client: %v after %d bytes", err, got)
		}
		got += len(b)
		s.mu.Lock()
		held := s.out.written - s.out.oldest()
		s.mu.Unlock()
		if held > uint64(s.out.limit) {
			t.Fatalf("ring holds %d bytes", held)
		}
		if b == nil {
			<-c.Wait()
		}
		time.Sleep(time.Millisecond)
	}
	if lag := s.Info(); lag.AttachedClients != 1 {
		t.Fatalf("info = %+v", lag)
	}
}

func TestRingKeepsOnlyWhatReplayAndClientsNeed(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{Cols: 80, Rows: 24})
	c, _, _, _ := s.Attach()
	line := []byte(strings.Repeat("y", 99) + "\n")
	go func() {
		for range 20000 {
			fake.outW.Write(line)
		}
		fake.outW.Write(bytes.Repeat([]byte("z"), trimEvery))
	}()
	readN(t, c, 20000*len(line)+trimEvery)
	s.mu.Lock()
	held := s.out.written - s.out.oldest()
	s.mu.Unlock()
	// 5000 lines of scrollback and 24 rows of 100 bytes (the oldest line only its last row of 80 columns, as
	// the others fill the rows), the unfinished line, and no more than a chunk beyond.
	if want := uint64(5024*100 - 80 + trimEvery); held < want || held > want+100 {
		t.Fatalf("ring holds %d bytes, want %d", held, want)
	}
	_, snap, _, _ := s.Attach()
	if n := bytes.Count(snap, []byte("\n")); n < 5000 {
		t.Fatalf("snapshot has %d lines", n)
	}
}

func TestLongLineKeepsOnlyTheRowsScrollbackShows(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{Cols: 80, Rows: 24})
	c, _, _, _ := s.Attach()
	const burst = 1 << 20
	go fake.outW.Write(bytes.Repeat([]byte("y"), burst))
	readN(t, c, burst)
	s.mu.Lock()
	s.trim()
	held := s.out.written - s.out.oldest()
	s.mu.Unlock()
	rows := uint64(5024 * 80)
	if held+80 <= rows || held > rows || s.out.oldest()%80 != 0 {
		t.Fatalf("ring holds %d bytes from %d, want the last %d rows of 80", held, s.out.oldest(), rows/80)
	}
	_, snap, _, _ := s.Attach()
	if n := bytes.Count(snap, []byte("y")); n < int(held) {
		t.Fatalf("snapshot replays %d of the line's bytes, want %d", n, held)
	}
}

func TestStuckClientIsOvertakenAndOthersContinue(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{})
	slow, _, _, _ := s.Attach()
	fast, _, _, _ := s.Attach()
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	limit := s.out.limit
	for written := 0; written < 2*limit; written += len(chunk) {
		// The pipe write returns once the session's reader has taken the bytes into the ring.
		fake.outW.Write(chunk)
		for {
			b, _, err := fast.Next()
			if err != nil {
				t.Fatalf("fast client: %v after %d bytes", err, written)
			}
			if b == nil {
				break
			}
		}
	}
	if _, _, err := slow.Next(); !errors.Is(err, ErrTooSlow) {
		t.Fatalf("slow client err = %v, want ErrTooSlow", err)
	}
}

func TestExitEndsAttachmentWithCode(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{})
	c, _, _, _ := s.Attach()
	fake.outW.Write([]byte("bye"))
	fake.outW.Close()
	fake.exitOnce(3)
	drain(t, c, "bye")
	<-s.Done()
	_, code, err := c.Next()
	if !errors.Is(err, ErrExited) || code != 3 {
		t.Fatalf("Next = %d, %v; want 3, ErrExited", code, err)
	}
	if info := s.Info(); !info.Exited || info.ExitCode == nil || *info.ExitCode != 3 {
		t.Fatalf("info = %+v", info)
	}
}

func TestReapAfterGrace(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{})
	c, _, _, _ := s.Attach()
	m.Reap(time.Now().Add(2 * time.Hour))
	if _, err := m.Get(s.ID()); err != nil {
		t.Fatal("attached session was reaped")
	}
	c.Detach()
	m.Reap(time.Now().Add(2 * time.Hour))
	if _, err := m.Get(s.ID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("detached session not reaped: %v", err)
	}
}

func TestReplayStartsAtLineStartAndKeepsEnoughLines(t *testing.T) {
	s := newSession("id", "n", newFake(), 80, 2, 3, time.Now())
	s.out = newRing(32)
	s.out.write([]byte("aaaa\nbbbb\ncccc\ndddd\neeee\nffff\ngg"))
	// 3 scrollback lines + 2 rows = at most 5 newlines, starting at a line start.
	start, _ := s.replayStart(s.out.written)
	got := make([]byte, s.out.written-start)
	s.out.readAt(got, start)
	if string(got) != "bbbb\ncccc\ndddd\neeee\nffff\ngg" {
		t.Fatalf("replay = %q", got)
	}
	s.out.write([]byte("\nhhhh\niiii\njjjj\n"))
	start, _ = s.replayStart(s.out.written)
	got = make([]byte, s.out.written-start)
	s.out.readAt(got, start)
	if string(got) != "ffff\ngg\nhhhh\niiii\njjjj\n" {
		t.Fatalf("replay after wrap = %q", got)
	}
	// A long first line keeps the rows that 3 lines of scrollback and 2 rows leave it: 5 rows less 3 lines.
	s.cols = 4
	s.out = newRing(64)
	s.out.write([]byte("XXXXXXXXXXXXXXXXXXXXXXXX\nb\nc\nd"))
	start, _ = s.replayStart(s.out.written)
	got = make([]byte, s.out.written-start)
	s.out.readAt(got, start)
	if string(got) != "XXXXXXXX\nb\nc\nd" {
		t.Fatalf("replay of a long first line = %q", got)
	}
	s.cols = 80
	s.out = newRing(16)
	s.out.write([]byte("xxxxxxxxxxxx\nab\ncd"))
	start, _ = s.replayStart(s.out.written)
	got = make([]byte, s.out.written-start)
	s.out.readAt(got, start)
	if string(got) != "ab\ncd" {
		t.Fatalf("replay from a cut line = %q", got)
	}
}

// A client attaching while output streams sees, from its snapshot and what follows, exactly the screen of
// one that saw every byte: the emulator runs behind the reader, so this checks that a snapshot pairs with
// the ring position the client starts at.
func TestAttachDuringStreamingOutputIsExact(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{Cols: 40, Rows: 10})
	whole, _, _, _ := s.Attach()
	var out bytes.Buffer
	for i := range 30000 {
		fmt.Fprintf(&out, "\x1b[3%dmline %d\x1b[0m %s\r\n", i%8, i, strings.Repeat("=", i%50))
	}
	streamed := out.Len()
	go fake.outW.Write(out.Bytes())
	readN(t, whole, streamed-1000)
	late, snap, _, err := s.Attach()
	if err != nil {
		t.Fatal(err)
	}
	whole.Detach()
	out.WriteString("\x1b[2;5Hend")
	go fake.outW.Write(out.Bytes()[streamed:])
	term := screen.New(40, 10)
	term.Write(snap)
	var live bytes.Buffer
	for !strings.HasSuffix(live.String(), "end") {
		b, _, err := late.Next()
		if err != nil {
			t.Fatal(err)
		}
		live.Write(b)
		if b == nil {
			<-late.Wait()
		}
	}
	term.Write(live.Bytes())
	want := screen.New(40, 10)
	want.Write(out.Bytes())
	for y := range 10 {
		if got, w := term.Line(y), want.Line(y); got != w {
			t.Fatalf("row %d = %q, want %q", y, got, w)
		}
	}
}

// Output read before a resize is parsed at the size it was written for, though the emulator lags the reader.
func TestResizeAppliesAfterEarlierOutput(t *testing.T) {
	fake := newFake()
	m := newFakeManager(t, fake)
	s, _ := m.Create(CreateRequest{Cols: 10, Rows: 3})
	c, _, _, _ := s.Attach()
	fake.outW.Write([]byte("0123456789abc"))
	readN(t, c, 13)
	if err := s.Resize(20, 3); err != nil {
		t.Fatal(err)
	}
	_, snap, _, _ := s.Attach()
	term := screen.New(20, 3)
	term.Write(snap)
	if l0, l1 := term.Line(0), term.Line(1); l0 != "0123456789" || l1 != "abc" {
		t.Fatalf("rows = %q, %q; want the wrap of 10 columns", l0, l1)
	}
}
