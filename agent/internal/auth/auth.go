// Package auth verifies terminal tokens: RS256 JWTs from the control plane, checked against its JWKS before
// any WebSocket upgrade.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/simple-agent-manager/sam/agent/internal/protocol"
)

// Audience is the audience terminal tokens must carry.
const Audience = "workspace-terminal"

// Leeway is the clock skew tolerated on exp and nbf.
const Leeway = 60 * time.Second

// Expected failures.
var (
	ErrNoToken      = errors.New("no terminal token")
	ErrInvalidToken = errors.New("invalid terminal token")
)

// Claims are the verified facts of a terminal token.
type Claims struct {
	Subject   string
	Workspace string
	// Session is the hash of the browser session the token was minted for (`sid`); empty in older tokens.
	Session   string
	ExpiresAt time.Time
}

type tokenClaims struct {
	jwt.RegisteredClaims
	Workspace string `json:"workspace"`
	Session   string `json:"sid"`
}

// Verifier checks terminal tokens for one workspace.
type Verifier struct {
	keys      jwt.Keyfunc
	issuer    string
	workspace string

	mu    sync.Mutex
	ended map[string]struct{}
}

// EndSessions refuses from now on every token minted for these browser sessions (they signed out); the
// control plane lists them in its heartbeat answers.
func (v *Verifier) EndSessions(hashes []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended == nil {
		v.ended = make(map[string]struct{})
	}
	for _, h := range hashes {
		v.ended[h] = struct{}{}
	}
}

// SessionEnded reports whether tokens of this browser session are refused.
func (v *Verifier) SessionEnded(session string) bool {
	if session == "" {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ended := v.ended[session]
	return ended
}

// NewVerifier fetches the JWKS in the background (refreshed hourly, and on an unknown kid at most once a
// minute) and returns a verifier bound to the issuer and workspace.
func NewVerifier(ctx context.Context, jwksURL, issuer, workspace string) (*Verifier, error) {
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{
		HTTPTimeout:       10 * time.Second,
		RefreshInterval:   time.Hour,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
		// The limiter refuses at once when its next token is further away than this, so an unknown kid within
		// the minute is refused without waiting; a too-short value would fail even when a token is available.
		RateLimitWaitMax: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", jwksURL, err)
	}
	return NewVerifierWithKeys(k.Keyfunc, issuer, workspace), nil
}

// NewVerifierWithKeys returns a verifier that resolves keys with keys.
func NewVerifierWithKeys(keys jwt.Keyfunc, issuer, workspace string) *Verifier {
	return &Verifier{keys: keys, issuer: issuer, workspace: workspace}
}

// Verify checks signature (RS256 only), issuer, audience, workspace, subject and validity times.
func (v *Verifier) Verify(token string) (Claims, error) {
	if token == "" {
		return Claims{}, ErrNoToken
	}
	var tc tokenClaims
	_, err := jwt.ParseWithClaims(token, &tc, v.keys,
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(Audience),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if tc.Workspace != v.workspace {
		return Claims{}, fmt.Errorf("%w: token is for another workspace", ErrInvalidToken)
	}
	if tc.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	if v.SessionEnded(tc.Session) {
		return Claims{}, fmt.Errorf("%w: its browser session signed out", ErrInvalidToken)
	}
	return Claims{Subject: tc.Subject, Workspace: tc.Workspace, Session: tc.Session, ExpiresAt: tc.ExpiresAt.Time}, nil
}

// WebSocketToken returns the token offered as a "bearer.<jwt>" subprotocol, and whether the client also
// offered sam.terminal.v1.
func WebSocketToken(r *http.Request) (token string, offersProtocol bool) {
	for _, header := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(header, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == protocol.Subprotocol:
				offersProtocol = true
			case strings.HasPrefix(p, protocol.BearerPrefix) && token == "":
				token = strings.TrimPrefix(p, protocol.BearerPrefix)
			}
		}
	}
	return token, offersProtocol
}

// BearerToken returns the token of an "Authorization: Bearer <jwt>" header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}
