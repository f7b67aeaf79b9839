package agent

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/simple-agent-manager/sam/agent/internal/auth"
)

// terminalAccess ends the terminals of a browser session that signed out. The heartbeat's answer lists
// such sessions; from then on the verifier refuses their tokens (new attaches and API calls), and the
// WebSockets already attached with them are closed here, within one heartbeat. It sits in front of the
// server's handler and only watches attach requests: the connection a WebSocket hijacks is remembered under
// the session its token names, so it can be closed later.
type terminalAccess struct {
	verifier *auth.Verifier
	log      *slog.Logger

	mu    sync.Mutex
	conns map[string]map[net.Conn]struct{}
}

func newTerminalAccess(verifier *auth.Verifier, log *slog.Logger) *terminalAccess {
	return &terminalAccess{verifier: verifier, log: log, conns: make(map[string]map[net.Conn]struct{})}
}

// Handler wraps the server's handler.
func (a *terminalAccess) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/attach") {
			next.ServeHTTP(w, r)
			return
		}
		token, _ := auth.WebSocketToken(r)
		claims, err := a.verifier.Verify(token)
		hijacker, canHijack := w.(http.Hijacker)
		if err != nil || claims.Session == "" || !canHijack {
			// Refused tokens are the server's to answer; a token without a session has nothing to end.
			next.ServeHTTP(w, r)
			return
		}
		tracked := &trackedWriter{ResponseWriter: w, hijacker: hijacker}
		tracked.onHijack = func(conn net.Conn) { a.add(claims.Session, conn) }
		defer func() {
			if tracked.conn != nil {
				a.remove(claims.Session, tracked.conn)
			}
		}()
		next.ServeHTTP(tracked, r)
	})
}

// End refuses the sessions' tokens from now on and closes the terminals attached with them.
func (a *terminalAccess) End(sessions []string) {
	a.verifier.EndSessions(sessions)
	var drop []net.Conn
	a.mu.Lock()
	for _, session := range sessions {
		for conn := range a.conns[session] {
			drop = append(drop, conn)
		}
		delete(a.conns, session)
	}
	a.mu.Unlock()
	for _, conn := range drop {
		_ = conn.Close()
	}
	if len(drop) > 0 {
		a.log.Info("closed terminals of signed-out browser sessions", "connections", len(drop))
	}
}

func (a *terminalAccess) add(session string, conn net.Conn) {
	// A session that ended between the token check and the upgrade is closed at once.
	if a.verifier.SessionEnded(session) {
		_ = conn.Close()
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns[session] == nil {
		a.conns[session] = make(map[net.Conn]struct{})
	}
	a.conns[session][conn] = struct{}{}
}

func (a *terminalAccess) remove(session string, conn net.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.conns[session], conn)
	if len(a.conns[session]) == 0 {
		delete(a.conns, session)
	}
}

// trackedWriter passes the hijacked connection to onHijack.
type trackedWriter struct {
	http.ResponseWriter
	hijacker http.Hijacker
	onHijack func(net.Conn)
	conn     net.Conn
}

func (t *trackedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := t.hijacker.Hijack()
	if err == nil {
		t.conn = conn
		t.onHijack(conn)
	}
	return conn, rw, err
}
