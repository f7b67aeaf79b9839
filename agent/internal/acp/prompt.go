package acp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	sdk "github.com/coder/acp-go-sdk"
)

// Prompt sends one user message and waits for the turn to end. clientID names the message: the same id
// sent again (a browser retrying) does not start a second turn but gets the first one's outcome. The turn
// runs on the session's lifetime, so a caller giving up (ctx) does not stop it; Cancel does.
func (s *Session) Prompt(ctx context.Context, clientID string, prompt []sdk.ContentBlock) (Outcome, error) {
	if clientID == "" {
		return Outcome{}, errors.New("a prompt needs a client id")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Outcome{}, ErrClosed
	}
	run, seen := s.prompts[clientID]
	if !seen {
		if !s.busy.CompareAndSwap(false, true) {
			s.mu.Unlock()
			return Outcome{}, ErrBusy
		}
		run = &promptRun{done: make(chan struct{})}
		s.prompts[clientID] = run
		s.turn = &turnState{}
		go s.runTurn(clientID, prompt, run)
	}
	s.mu.Unlock()
	select {
	case <-run.done:
		return run.outcome, run.err
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
}

func (s *Session) runTurn(clientID string, prompt []sdk.ContentBlock, run *promptRun) {
	defer func() {
		ended := map[string]any{"clientId": clientID, "stopReason": run.outcome.StopReason, "usage": run.outcome.Usage}
		if run.err != nil {
			ended["error"] = run.err.Error()
		}
		// The turn is over before anyone can read that it is: a client that sends its next prompt on seeing
		// prompt_ended must not find the session still busy. Under mu, so no prompt starts in between.
		s.mu.Lock()
		s.turn = nil
		s.busy.Store(false)
		s.append(KindPromptEnded, ended)
		s.mu.Unlock()
		close(run.done)
	}()
	s.append(KindPromptStarted, map[string]any{"clientId": clientID, "prompt": prompt})
	a, sessionID, err := s.ensureAdapter()
	if err != nil {
		run.err = err
		return
	}
	s.mu.Lock()
	cancelled := s.turn.cancelRequested
	s.turn.adapter, s.turn.sessionID = a, sessionID
	s.mu.Unlock()
	if cancelled {
		// Stopped while the adapter started: the message never reaches it. The adapter stays up for the next.
		run.outcome = Outcome{StopReason: sdk.StopReasonCancelled}
		return
	}
	resp, err := a.conn.Prompt(s.ctx, sdk.PromptRequest{SessionId: sessionID, Prompt: prompt})
	if err != nil {
		run.err = fmt.Errorf("prompt: %w", err)
		select {
		case <-a.conn.Done():
			// The pipe closed: the process is ending. Wait for it, so its exit is logged before the turn's end.
			select {
			case <-a.exited:
				run.err = fmt.Errorf("the coding agent exited during the turn (%s); the next message restarts it", a.exitSummary())
			case <-time.After(s.cfg.StopGrace):
			}
		default:
		}
		return
	}
	run.outcome = Outcome{StopReason: resp.StopReason, Usage: resp.Usage}
}

// Cancel stops the turn in flight; permission requests still waiting are answered "cancelled", as the
// protocol requires. The turn then ends with stop reason "cancelled": at once if the adapter is still
// starting (the message is not sent), else when the adapter answers the session/cancel.
func (s *Session) Cancel(ctx context.Context) error {
	s.mu.Lock()
	for id, pending := range s.permissions {
		pending.answer <- nil
		delete(s.permissions, id)
	}
	t := s.turn
	if t == nil {
		s.mu.Unlock()
		return nil
	}
	t.cancelRequested = true
	a, sessionID, written := t.adapter, t.sessionID, t.promptWritten
	s.mu.Unlock()
	if !written {
		// Not sent yet: runTurn (before sending) or promptSent (just after) acts on the request. A
		// session/cancel written now could reach the adapter before the prompt, which would then run.
		return nil
	}
	if err := a.conn.Cancel(ctx, sdk.CancelNotification{SessionId: sessionID}); err != nil {
		return fmt.Errorf("send session/cancel: %w", err)
	}
	return nil
}

// promptSent is called once a session/prompt is written to the adapter a: from then on session/cancel
// reaches it, so a cancel that came in between is sent now.
func (s *Session) promptSent(a *adapter) {
	s.mu.Lock()
	t := s.turn
	if t == nil || t.adapter != a {
		s.mu.Unlock()
		return
	}
	t.promptWritten = true
	send, sessionID := t.cancelRequested, t.sessionID
	s.mu.Unlock()
	if !send {
		return
	}
	// Called while the connection holds its write lock: the notification goes out from another goroutine.
	go func() {
		if err := a.conn.Cancel(s.ctx, sdk.CancelNotification{SessionId: sessionID}); err != nil {
			s.logger.Warn("send session/cancel", "err", err)
		}
	}()
}

// Answer delivers a person's decision on a permission request (its id is in the permission_requested
// event); optionID is one of the options offered there (allow_once, allow_always, reject_once…).
func (s *Session) Answer(requestID string, optionID sdk.PermissionOptionId) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pending, ok := s.permissions[requestID]
	if !ok {
		return ErrUnknownPermission
	}
	for _, option := range pending.options {
		if option.OptionId == optionID {
			delete(s.permissions, requestID)
			pending.answer <- &optionID
			return nil
		}
	}
	return fmt.Errorf("option %q was not offered for this request", optionID)
}

func newRequestID() string {
	raw := make([]byte, 8)
	_, _ = rand.Read(raw)
	return hex.EncodeToString(raw)
}
