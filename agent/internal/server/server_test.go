package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/simple-agent-manager/sam/agent/internal/auth"
	"github.com/simple-agent-manager/sam/agent/internal/jwttest"
	"github.com/simple-agent-manager/sam/agent/internal/protocol"
	"github.com/simple-agent-manager/sam/agent/internal/session"
)

const origin = "http://dashboard.test"

type env struct {
	iss      *jwttest.Issuer
	srv      *Server
	http     *httptest.Server
	sessions *session.Manager
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	iss := jwttest.New(t, "ws1")
	v, err := auth.NewVerifier(ctx, iss.JWKSURL, iss.URL, "ws1")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := session.NewManager(session.Options{Shell: "/bin/sh", Dir: t.TempDir(), ScrollbackLines: 5000, Grace: time.Hour, Logger: logger,
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + t.TempDir(), "PS1=$ "}})
	t.Cleanup(m.Close)
	srv := New(Options{AllowedOrigin: origin, Verifier: v, Sessions: m, Logger: logger, Version: "test",
		WriteTimeout: 2 * time.Second})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.CloseConnections(context.Background()) })
	return &env{iss: iss, srv: srv, http: hs, sessions: m}
}

func (e *env) request(t testing.TB, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Origin", origin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) createSession(t testing.TB, body string) protocol.SessionInfo {
	t.Helper()
	resp, b := e.request(t, "POST", "/api/sessions", e.iss.Valid(t), body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var info protocol.SessionInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

func (e *env) dial(t testing.TB, id, token, org string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	protos := []string{protocol.Subprotocol}
	if token != "" {
		protos = append(protos, protocol.BearerPrefix+token)
	}
	h := http.Header{}
	if org != "" {
		h.Set("Origin", org)
	}
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.http.URL, "http")+"/api/sessions/"+id+"/attach",
		&websocket.DialOptions{Subprotocols: protos, HTTPHeader: h})
	if c != nil {
		c.SetReadLimit(8 << 20)
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

// terminalReader reads an attachment: hello first, then binary output fed to an emulator.
type terminalReader struct {
	conn  *websocket.Conn
	hello protocol.Hello
	raw   bytes.Buffer
	texts []string
}

func attachOK(t testing.TB, e *env, id string) *terminalReader {
	t.Helper()
	c, resp, err := e.dial(t, id, e.iss.Valid(t), origin)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	if c.Subprotocol() != protocol.Subprotocol {
		t.Fatalf("subprotocol = %q", c.Subprotocol())
	}
	tr := &terminalReader{conn: c}
	typ, b, err := c.Read(context.Background())
	if err != nil || typ != websocket.MessageText {
		t.Fatalf("first frame: %v %v", typ, err)
	}
	if err := json.Unmarshal(b, &tr.hello); err != nil || tr.hello.Type != "hello" || tr.hello.Protocol != 1 {
		t.Fatalf("hello = %s (%v)", b, err)
	}
	return tr
}

// readUntil reads frames until the raw output contains want.
func (tr *terminalReader) readUntil(t testing.TB, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !bytes.Contains(tr.raw.Bytes(), []byte(want)) {
		typ, b, err := tr.conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %q: %v; got %q", want, err, tr.raw.String())
		}
		if typ == websocket.MessageBinary {
			tr.raw.Write(b)
		} else {
			tr.texts = append(tr.texts, string(b))
		}
	}
}

func (tr *terminalReader) send(t testing.TB, s string) {
	t.Helper()
	if err := tr.conn.Write(context.Background(), websocket.MessageBinary, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

// A valid token is not enough: the subprotocol must be offered, the session must exist, and a draining
// agent takes no new attachments.
func TestAttachRefusalsWithAValidToken(t *testing.T) {
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh","-c","sleep 60"]}`)
	url := "ws" + strings.TrimPrefix(e.http.URL, "http") + "/api/sessions/"
	dial := func(id string, protos []string) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, url+id+"/attach", &websocket.DialOptions{Subprotocols: protos, HTTPHeader: http.Header{"Origin": {origin}}})
		if c != nil {
			c.CloseNow()
			t.Fatal("upgraded")
		}
		return resp, err
	}
	for _, tt := range []struct {
		name   string
		id     string
		protos []string
		status int
	}{
		{"subprotocol not offered", info.ID, []string{protocol.BearerPrefix + e.iss.Valid(t)}, http.StatusBadRequest},
		{"unknown session", "no-such-session", []string{protocol.Subprotocol, protocol.BearerPrefix + e.iss.Valid(t)}, http.StatusNotFound},
	} {
		if resp, err := dial(tt.id, tt.protos); err == nil || resp == nil || resp.StatusCode != tt.status {
			t.Fatalf("%s: status %v, want %d", tt.name, resp, tt.status)
		}
	}
	if err := e.srv.CloseConnections(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp, err := dial(info.ID, []string{protocol.Subprotocol, protocol.BearerPrefix + e.iss.Valid(t)}); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("draining: status %v, want 503", resp)
	}
}

func TestForgedTokensAreRefusedBeforeUpgrade(t *testing.T) {
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh","-c","sleep 60"]}`)
	iss := e.iss
	withClaims := func(mod func(jwt.MapClaims)) string {
		c := iss.Claims()
		mod(c)
		return iss.Sign(t, c)
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	unknownKID := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, iss.Claims())
		tok.Header["kid"] = "unknown-kid"
		s, _ := tok.SignedString(otherKey)
		return s
	}()
	sameKIDOtherKey := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, iss.Claims())
		tok.Header["kid"] = iss.KID
		s, _ := tok.SignedString(otherKey)
		return s
	}()
	algNone := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, iss.Claims())
		tok.Header["kid"] = iss.KID
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	hs256 := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, iss.Claims())
		tok.Header["kid"] = iss.KID
		s, _ := tok.SignedString(iss.PublicKeyPEM(t))
		return s
	}()
	tampered := func() string {
		parts := strings.Split(iss.Valid(t), ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = bytes.Replace(payload, []byte(`"user-1"`), []byte(`"admin1"`), 1)
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	}()
	tests := []struct {
		name   string
		token  string
		origin string
		status int
	}{
		{"no token", "", origin, 401},
		{"alg none", algNone, origin, 401},
		{"HS256 with public key bytes", hs256, origin, 401},
		{"expired", withClaims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }), origin, 401},
		{"no exp", withClaims(func(c jwt.MapClaims) { delete(c, "exp") }), origin, 401},
		{"not yet valid", withClaims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(2 * time.Minute).Unix() }), origin, 401},
		{"wrong aud", withClaims(func(c jwt.MapClaims) { c["aud"] = []string{"workspace-callback"} }), origin, 401},
		{"wrong iss", withClaims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), origin, 401},
		{"wrong workspace", withClaims(func(c jwt.MapClaims) { c["workspace"] = "ws2" }), origin, 401},
		{"no workspace", withClaims(func(c jwt.MapClaims) { delete(c, "workspace") }), origin, 401},
		{"no sub", withClaims(func(c jwt.MapClaims) { delete(c, "sub") }), origin, 401},
		{"unknown kid", unknownKID, origin, 401},
		{"known kid, other key", sameKIDOtherKey, origin, 401},
		{"tampered payload", tampered, origin, 401},
		{"garbage", "not.a.jwt", origin, 401},
		{"wrong origin", iss.Valid(t), "https://evil.example", 403},
		{"no origin", iss.Valid(t), "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := e.dial(t, info.ID, tt.token, tt.origin)
			if err == nil || c != nil {
				t.Fatal("upgraded with a forged token")
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("status = %v, want %d", resp, tt.status)
			}
			if resp.Header.Get("Sec-WebSocket-Protocol") != "" {
				t.Fatal("refusal echoed a subprotocol")
			}
			if tt.origin == origin {
				r, _ := e.request(t, "GET", "/api/sessions", tt.token, "")
				if r.StatusCode != 401 {
					t.Fatalf("HTTP endpoint status = %d, want 401", r.StatusCode)
				}
			}
		})
	}
	t.Run("valid token upgrades and selects only the protocol", func(t *testing.T) {
		c, resp, err := e.dial(t, info.ID, iss.Valid(t), origin)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || c.Subprotocol() != protocol.Subprotocol ||
			resp.Header.Get("Sec-WebSocket-Protocol") != protocol.Subprotocol {
			t.Fatalf("status %d protocol %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"))
		}
	})
}

func TestSessionHTTPEndpoints(t *testing.T) {
	e := newEnv(t)
	tok := e.iss.Valid(t)
	info := e.createSession(t, `{"name":"build","cols":100,"rows":30,"command":["/bin/sh","-c","sleep 60"]}`)
	if info.Name != "build" || info.Cols != 100 || info.Rows != 30 || info.Exited || info.ExitCode != nil {
		t.Fatalf("created %+v", info)
	}
	resp, b := e.request(t, "PATCH", "/api/sessions/"+info.ID, tok, `{"name":"tests"}`)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"tests"`) {
		t.Fatalf("rename: %d %s", resp.StatusCode, b)
	}
	resp, b = e.request(t, "GET", "/api/sessions", tok, "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"id":"`+info.ID+`"`) || resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("list: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	for _, bad := range []string{`{"cols":0}`, `{"rows":1001}`, `{"unknown":1}`, `{"command":[]}`, `not json`} {
		if resp, b := e.request(t, "POST", "/api/sessions", tok, bad); resp.StatusCode != 400 {
			t.Fatalf("create %s: %d %s", bad, resp.StatusCode, b)
		}
	}
	if resp, _ := e.request(t, "DELETE", "/api/sessions/"+info.ID, tok, ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := e.request(t, "DELETE", "/api/sessions/"+info.ID, tok, ""); resp.StatusCode != 404 {
		t.Fatalf("second delete: %d", resp.StatusCode)
	}
	resp, b = e.request(t, "GET", "/health", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"status":"ok"`) || !strings.Contains(string(b), `"version":"test"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, b)
	}
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		origin string
		status int
	}{{origin, 204}, {"https://evil.example", 403}} {
		req, _ := http.NewRequest("OPTIONS", e.http.URL+"/api/sessions", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("preflight from %s = %d, want %d", tt.origin, resp.StatusCode, tt.status)
		}
		if tt.status == 204 && (resp.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PATCH")) {
			t.Fatalf("preflight headers: %v", resp.Header)
		}
		if tt.status == 403 && resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatal("CORS allowed a foreign origin")
		}
	}
}
