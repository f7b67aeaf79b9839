package acp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSubscribersGetEveryEventOnceWhileWritersAppend(t *testing.T) {
	log, err := OpenLog(filepath.Join(t.TempDir(), "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for i := range 10 {
		if _, err := log.Append(KindUpdate, map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	const writers, each = 4, 250
	total := uint64(10 + writers*each)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var readers sync.WaitGroup
	for _, after := range []uint64{0, 5, 10} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sub := log.Subscribe(after)
			want := after + 1
			for want <= total {
				event, err := sub.Next(ctx)
				if err != nil {
					t.Errorf("reader after %d: %v at %d", after, err, want)
					return
				}
				if event.Seq != want {
					t.Errorf("reader after %d got seq %d, want %d", after, event.Seq, want)
					return
				}
				want++
			}
		}()
	}
	var writersDone sync.WaitGroup
	for range writers {
		writersDone.Add(1)
		go func() {
			defer writersDone.Done()
			for i := range each {
				if _, err := log.Append(KindUpdate, map[string]int{"i": i}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	writersDone.Wait()
	readers.Wait()
	if got := log.EventsAfter(total - 3); len(got) != 3 || got[0].Seq != total-2 {
		t.Errorf("EventsAfter near the end: %d events", len(got))
	}
	if got := log.EventsAfter(total); got != nil {
		t.Errorf("EventsAfter(last) = %d events", len(got))
	}
}

func TestReopeningContinuesTheSequenceAndCutsATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	log, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := log.Append(KindUpdate, "x"); err != nil {
			t.Fatal(err)
		}
	}
	log.Close()
	if _, err := log.Append(KindUpdate, "late"); !errors.Is(err, ErrLogClosed) {
		t.Errorf("append after close: %v", err)
	}
	// A crash in the middle of a write, and a file someone loosened.
	file, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = file.WriteString(`{"seq":4,"kind":"upd`)
	file.Close()
	_ = os.Chmod(path, 0o644)

	log, err = OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if log.LastSeq() != 3 {
		t.Fatalf("last seq %d after reopen", log.LastSeq())
	}
	event, err := log.Append(KindUpdate, "after")
	if err != nil || event.Seq != 4 {
		t.Fatalf("append after reopen: %+v %v", event, err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after reopen", info.Mode().Perm())
	}
	again, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.LastSeq() != 4 {
		t.Errorf("the torn line was not cut: last seq %d", again.LastSeq())
	}
}

func TestADamagedLogIsRefusedWithAWayOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte("{\"seq\":1,\"kind\":\"update\"}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLog(path); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("damaged log: %v", err)
	}
}

func TestSubscriptionEndsWhenTheLogCloses(t *testing.T) {
	log, err := OpenLog(filepath.Join(t.TempDir(), "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sub := log.Subscribe(0)
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	log.Close()
	if err := <-done; !errors.Is(err, ErrLogClosed) {
		t.Errorf("Next after close: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
