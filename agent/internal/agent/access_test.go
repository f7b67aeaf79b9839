package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/simple-agent-manager/sam/agent/internal/auth"
	"github.com/simple-agent-manager/sam/agent/internal/jwttest"
)

func TestSignedOutSessionsTerminalsAreDroppedAndRefused(t *testing.T) {
	iss := jwttest.New(t, "ws1")
	verifier, err := auth.NewVerifier(context.Background(), iss.JWKSURL, iss.URL, "ws1")
	if err != nil {
		t.Fatal(err)
	}
	access := newTerminalAccess(verifier, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Stands in for the server's attach: verify, upgrade, then hold the connection until the peer goes.
	attach := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := auth.WebSocketToken(r)
		if _, err := verifier.Verify(token); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"sam.terminal.v1"}})
		if err != nil {
			return
		}
		_, _, _ = conn.Read(context.Background())
	})
	srv := httptest.NewServer(access.Handler(attach))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/sessions/s1/attach"
	dial := func(session string) (*websocket.Conn, *http.Response, error) {
		claims := iss.Claims()
		claims["sid"] = session
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return websocket.Dial(ctx, url, &websocket.DialOptions{
			Subprotocols: []string{"sam.terminal.v1", "bearer." + iss.Sign(t, claims)},
		})
	}
	signedOut, _, err := dial("session-a")
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := dial("session-b")
	if err != nil {
		t.Fatal(err)
	}

	access.End([]string{"session-a"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := signedOut.Read(ctx); err == nil {
		t.Fatal("the signed-out session's terminal is still open")
	}
	if _, resp, err := dial("session-a"); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a new attach of the signed-out session: %v", err)
	}
	// The other session's terminal is untouched (a reader is needed to see the pong).
	kept.CloseRead(context.Background())
	if err := kept.Ping(ctx); err != nil {
		t.Fatalf("another session's terminal was dropped: %v", err)
	}
	kept.Close(websocket.StatusNormalClosure, "")
}
