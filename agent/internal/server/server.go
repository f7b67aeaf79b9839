// Package server holds the agent's HTTP API: health, session management and the WebSocket attach endpoint,
// with CORS and authentication in front of every handler that needs them.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/simple-agent-manager/sam/agent/internal/auth"
	"github.com/simple-agent-manager/sam/agent/internal/chat"
	"github.com/simple-agent-manager/sam/agent/internal/protocol"
	"github.com/simple-agent-manager/sam/agent/internal/session"
)

const maxBodyBytes = 16 << 10

// Options configure a Server.
type Options struct {
	AllowedOrigin string
	Verifier      *auth.Verifier
	Sessions      *session.Manager
	Logger        *slog.Logger
	Version       string
	Started       time.Time
	// PingInterval between server WebSocket pings; default 15s.
	PingInterval time.Duration
	// WriteTimeout bounds every WebSocket write; default 10s.
	WriteTimeout time.Duration
	// Chats, if set, serves the coding-agent chats (chat.go).
	Chats *chat.Manager
	// Changes, if set, answers GET /api/changes: what the workspace's task changed against its base.
	Changes func(ctx context.Context) (any, error)
}

// Server serves the agent API.
type Server struct {
	opts     Options
	ctx      context.Context // cancelled when the agent shuts down
	cancel   context.CancelFunc
	conns    sync.WaitGroup
	draining bool
	mu       sync.Mutex
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = 15 * time.Second
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{opts: opts, ctx: ctx, cancel: cancel}
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	if s.opts.Changes != nil {
		mux.Handle("GET /api/changes", s.authenticated(s.changes))
	}
	mux.Handle("GET /api/sessions", s.authenticated(s.listSessions))
	mux.Handle("POST /api/sessions", s.authenticated(s.createSession))
	mux.Handle("PATCH /api/sessions/{id}", s.authenticated(s.renameSession))
	mux.Handle("DELETE /api/sessions/{id}", s.authenticated(s.deleteSession))
	mux.HandleFunc("GET /api/sessions/{id}/attach", s.attach)
	if s.opts.Chats != nil {
		s.chatRoutes(mux)
	}
	return s.cors(mux)
}

// CloseConnections closes every WebSocket with 1001 and waits for their handlers to end.
func (s *Server) CloseConnections(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close websockets: %w", ctx.Err())
	}
}

func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && origin == s.opts.AllowedOrigin
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				writeError(w, http.StatusForbidden, "origin not allowed")
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authenticated(next func(http.ResponseWriter, *http.Request, auth.Claims)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := s.opts.Verifier.Verify(auth.BearerToken(r))
		if err != nil {
			s.opts.Logger.Info("request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="sam-agent"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		next(w, r, claims)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status":         "ok",
		"version":        s.opts.Version,
		"uptime_seconds": int64(time.Since(s.opts.Started).Seconds()),
		"sessions":       len(s.opts.Sessions.List()),
	})
}

func (s *Server) listSessions(w http.ResponseWriter, _ *http.Request, _ auth.Claims) {
	list := s.opts.Sessions.List()
	infos := make([]protocol.SessionInfo, 0, len(list))
	for _, sess := range list {
		infos = append(infos, sess.Info())
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": infos})
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

func validName(name string) error {
	if utf8.RuneCountInString(name) > session.MaxNameLength || !utf8.ValidString(name) {
		return fmt.Errorf("name must be valid UTF-8 of at most %d characters", session.MaxNameLength)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errors.New("name must not contain control characters")
		}
	}
	return nil
}

type createRequest struct {
	Name    *string  `json:"name"`
	Cols    *int     `json:"cols"`
	Rows    *int     `json:"rows"`
	Command []string `json:"command"`
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, claims auth.Claims) {
	var req createRequest
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	cr := session.CreateRequest{Command: req.Command}
	if req.Name != nil {
		if err := validName(*req.Name); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		cr.Name = strings.TrimSpace(*req.Name)
	}
	if req.Cols != nil {
		cr.Cols = *req.Cols
		if !protocol.ValidDimension(cr.Cols) {
			writeError(w, http.StatusBadRequest, "cols must be 1..1000")
			return
		}
	}
	if req.Rows != nil {
		cr.Rows = *req.Rows
		if !protocol.ValidDimension(cr.Rows) {
			writeError(w, http.StatusBadRequest, "rows must be 1..1000")
			return
		}
	}
	if req.Command != nil && (len(req.Command) == 0 || req.Command[0] == "" || len(req.Command) > 64) {
		writeError(w, http.StatusBadRequest, "command must be a non-empty array of at most 64 strings")
		return
	}
	sess, err := s.opts.Sessions.Create(cr)
	switch {
	case errors.Is(err, session.ErrTooMany):
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	case err != nil:
		s.opts.Logger.Error("create session", "err", err)
		writeError(w, http.StatusInternalServerError, "could not start the session")
		return
	}
	s.opts.Logger.Info("session created by user", "session", sess.ID(), "sub", claims.Subject)
	writeJSON(w, http.StatusCreated, sess.Info())
}

func (s *Server) renameSession(w http.ResponseWriter, r *http.Request, _ auth.Claims) {
	var req struct {
		Name *string `json:"name"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		writeError(w, http.StatusBadRequest, "name is required")
		return
	}
	if err := validName(*req.Name); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sess, err := s.opts.Sessions.Rename(r.PathValue("id"), strings.TrimSpace(*req.Name))
	if err != nil {
		writeError(w, http.StatusNotFound, "session not found")
		return
	}
	writeJSON(w, http.StatusOK, sess.Info())
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, claims auth.Claims) {
	if err := s.opts.Sessions.Delete(r.PathValue("id")); err != nil {
		writeError(w, http.StatusNotFound, "session not found")
		return
	}
	s.opts.Logger.Info("session deleted by user", "session", r.PathValue("id"), "sub", claims.Subject)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request, _ auth.Claims) {
	changes, err := s.opts.Changes(r.Context())
	if err != nil {
		s.opts.Logger.Warn("changes", "err", err)
		writeError(w, http.StatusInternalServerError, "could not list the task's changes: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, changes)
}
