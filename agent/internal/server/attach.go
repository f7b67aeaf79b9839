package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/simple-agent-manager/sam/agent/internal/auth"
	"github.com/simple-agent-manager/sam/agent/internal/protocol"
	"github.com/simple-agent-manager/sam/agent/internal/session"
)

// readLimit bounds one client frame; keyboard input and pastes arrive in frames no larger than this.
const readLimit = 64 << 10

// snapshotChunk is the largest binary frame of a snapshot.
const snapshotChunk = 64 << 10

// writeBufferSize holds a frame header and the most output a frame carries, so each output frame reaches the
// socket in one write (net/http's 4 KiB buffer split most into two).
const writeBufferSize = session.MaxNextSize + 14

// bufferedHijack gives the WebSocket library a write buffer of writeBufferSize instead of net/http's.
type bufferedHijack struct{ http.ResponseWriter }

func (w bufferedHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := rw.Writer.Flush(); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return conn, bufio.NewReadWriter(rw.Reader, bufio.NewWriterSize(conn, writeBufferSize)), nil
}

// attach authenticates and checks the Origin before upgrading, then adapts the WebSocket to the session.
func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	log := s.opts.Logger.With("remote", r.RemoteAddr, "session", r.PathValue("id"))
	_, offers := auth.WebSocketToken(r)
	var sess *session.Session
	claims, ok := s.admitAttach(w, r, log, attachRoute{
		name:        "attach",
		subprotocol: protocol.Subprotocol,
		offered:     offers,
		lookup: func() (int, string) {
			var err error
			if sess, err = s.opts.Sessions.Get(r.PathValue("id")); err != nil {
				return http.StatusNotFound, "session not found"
			}
			return 0, ""
		},
	})
	if !ok {
		return
	}
	defer s.conns.Done()

	conn, err := websocket.Accept(bufferedHijack{w}, r, &websocket.AcceptOptions{
		Subprotocols:       []string{protocol.Subprotocol},
		InsecureSkipVerify: true, // the Origin was compared exactly above
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		log.Info("upgrade failed", "err", err)
		return
	}
	conn.SetReadLimit(readLimit)
	log = log.With("sub", claims.Subject)
	log.Info("client attached")
	a := &attachment{srv: s, conn: conn, sess: sess, log: log}
	a.stalled = time.AfterFunc(time.Hour, func() { _ = conn.CloseNow() })
	a.stalled.Stop()
	status, reason := a.run()
	log.Info("client detached", "code", int(status), "reason", reason)
}

type attachment struct {
	srv  *Server
	conn *websocket.Conn
	sess *session.Session
	log  *slog.Logger
	// stalled drops the connection when an output frame's write outlasts WriteTimeout. One timer per
	// attachment instead of a context per frame, which cost the library ~1 KB of garbage per frame.
	stalled *time.Timer
}

// writeOutput writes one binary frame of terminal output.
func (a *attachment) writeOutput(p []byte) error {
	a.stalled.Reset(a.srv.opts.WriteTimeout)
	err := a.conn.Write(context.Background(), websocket.MessageBinary, p)
	a.stalled.Stop()
	return err
}

func (a *attachment) write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	ctx, cancel := context.WithTimeout(ctx, a.srv.opts.WriteTimeout)
	defer cancel()
	return a.conn.Write(ctx, typ, p)
}

func (a *attachment) writeJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.write(ctx, websocket.MessageText, b)
}

func (a *attachment) close(code websocket.StatusCode, reason string) (websocket.StatusCode, string) {
	// Close waits briefly for the peer's close frame; a stuck client cannot hold us longer than that.
	done := make(chan struct{})
	go func() {
		_ = a.conn.Close(code, reason)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = a.conn.CloseNow()
	}
	return code, reason
}

func (a *attachment) run() (websocket.StatusCode, string) {
	client, snap, info, err := a.sess.Attach()
	if err != nil {
		return a.close(protocol.CloseSessionGone, "session gone")
	}
	defer client.Detach()

	// Not derived from the shutdown context: cancelling a read or write context makes the library drop the
	// connection without a close frame, and shutdown must send 1001.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.writeJSON(ctx, protocol.Hello{Type: protocol.TypeHello, Session: info, Protocol: protocol.Version}); err != nil {
		return a.close(websocket.StatusGoingAway, "write failed")
	}
	for len(snap) > 0 {
		n := min(len(snap), snapshotChunk)
		if err := a.writeOutput(snap[:n]); err != nil {
			return a.close(protocol.CloseTooSlow, "too slow")
		}
		snap = snap[n:]
	}

	readErr := make(chan error, 1)
	go func() { readErr <- a.readLoop(ctx) }()

	ping := time.NewTicker(a.srv.opts.PingInterval)
	defer ping.Stop()
	pingFailed := make(chan struct{}, 1)
	for {
		data, code, err := client.Next()
		switch {
		case errors.Is(err, session.ErrExited):
			_ = a.writeJSON(ctx, protocol.Exit{Type: protocol.TypeExit, Code: code})
			return a.close(protocol.CloseSessionExited, "session exited")
		case errors.Is(err, session.ErrSessionGone):
			if a.srv.ctx.Err() != nil {
				return a.close(protocol.CloseGoingAway, "agent shutting down")
			}
			return a.close(protocol.CloseSessionGone, "session gone")
		case errors.Is(err, session.ErrTooSlow):
			return a.close(protocol.CloseTooSlow, "too slow, reconnect")
		}
		if len(data) > 0 {
			if err := a.writeOutput(data); err != nil {
				if a.srv.ctx.Err() != nil {
					return a.close(protocol.CloseGoingAway, "agent shutting down")
				}
				return a.close(protocol.CloseTooSlow, "too slow, reconnect")
			}
			continue
		}
		select {
		case <-client.Wait():
		case <-a.srv.ctx.Done():
			return a.close(protocol.CloseGoingAway, "agent shutting down")
		case err := <-readErr:
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, "client closed"
			}
			return a.close(websocket.StatusGoingAway, "read failed")
		case <-ping.C:
			go func() {
				pctx, pcancel := context.WithTimeout(ctx, a.srv.opts.WriteTimeout)
				defer pcancel()
				if err := a.conn.Ping(pctx); err != nil && ctx.Err() == nil {
					select {
					case pingFailed <- struct{}{}:
					default:
					}
				}
			}()
		case <-pingFailed:
			return a.close(websocket.StatusPolicyViolation, "ping timeout")
		}
	}
}

// readLoop forwards binary frames to the PTY and handles control messages; it returns why reading stopped.
func (a *attachment) readLoop(ctx context.Context) error {
	for {
		typ, data, err := a.conn.Read(ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageBinary {
			// Input to a session that is ending is dropped; the output side reports the exit.
			if err := a.sess.WriteInput(data); err != nil {
				a.log.Debug("input dropped", "err", err)
			}
			continue
		}
		msg, err := protocol.ParseControl(data)
		if err != nil {
			_ = a.writeJSON(ctx, protocol.Error{Type: protocol.TypeError, Message: err.Error()})
			continue
		}
		switch msg.Type {
		case protocol.TypePing:
			if err := a.write(ctx, websocket.MessageText, protocol.PongMessage); err != nil {
				return err
			}
		case protocol.TypeResize:
			if err := a.sess.Resize(msg.Cols, msg.Rows); err != nil {
				_ = a.writeJSON(ctx, protocol.Error{Type: protocol.TypeError, Message: "resize failed"})
			}
		}
	}
}

// attachRoute is what a WebSocket attach route adds to the checks admitAttach shares.
type attachRoute struct {
	name        string // starts the log message of a refusal: "<name> refused: origin"
	subprotocol string
	offered     bool // the client offered subprotocol
	// lookup finds what the client attaches to; a non-zero status refuses the attach with msg.
	lookup func() (status int, msg string)
}

// admitAttach runs, before Upgrade and in this order, the Origin, token, subprotocol and route lookup checks,
// answering the first that fails. Once admitted the connection counts towards CloseConnections, so the caller
// must call s.conns.Done when it ends.
func (s *Server) admitAttach(w http.ResponseWriter, r *http.Request, log *slog.Logger, route attachRoute) (auth.Claims, bool) {
	if origin := r.Header.Get("Origin"); origin != s.opts.AllowedOrigin {
		log.Info(route.name+" refused: origin", "origin", origin)
		writeError(w, http.StatusForbidden, "origin not allowed")
		return auth.Claims{}, false
	}
	token, _ := auth.WebSocketToken(r)
	claims, err := s.opts.Verifier.Verify(token)
	if err != nil {
		log.Info(route.name+" refused: token", "err", err)
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return auth.Claims{}, false
	}
	if !route.offered {
		writeError(w, http.StatusBadRequest, "the client must offer the "+route.subprotocol+" subprotocol")
		return auth.Claims{}, false
	}
	if status, msg := route.lookup(); status != 0 {
		writeError(w, status, msg)
		return auth.Claims{}, false
	}
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
		return auth.Claims{}, false
	}
	s.conns.Add(1)
	s.mu.Unlock()
	return claims, true
}
