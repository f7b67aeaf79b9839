package chat

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/acp"
)

// watched is a chat whose log the test writes, followed by a Waiting that reports into a channel. With
// checks set, the delay's checks are handed to the test to fire instead of a timer.
func watched(t *testing.T, delay time.Duration, checks chan func()) (*Session, <-chan map[string]any) {
	t.Helper()
	s, err := acp.Open(acp.Config{
		Command: acp.Command{Path: "/bin/false"}, Workspace: t.TempDir(), LogPath: filepath.Join(t.TempDir(), "c.jsonl"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	chat := &Session{Session: s, id: "c1"}
	sent := make(chan map[string]any, 8)
	w := &Waiting{Delay: delay, Notify: func(_ context.Context, event map[string]any) error {
		sent <- event
		return nil
	}}
	if checks != nil {
		w.afterFunc = func(_ time.Duration, f func()) { checks <- f }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		w.watch(ctx, chat, 0)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = s.Close()
	})
	return chat, sent
}

func request(t *testing.T, s *Session, id string) {
	t.Helper()
	if _, err := s.Log().Append(acp.KindPermissionRequested, map[string]any{"requestId": id, "toolCall": map[string]any{"title": "Edit README.md"}}); err != nil {
		t.Fatal(err)
	}
}

func answer(t *testing.T, s *Session, id string) {
	t.Helper()
	if _, err := s.Log().Append(acp.KindPermissionAnswered, map[string]any{"requestId": id, "outcome": "selected"}); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, sent <-chan map[string]any) map[string]any {
	t.Helper()
	select {
	case event := <-sent:
		return event
	case <-time.After(5 * time.Second):
		t.Fatal("nothing was reported")
		return nil
	}
}

func TestAPermissionRequestNobodyWatchesIsReportedAndSoIsItsAnswer(t *testing.T) {
	s, sent := watched(t, 10*time.Millisecond, nil)
	request(t, s, "r1")
	if got := next(t, sent); got["event"] != "permission_waiting" || got["request_id"] != "r1" || got["chat_session_id"] != "c1" || got["title"] != "Edit README.md" {
		t.Fatalf("first report %v", got)
	}
	answer(t, s, "r1")
	if got := next(t, sent); got["event"] != "permission_answered" || got["request_id"] != "r1" {
		t.Fatalf("second report %v", got)
	}
}

func TestAWatchedRequestIsReportedOnlyOnceNobodyWatchesAnyMore(t *testing.T) {
	checks := make(chan func(), 4)
	s, sent := watched(t, time.Hour, checks)
	check := func() func() {
		t.Helper()
		select {
		case f := <-checks:
			return f
		case <-time.After(5 * time.Second):
			t.Fatal("no check was scheduled")
			return nil
		}
	}
	detach := s.Attach()
	request(t, s, "r1")
	// The delay passes while a browser has the chat open: nothing is reported, and another check is scheduled.
	check()()
	recheck := check()
	select {
	case event := <-sent:
		t.Fatalf("reported %v while a browser had the chat open", event)
	default:
	}
	// The browser leaves without answering: the next check reports it.
	detach()
	recheck()
	if got := next(t, sent); got["event"] != "permission_waiting" || got["request_id"] != "r1" {
		t.Fatalf("after the browser left: %v", got)
	}
	// A request answered before its check is never reported.
	request(t, s, "r2")
	pending := check()
	answer(t, s, "r2")
	answer(t, s, "r1")
	if got := next(t, sent); got["event"] != "permission_answered" || got["request_id"] != "r1" {
		t.Fatalf("after r1's answer: %v", got)
	}
	pending()
	request(t, s, "r3")
	check()()
	if got := next(t, sent); got["request_id"] != "r3" {
		t.Fatalf("r2 (answered before its check) was reported: %v", got)
	}
}
