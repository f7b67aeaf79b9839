// Package bootstrap holds the agent's first start on a VM: redeeming the one-time bootstrap token (with
// retries), the VM's TLS key and CSR, and the boot steps reported to the control plane (clone, agent CLI,
// ready).
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// ErrRejected means the control plane refused the bootstrap token for good (401, 404, 410 or another 4xx).
var ErrRejected = errors.New("bootstrap token rejected")

// Backoff is the retry schedule for redeeming.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff starts at 1 s and doubles to 30 s.
var DefaultBackoff = Backoff{Initial: time.Second, Max: 30 * time.Second}

// Redeem loads the saved state if there is one; otherwise it redeems token, retrying while the control plane
// is unreachable or answers 5xx/429, and saves the answer to statePath before returning.
func Redeem(ctx context.Context, cp *controlplane.Client, statePath, token, csrPEM string, b Backoff, log *slog.Logger) (*state.Store, error) {
	if st, err := state.Load(statePath); err == nil {
		log.Info("bootstrap already redeemed; using saved state", "path", statePath)
		return st, nil
	} else if !errors.Is(err, state.ErrNoState) {
		return nil, err
	}
	if token == "" {
		return nil, fmt.Errorf("%w: no bootstrap token and no saved state", ErrRejected)
	}
	delay := b.Initial
	for attempt := 1; ; attempt++ {
		resp, err := cp.Bootstrap(ctx, token, csrPEM)
		if err == nil {
			return state.Create(statePath, state.State{BootstrapResponse: resp})
		}
		var se *controlplane.StatusError
		if errors.As(err, &se) && !se.Retryable() {
			switch se.Status {
			case http.StatusUnauthorized, http.StatusNotFound, http.StatusGone:
				return nil, fmt.Errorf("%w (used, expired or unknown): %w", ErrRejected, err)
			}
			return nil, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		wait := delay/2 + rand.N(delay/2+1)
		log.Warn("bootstrap failed; retrying", "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bootstrap: %w", ctx.Err())
		case <-time.After(wait):
		}
		delay = min(delay*2, b.Max)
	}
}
