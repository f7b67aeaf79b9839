// Package heartbeat holds the loop that reports activity to the control plane, renews the callback token and
// carries out the control plane's decision to stop.
package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// ErrStopRequested means the control plane answered "stop": the agent should drain and exit 0.
var ErrStopRequested = errors.New("control plane asked the agent to stop")

// ErrRevoked means the control plane refused the callback token for good (the run is over or the owner's
// access ended): the agent should drop its terminals and drain, as for a stop.
var ErrRevoked = errors.New("control plane revoked this workspace's callback token")

// Loop sends heartbeats.
type Loop struct {
	CP       *controlplane.Client
	State    *state.Store
	Interval time.Duration
	Activity func() session.Activity
	// TurnInFlight, if set, says whether a chat's prompt turn is running: the only coding-agent activity that
	// counts. A CLI that merely exists (an open REPL nobody types into) is not activity; terminal I/O is.
	TurnInFlight func() bool
	// EndedSessions, if set, receives the owner's browser sessions that signed out, with every heartbeat.
	EndedSessions func(hashes []string)
	// UnsavedWork, if set, counts the repository's uncommitted and unpushed work for each beat (it keeps its
	// own pace: a count is not made for every beat).
	UnsavedWork func(ctx context.Context) *controlplane.UnsavedWork
	Log         *slog.Logger
}

// Run sends a heartbeat at once and then every Interval until ctx ends or the control plane says stop.
func (l *Loop) Run(ctx context.Context) error {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		var unsaved *controlplane.UnsavedWork
		if l.UnsavedWork != nil {
			unsaved = l.UnsavedWork(ctx)
		}
		if err := l.beat(ctx, unsaved); errors.Is(err, ErrStopRequested) || errors.Is(err, ErrRevoked) {
			return err
		} else if err != nil && ctx.Err() == nil {
			l.Log.Warn("heartbeat failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// Last sends one more heartbeat while the agent stops, so the control plane keeps the final count of unsaved
// work (counted afresh by the caller); its answer changes nothing any more, but a renewed token is saved.
func (l *Loop) Last(ctx context.Context, unsaved *controlplane.UnsavedWork) error {
	err := l.beat(ctx, unsaved)
	if errors.Is(err, ErrStopRequested) {
		return nil
	}
	return err
}

func (l *Loop) beat(ctx context.Context, unsaved *controlplane.UnsavedWork) error {
	a := l.Activity()
	turn := l.TurnInFlight != nil && l.TurnInFlight()
	resp, err := l.CP.Heartbeat(ctx, controlplane.HeartbeatRequest{
		LastInputAt: rfc3339(a.LastInput), LastOutputAt: rfc3339(a.LastOutput),
		AttachedClients: a.AttachedClients, Sessions: a.Sessions,
		// agent_running is kept for control planes that read only it; it means the same as a turn in flight.
		AgentRunning: turn, TurnInFlight: turn, UnsavedWork: unsaved,
	})
	var status *controlplane.StatusError
	if errors.As(err, &status) && status.Revoked() {
		return fmt.Errorf("%w: %s", ErrRevoked, status.Body)
	}
	if err != nil {
		return err
	}
	if l.EndedSessions != nil && len(resp.EndedSessions) > 0 {
		l.EndedSessions(resp.EndedSessions)
	}
	if resp.CallbackToken != "" {
		if err := l.State.Update(func(s *state.State) {
			s.CallbackToken = resp.CallbackToken
			s.CallbackTokenExpiresAt = resp.CallbackTokenExpiresAt
		}); err != nil {
			l.Log.Error("save renewed callback token", "err", err)
		}
	}
	if resp.Action == "stop" {
		return ErrStopRequested
	}
	return nil
}
