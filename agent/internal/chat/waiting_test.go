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

// watched is a chat whose log the test writes, followed by a Waiting that reports into a channel.
func watched(t *testing.T, delay time.Duration) (*Session, <-chan map[string]any) {
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
	s, sent := watched(t, 10*time.Millisecond)
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
	s, sent := watched(t, 10*time.Millisecond)
	detach := s.Attach()
	request(t, s, "r1")
	// Answered in the chat while watched: never reported, and a later request is judged on its own.
	answer(t, s, "r1")
	request(t, s, "r2")
	detach()
	// The first report is r2's: r1 never was, and r2 only once nobody watched.
	if got := next(t, sent); got["event"] != "permission_waiting" || got["request_id"] != "r2" {
		t.Fatalf("after the browser left: %v", got)
	}
}
