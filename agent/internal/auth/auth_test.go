package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/simple-agent-manager/sam/agent/internal/jwttest"
)

func TestUnknownKIDRefetchesJWKSAtMostOncePerMinute(t *testing.T) {
	iss := jwttest.New(t, "ws1")
	v, err := NewVerifier(context.Background(), iss.JWKSURL, iss.URL, "ws1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(iss.Valid(t)); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	base := iss.Fetches.Load()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := 0; i < 5; i++ {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, iss.Claims())
		tok.Header["kid"] = "rotated-key"
		s, _ := tok.SignedString(other)
		if _, err := v.Verify(s); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid accepted: %v", err)
		}
	}
	if got := iss.Fetches.Load() - base; got != 1 {
		t.Fatalf("JWKS fetched %d times for unknown kids within a minute, want exactly 1 (refetch once, then rate-limited)", got)
	}
}

func TestTokenExtraction(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Add("Sec-WebSocket-Protocol", "sam.terminal.v1, bearer.abc.def.ghi")
	tok, offers := WebSocketToken(r)
	if tok != "abc.def.ghi" || !offers {
		t.Fatalf("WebSocketToken = %q, %v", tok, offers)
	}
	r.Header.Set("Authorization", "Bearer xyz")
	if got := BearerToken(r); got != "xyz" {
		t.Fatalf("BearerToken = %q", got)
	}
	r.Header.Set("Authorization", "Basic xyz")
	if got := BearerToken(r); got != "" {
		t.Fatalf("BearerToken(Basic) = %q", got)
	}
	if _, err := (&Verifier{}).Verify(""); !errors.Is(err, ErrNoToken) {
		t.Fatalf("empty token err = %v", err)
	}
}

func TestTokensOfAnEndedBrowserSessionAreRefused(t *testing.T) {
	iss := jwttest.New(t, "ws1")
	v, err := NewVerifier(context.Background(), iss.JWKSURL, iss.URL, "ws1")
	if err != nil {
		t.Fatal(err)
	}
	claims := iss.Claims()
	claims["sid"] = "session-a"
	signedOut := iss.Sign(t, claims)
	claims["sid"] = "session-b"
	other := iss.Sign(t, claims)
	if got, err := v.Verify(signedOut); err != nil || got.Session != "session-a" {
		t.Fatalf("before sign-out: %+v %v", got, err)
	}
	v.EndSessions([]string{"session-a"})
	if _, err := v.Verify(signedOut); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of a signed-out session accepted: %v", err)
	}
	if _, err := v.Verify(other); err != nil {
		t.Fatalf("another session's token refused: %v", err)
	}
}
