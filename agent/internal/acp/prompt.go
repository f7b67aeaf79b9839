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
		s.append(KindPromptEnded, ended)
		s.busy.Store(false)
		close(run.done)
	}()
	s.append(KindPromptStarted, map[string]any{"clientId": clientID, "prompt": prompt})
	a, sessionID, err := s.ensureAdapter()
	if err != nil {
		run.err = err
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

// Cancel asks the adapter to stop the turn in flight; permission requests still waiting are answered
// "cancelled", as the protocol requires. The turn then ends with stop reason "cancelled".
func (s *Session) Cancel(ctx context.Context) error {
	s.mu.Lock()
	a, sessionID := s.adapter, s.sessionID
	for id, pending := range s.permissions {
		pending.answer <- nil
		delete(s.permissions, id)
	}
	s.mu.Unlock()
	if a == nil || !s.Busy() {
		return nil
	}
	if err := a.conn.Cancel(ctx, sdk.CancelNotification{SessionId: sessionID}); err != nil {
		return fmt.Errorf("send session/cancel: %w", err)
	}
	return nil
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
