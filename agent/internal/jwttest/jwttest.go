// Package jwttest issues terminal tokens and serves their JWKS for tests, as the control plane does.
package jwttest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer signs tokens with an RSA key whose public half it serves as a JWKS.
type Issuer struct {
	Key       *rsa.PrivateKey
	KID       string
	URL       string // issuer, also the JWKS server's base URL
	JWKSURL   string
	Workspace string
	Fetches   atomic.Int32
}

// New starts a JWKS server for a fresh 2048-bit key.
func New(t testing.TB, workspace string) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{Key: key, KID: "test-key-1", Workspace: workspace}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss.Fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]string{
			"kty": "RSA", "kid": iss.KID, "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	iss.JWKSURL = srv.URL + "/.well-known/jwks.json"
	return iss
}

// Claims returns valid claims for the workspace.
func (i *Issuer) Claims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": i.URL, "aud": []string{"workspace-terminal"}, "sub": "user-1", "workspace": i.Workspace,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// Sign signs claims with RS256 and the issuer's kid.
func (i *Issuer) Sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = i.KID
	s, err := tok.SignedString(i.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Valid returns a valid token.
func (i *Issuer) Valid(t testing.TB) string { return i.Sign(t, i.Claims()) }

// PublicKeyPEM returns the public key as PEM, the bytes an HS256 confusion attack would use as a secret.
func (i *Issuer) PublicKeyPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(&i.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
