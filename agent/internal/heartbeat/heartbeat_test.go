package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

func TestHeartbeatRenewsTokenAndStops(t *testing.T) {
	var calls atomic.Int32
	var last map[string]any
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		auths = append(auths, r.Header.Get("Authorization"))
		json.NewDecoder(r.Body).Decode(&last)
		action := "continue"
		if n == 3 {
			action = "stop"
		}
		json.NewEncoder(w).Encode(map[string]string{"action": action, "callback_token": "cb" + string(rune('1'+n)), "callback_token_expires_at": "2030-01-01T00:00:00Z"})
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "state.json")
	st, _ := state.Create(path, state.State{BootstrapResponse: controlplane.BootstrapResponse{CallbackToken: "cb1"}})
	input := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Loop{
		CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, Interval: 10 * time.Millisecond,
		Activity:     func() session.Activity { return session.Activity{LastInput: input, AttachedClients: 2, Sessions: 3} },
		TurnInFlight: func() bool { return true },
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	err := l.Run(context.Background())
	if !errors.Is(err, ErrStopRequested) || calls.Load() != 3 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
	if auths[0] != "Bearer cb1" || auths[1] != "Bearer cb2" {
		t.Fatalf("tokens used: %v", auths)
	}
	if last["last_input_at"] != "2030-01-01T00:00:00Z" || last["last_output_at"] != nil || last["attached_clients"] != 2.0 || last["sessions"] != 3.0 || last["agent_running"] != true || last["agent_turn_in_flight"] != true {
		t.Fatalf("body %v", last)
	}
	reloaded, err := state.Load(path)
	if err != nil || reloaded.CallbackToken() != "cb4" {
		t.Fatalf("saved token %q %v", reloaded.CallbackToken(), err)
	}
}

func TestRevokedTokenEndsTheLoopButAnExpiredOneDoesNot(t *testing.T) {
	var calls atomic.Int32
	var ended [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			json.NewEncoder(w).Encode(map[string]any{"action": "continue", "ended_sessions": []string{"abc"}})
		case 2:
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "The callback token has expired.", "code": "invalid"})
		default:
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "Access to this workspace has ended.", "code": "revoked"})
		}
	}))
	defer srv.Close()
	st, _ := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{CallbackToken: "cb1"}})
	l := &Loop{
		CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, Interval: 10 * time.Millisecond,
		Activity:      func() session.Activity { return session.Activity{} },
		EndedSessions: func(hashes []string) { ended = append(ended, hashes) },
		Log:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.Run(ctx)
	if !errors.Is(err, ErrRevoked) || calls.Load() != 3 {
		t.Fatalf("err %v after %d calls, want ErrRevoked on the third", err, calls.Load())
	}
	if len(ended) != 1 || ended[0][0] != "abc" {
		t.Fatalf("ended sessions passed on: %v", ended)
	}
}

func TestUnsavedWorkRidesEveryBeatAndTheLastOne(t *testing.T) {
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		bodies = append(bodies, body)
		json.NewEncoder(w).Encode(map[string]string{"action": "stop"})
	}))
	defer srv.Close()
	st, _ := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{CallbackToken: "cb1"}})
	l := &Loop{
		CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, Interval: time.Hour,
		Activity: func() session.Activity { return session.Activity{} },
		UnsavedWork: func(context.Context) *controlplane.UnsavedWork {
			return &controlplane.UnsavedWork{Uncommitted: 3, Unpushed: 1}
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := l.Run(context.Background()); !errors.Is(err, ErrStopRequested) {
		t.Fatalf("Run = %v", err)
	}
	// The last beat goes out while stopping; its "stop" is no error any more.
	if err := l.Last(context.Background(), nil); err != nil {
		t.Fatalf("Last = %v", err)
	}
	if len(bodies) != 2 {
		t.Fatalf("%d beats", len(bodies))
	}
	work, ok := bodies[0]["unsaved_work"].(map[string]any)
	if !ok || work["uncommitted"] != 3.0 || work["unpushed"] != 1.0 {
		t.Fatalf("first beat unsaved_work %v", bodies[0]["unsaved_work"])
	}
	if v, present := bodies[1]["unsaved_work"]; !present || v != nil {
		t.Fatalf("last beat without a repository: unsaved_work %v (present %v), want null", v, present)
	}
}
