package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/acp"
)

// DefaultWaitingDelay is how long a permission request waits with nobody watching before the owner is told.
const DefaultWaitingDelay = 30 * time.Second

// Waiting tells the control plane about permission requests nobody is looking at, so it can notify the owner
// (in the app and by Web Push): after Delay with no browser attached to the chat, then again when the request
// is answered, wherever the answer came from.
type Waiting struct {
	Delay time.Duration
	// Notify sends one event (controlplane.Client.Event): permission_waiting or permission_answered.
	Notify func(ctx context.Context, event map[string]any) error
	Logger *slog.Logger
	// afterFunc schedules a check (time.AfterFunc; tests fire the checks themselves).
	afterFunc func(d time.Duration, f func())
}

type waitingRequest struct {
	title    string
	notified bool
}

// watch follows a chat's log after seq until the log closes or ctx ends.
func (w *Waiting) watch(ctx context.Context, s *Session, seq uint64) {
	delay := w.Delay
	if delay <= 0 {
		delay = DefaultWaitingDelay
	}
	events := make(chan acp.Event)
	go func() {
		defer close(events)
		sub := s.Log().Subscribe(seq)
		for {
			event, err := sub.Next(ctx)
			if err != nil {
				return
			}
			select {
			case events <- event:
			case <-ctx.Done():
				return
			}
		}
	}()
	due := make(chan string)
	pending := map[string]*waitingRequest{}
	after := w.afterFunc
	if after == nil {
		after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	arm := func(id string) {
		after(delay, func() {
			select {
			case due <- id:
			case <-ctx.Done():
			}
		})
	}
	for {
		select {
		case <-ctx.Done():
			return
		case event, ok := <-events:
			if !ok {
				return
			}
			var data struct {
				RequestID string `json:"requestId"`
				ToolCall  struct {
					Title string `json:"title"`
				} `json:"toolCall"`
			}
			if json.Unmarshal(event.Data, &data) != nil || data.RequestID == "" {
				continue
			}
			switch event.Kind {
			case acp.KindPermissionRequested:
				pending[data.RequestID] = &waitingRequest{title: data.ToolCall.Title}
				arm(data.RequestID)
			case acp.KindPermissionAnswered:
				if request, ok := pending[data.RequestID]; ok && request.notified {
					w.send(ctx, map[string]any{"event": "permission_answered", "chat_session_id": s.id, "request_id": data.RequestID})
				}
				delete(pending, data.RequestID)
			}
		case id := <-due:
			request, ok := pending[id]
			if !ok || request.notified {
				continue
			}
			if s.Viewers() > 0 {
				// Someone has the chat open; look again later in case they leave without answering.
				arm(id)
				continue
			}
			request.notified = true
			w.send(ctx, map[string]any{"event": "permission_waiting", "chat_session_id": s.id, "request_id": id, "title": request.title})
		}
	}
}

func (w *Waiting) send(ctx context.Context, event map[string]any) {
	sendCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Notify(sendCtx, event); err != nil && w.Logger != nil {
		w.Logger.Warn("could not tell the control plane about a permission request", "event", event["event"], "err", err)
	}
}
