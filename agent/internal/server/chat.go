package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	sdk "github.com/coder/acp-go-sdk"
	"github.com/coder/websocket"

	"github.com/simple-agent-manager/sam/agent/internal/acp"
	"github.com/simple-agent-manager/sam/agent/internal/auth"
	"github.com/simple-agent-manager/sam/agent/internal/chat"
	"github.com/simple-agent-manager/sam/agent/internal/protocol"
)

// ChatSubprotocol is the chat protocol's version (docs/agent-protocol.md), offered beside "bearer.<jwt>".
const ChatSubprotocol = "sam.chat.v1"

// chatReadLimit bounds one client frame: a prompt of up to 64 KiB of text and its envelope.
const chatReadLimit = 80 << 10

// Chat message types.
const (
	chatHello      = "hello"
	chatEvent      = "event"
	chatError      = "error"
	chatPrompt     = "prompt"
	chatCancel     = "cancel"
	chatPermission = "permission"
)

type chatServerMessage struct {
	Type     string     `json:"type"`
	Chat     *chat.Info `json:"chat,omitempty"`
	Protocol int        `json:"protocol,omitempty"`
	Event    *acp.Event `json:"event,omitempty"`
	Message  string     `json:"message,omitempty"`
	ClientID string     `json:"clientId,omitempty"`
}

type chatClientMessage struct {
	Type      string `json:"type"`
	ClientID  string `json:"clientId"`
	Text      string `json:"text"`
	RequestID string `json:"requestId"`
	OptionID  string `json:"optionId"`
}

func (s *Server) chatRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/chats", s.authenticated(s.listChats))
	mux.Handle("POST /api/chats", s.authenticated(s.createChat))
	mux.HandleFunc("GET /api/chats/{id}/attach", s.attachChat)
	mux.Handle("POST /api/chats/{id}/permissions/{requestId}", s.authenticated(s.answerPermission))
}

// answerPermission takes an answer given outside the chat page (a notification's Allow / Deny, relayed by
// the control plane): {"decision": "allow" | "deny"}, mapped to the request's "allow once" or "reject once"
// option as the adapter offered them.
func (s *Server) answerPermission(w http.ResponseWriter, r *http.Request, claims auth.Claims) {
	var req struct {
		Decision string `json:"decision"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kind, ok := map[string]sdk.PermissionOptionKind{"allow": sdk.PermissionOptionKindAllowOnce, "deny": sdk.PermissionOptionKindRejectOnce}[req.Decision]
	if !ok {
		writeError(w, http.StatusBadRequest, `decision must be "allow" or "deny"`)
		return
	}
	sess, err := s.opts.Chats.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "chat not found")
		return
	}
	requestID := r.PathValue("requestId")
	option, found := offeredOption(sess.Log(), requestID, kind)
	if !found {
		writeError(w, http.StatusNotFound, "no such permission request in this chat")
		return
	}
	if err := sess.Answer(requestID, option); err != nil {
		// Answered already (in the chat, or by another notification) or withdrawn with its turn.
		writeError(w, http.StatusConflict, "this permission request is no longer waiting: "+err.Error())
		return
	}
	s.opts.Logger.Info("permission answered from outside the chat", "chat", sess.ID(), "request", requestID, "decision", req.Decision, "sub", claims.Subject)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "option_id": option})
}

// offeredOption finds the option of the given kind a permission request offered, from its log event.
func offeredOption(log *acp.Log, requestID string, kind sdk.PermissionOptionKind) (sdk.PermissionOptionId, bool) {
	for _, event := range log.EventsAfter(0) {
		if event.Kind != acp.KindPermissionRequested {
			continue
		}
		var data struct {
			RequestID string                 `json:"requestId"`
			Options   []sdk.PermissionOption `json:"options"`
		}
		if json.Unmarshal(event.Data, &data) != nil || data.RequestID != requestID {
			continue
		}
		for _, option := range data.Options {
			if option.Kind == kind {
				return option.OptionId, true
			}
		}
		return "", false
	}
	return "", false
}

func (s *Server) listChats(w http.ResponseWriter, _ *http.Request, _ auth.Claims) {
	writeJSON(w, http.StatusOK, map[string]any{"chats": s.opts.Chats.List()})
}

func (s *Server) createChat(w http.ResponseWriter, r *http.Request, claims auth.Claims) {
	var req struct {
		Agent string `json:"agent"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	created, err := s.opts.Chats.Create(r.Context(), req.Agent)
	var unavailable *chat.UnavailableError
	switch {
	case errors.Is(err, chat.ErrUnknownAgent):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, chat.ErrTooMany):
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	case errors.As(err, &unavailable):
		status := http.StatusConflict
		if unavailable.Code == "credential_unavailable" {
			status = http.StatusBadGateway
		}
		writeJSON(w, status, map[string]string{"error": unavailable.Message, "code": unavailable.Code})
		return
	case err != nil:
		s.opts.Logger.Error("create chat", "err", err)
		writeError(w, http.StatusInternalServerError, "could not start the chat")
		return
	}
	s.opts.Logger.Info("chat created by user", "chat", created.ID(), "agent", req.Agent, "sub", claims.Subject)
	writeJSON(w, http.StatusCreated, created.Info())
}

// offersChat reports whether the client offered the chat subprotocol (the token is read by auth).
func offersChat(r *http.Request) bool {
	for _, header := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(header, ",") {
			if strings.TrimSpace(p) == ChatSubprotocol {
				return true
			}
		}
	}
	return false
}

// attachChat checks Origin, token, subprotocol and `after` before upgrading, then streams the chat's events
// after that sequence number and takes the client's prompts, cancels and permission answers.
func (s *Server) attachChat(w http.ResponseWriter, r *http.Request) {
	log := s.opts.Logger.With("remote", r.RemoteAddr, "chat", r.PathValue("id"))
	var after uint64
	var sess *chat.Session
	claims, ok := s.admitAttach(w, r, log, attachRoute{
		name:        "chat attach",
		subprotocol: ChatSubprotocol,
		offered:     offersChat(r),
		lookup: func() (int, string) {
			var err error
			if raw := r.URL.Query().Get("after"); raw != "" {
				if after, err = strconv.ParseUint(raw, 10, 64); err != nil {
					return http.StatusBadRequest, "after must be a sequence number (0 or more)"
				}
			}
			if sess, err = s.opts.Chats.Get(r.PathValue("id")); err != nil {
				return http.StatusNotFound, "chat not found"
			}
			return 0, ""
		},
	})
	if !ok {
		return
	}
	defer s.conns.Done()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{ChatSubprotocol},
		InsecureSkipVerify: true, // the Origin was compared exactly above
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		log.Info("chat upgrade failed", "err", err)
		return
	}
	conn.SetReadLimit(chatReadLimit)
	log = log.With("sub", claims.Subject)
	log.Info("chat client attached", "after", after)
	c := &chatConn{srv: s, conn: conn, sess: sess}
	detach := sess.Attach()
	code, reason := c.run(after)
	detach()
	log.Info("chat client detached", "code", int(code), "reason", reason)
}

type chatConn struct {
	srv  *Server
	conn *websocket.Conn
	sess *chat.Session
}

func (c *chatConn) send(ctx context.Context, msg chatServerMessage) error {
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, c.srv.opts.WriteTimeout)
	defer cancel()
	return c.conn.Write(wctx, websocket.MessageText, raw)
}

func (c *chatConn) close(code websocket.StatusCode, reason string) (websocket.StatusCode, string) {
	done := make(chan struct{})
	go func() {
		_ = c.conn.Close(code, reason)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = c.conn.CloseNow()
	}
	return code, reason
}

func (c *chatConn) run(after uint64) (websocket.StatusCode, string) {
	// Not the shutdown context: cancelling a read or write drops the connection without a close frame.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	info := c.sess.Info()
	if err := c.send(ctx, chatServerMessage{Type: chatHello, Chat: &info, Protocol: 1}); err != nil {
		return c.close(websocket.StatusGoingAway, "write failed")
	}
	events := make(chan acp.Event)
	logEnded := make(chan error, 1)
	go func() {
		sub := c.sess.Log().Subscribe(after)
		for {
			event, err := sub.Next(ctx)
			if err != nil {
				logEnded <- err
				return
			}
			select {
			case events <- event:
			case <-ctx.Done():
				return
			}
		}
	}()
	readErr := make(chan error, 1)
	go func() { readErr <- c.readLoop(ctx) }()
	ping := time.NewTicker(c.srv.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case event := <-events:
			if err := c.send(ctx, chatServerMessage{Type: chatEvent, Event: &event}); err != nil {
				return c.close(websocket.StatusGoingAway, "write failed")
			}
		case <-logEnded:
			if c.srv.ctx.Err() != nil {
				return c.close(protocol.CloseGoingAway, "agent shutting down")
			}
			return c.close(protocol.CloseSessionGone, "chat gone")
		case <-c.srv.ctx.Done():
			return c.close(protocol.CloseGoingAway, "agent shutting down")
		case err := <-readErr:
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, "client closed"
			}
			return c.close(websocket.StatusGoingAway, "read failed")
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, c.srv.opts.WriteTimeout)
			err := c.conn.Ping(pctx)
			pcancel()
			if err != nil {
				return c.close(websocket.StatusPolicyViolation, "ping timeout")
			}
		}
	}
}

// readLoop handles the client's messages. A prompt runs on the chat's own lifetime: the client learns how
// it went from the log (prompt_started, updates, prompt_ended), so a closed tab does not stop the turn.
func (c *chatConn) readLoop(ctx context.Context) error {
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			_ = c.send(ctx, chatServerMessage{Type: chatError, Message: "the chat protocol takes JSON text frames only"})
			continue
		}
		var msg chatClientMessage
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&msg); err != nil {
			_ = c.send(ctx, chatServerMessage{Type: chatError, Message: "invalid message: " + err.Error()})
			continue
		}
		if problem := c.handle(msg); problem != "" {
			_ = c.send(ctx, chatServerMessage{Type: chatError, Message: problem, ClientID: msg.ClientID})
		}
	}
}

func (c *chatConn) handle(msg chatClientMessage) string {
	switch msg.Type {
	case chatPrompt:
		if msg.ClientID == "" || len(msg.ClientID) > 100 || strings.TrimSpace(msg.Text) == "" {
			return "a prompt needs a clientId (at most 100 characters) and some text"
		}
		busy := make(chan error, 1)
		go func() {
			_, err := c.sess.Prompt(context.Background(), msg.ClientID, []sdk.ContentBlock{sdk.TextBlock(msg.Text)})
			busy <- err
		}()
		// ErrBusy and ErrClosed come back at once; a turn that started reports through the log.
		select {
		case err := <-busy:
			if errors.Is(err, acp.ErrBusy) || errors.Is(err, acp.ErrClosed) {
				return err.Error()
			}
		case <-time.After(100 * time.Millisecond):
		}
		return ""
	case chatCancel:
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.sess.Cancel(cctx); err != nil {
			return err.Error()
		}
		return ""
	case chatPermission:
		if err := c.sess.Answer(msg.RequestID, sdk.PermissionOptionId(msg.OptionID)); err != nil {
			return err.Error()
		}
		return ""
	default:
		return fmt.Sprintf("unknown message type %q", msg.Type)
	}
}
