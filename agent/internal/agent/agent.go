// Package agent wires the agent together: bootstrap, the HTTP/WebSocket server, sessions, the credential
// socket, boot steps and the heartbeat, and drains them on shutdown.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/auth"
	"github.com/simple-agent-manager/sam/agent/internal/bootstrap"
	"github.com/simple-agent-manager/sam/agent/internal/chat"
	"github.com/simple-agent-manager/sam/agent/internal/config"
	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/credential"
	"github.com/simple-agent-manager/sam/agent/internal/heartbeat"
	"github.com/simple-agent-manager/sam/agent/internal/server"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
	"github.com/simple-agent-manager/sam/agent/internal/version"
)

// drainTimeout bounds the graceful part of shutdown.
const drainTimeout = 10 * time.Second

// Options are what Run needs besides the configuration.
type Options struct {
	Executable string // path of this binary, for the git credential helper
	Logger     *slog.Logger
	// Listening, if set, is called with the bound address once the server accepts connections.
	Listening func(addr net.Addr)
}

// Run runs the agent until ctx ends (a signal) or the control plane asks it to stop; both drain and return nil.
func Run(ctx context.Context, cfg config.Config, opts Options) error {
	log := opts.Logger
	if err := makeDataDir(cfg.DataDir); err != nil {
		return err
	}

	var st *state.Store
	var cp *controlplane.Client
	var tlsConfig *tls.Config
	if !cfg.SkipBootstrap {
		var err error
		cp = controlplane.New(cfg.ControlPlaneURL, cfg.WorkspaceID, func() string { return st.CallbackToken() })
		st, tlsConfig, err = redeem(ctx, cfg, cp, log)
		if err != nil {
			return err
		}
	}

	verifier, err := auth.NewVerifier(ctx, cfg.JWKSURL, cfg.JWTIssuer, cfg.WorkspaceID)
	if err != nil {
		return err
	}
	user, err := sessionUser(cfg, log)
	if err != nil {
		return err
	}
	sessions := session.NewManager(session.Options{
		Shell: cfg.Shell, Dir: cfg.WorkspaceDir, Env: session.Environment(user, cfg.Shell, cfg.ToolsDir, os.Environ()),
		User: user, ScrollbackLines: cfg.ScrollbackLines, Grace: cfg.SessionGrace, Logger: log,
	})
	chats, err := newChats(cfg, cp, user, log)
	if err != nil {
		return err
	}
	srv := server.New(server.Options{
		AllowedOrigin: cfg.AllowedOrigin, Verifier: verifier, Sessions: sessions, Logger: log, Version: version.String(),
		Chats: chats,
	})
	access := newTerminalAccess(verifier, log)
	httpServer := newHTTPServer(access.Handler(srv.Handler()), tlsConfig, log)
	serveErr, err := startServing(cfg, opts, httpServer, tlsConfig, log)
	if err != nil {
		return err
	}

	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	go sessions.RunReaper(bg, time.Minute)
	stopRequested := make(chan struct{})
	if !cfg.SkipBootstrap {
		if err := makeRunDir(cfg.RunDir); err != nil {
			return err
		}
		startBootTasks(bg, cfg, opts, cp, st, sessions, chats, user, access, stopRequested, log)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("signal received; draining (a second signal kills)")
	case <-stopRequested:
		log.Info("control plane asked to stop (or revoked this run); draining")
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}

	drain(srv, httpServer, sessions, stopBackground, st, log)
	if chats != nil {
		chats.Close()
	}
	return runErr
}

// startServing binds cfg.ListenAddr (TLS when tlsConfig is set), serves httpServer on it in the background
// and reports the bound address; the channel carries Serve's end.
func startServing(cfg config.Config, opts Options, httpServer *http.Server, tlsConfig *tls.Config, log *slog.Logger) (<-chan error, error) {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.ListenAddr, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	log.Info("agent listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "version", version.String(), "workspace", cfg.WorkspaceID)
	if opts.Listening != nil {
		opts.Listening(ln.Addr())
	}
	return serveErr, nil
}

// newChats holds the coding-agent chats; without a control plane (benchmarks) there is no credential to
// fetch and no chat.
func newChats(cfg config.Config, cp *controlplane.Client, user *session.User, log *slog.Logger) (*chat.Manager, error) {
	if cp == nil {
		return nil, nil
	}
	return chat.NewManager(chat.Options{
		WorkspaceDir: cfg.WorkspaceDir, LogDir: cfg.DataDir + "/chats", ToolsDir: cfg.ToolsDir, User: user,
		Env:         session.Environment(user, cfg.Shell, cfg.ToolsDir, os.Environ()),
		Upstreams:   map[string]string{"anthropic": cfg.AnthropicURL, "openai": cfg.OpenAIURL},
		Credentials: cp.ModelCredential, Logger: log.With("component", "chat"),
	})
}

func makeDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// makeRunDir makes the credential socket's directory, which the session user must be able to enter.
func makeRunDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	return nil
}

// sessionUser is who terminals and the clone run as; without one (tests, benchmarks) they run as the agent.
func sessionUser(cfg config.Config, log *slog.Logger) (*session.User, error) {
	if cfg.SessionUser == "" {
		if os.Getuid() == 0 {
			log.Warn("SAM_SESSION_USER is not set: terminals run as root and can read the agent's state")
		}
		return nil, nil
	}
	user, err := session.LookupUser(cfg.SessionUser, cfg.SessionHome)
	if err != nil {
		return nil, fmt.Errorf("SAM_SESSION_USER: %w", err)
	}
	return user, nil
}

func newHTTPServer(h http.Handler, tlsConfig *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// drain closes WebSockets (1001) and the HTTP server within drainTimeout, then ends sessions and background
// tasks and saves the state one last time.
func drain(srv *server.Server, httpServer *http.Server, sessions *session.Manager, stopBackground func(), st *state.Store, log *slog.Logger) {
	drainCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.CloseConnections(drainCtx); err != nil {
		log.Warn("websockets did not close in time", "err", err)
	}
	if err := httpServer.Shutdown(drainCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	sessions.Close()
	stopBackground()
	if st != nil {
		if err := st.Save(); err != nil {
			log.Error("final state save", "err", err)
		}
	}
	log.Info("agent stopped")
}

func redeem(ctx context.Context, cfg config.Config, cp *controlplane.Client, log *slog.Logger) (*state.Store, *tls.Config, error) {
	csr := ""
	var keyPEM []byte
	if cfg.TLS {
		var err error
		pemKey, key, err := bootstrap.LoadOrCreateKey(cfg.TLSKeyPath())
		if err != nil {
			return nil, nil, err
		}
		keyPEM = pemKey
		if csr, err = bootstrap.CSR(key, cfg.Hostname); err != nil {
			return nil, nil, err
		}
	}
	st, err := bootstrap.Redeem(ctx, cp, cfg.StatePath(), cfg.BootstrapToken, csr, bootstrap.DefaultBackoff, log)
	if err != nil {
		return nil, nil, err
	}
	if !cfg.TLS {
		return st, nil, nil
	}
	certPEM := st.Get().Certificate
	if certPEM == nil || *certPEM == "" {
		return nil, nil, errors.New("tls: the control plane returned no certificate (set SAM_TLS=off to serve plain HTTP)")
	}
	pair, err := tls.X509KeyPair([]byte(*certPEM), keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: certificate does not match the VM key: %w", err)
	}
	if err := state.WriteFileAtomic(cfg.TLSCertPath(), []byte(*certPEM)); err != nil {
		return nil, nil, err
	}
	return st, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func startBootTasks(ctx context.Context, cfg config.Config, opts Options, cp *controlplane.Client, st *state.Store,
	sessions *session.Manager, chats *chat.Manager, user *session.User, access *terminalAccess, stopRequested chan<- struct{}, log *slog.Logger) {
	repoScheme, repoHost := "https", "github.com"
	if repo := st.Get().Repository; repo != nil {
		if u, err := url.Parse(repo.CloneURL); err == nil && u.Host != "" {
			repoScheme, repoHost = u.Scheme, u.Host
		}
	}
	creds := &credential.Server{
		Path: cfg.CredentialSocketPath(), Protocol: repoScheme, Host: repoHost, Log: log,
		Tokens: &credential.TokenSource{Fetch: cp.GitToken},
	}
	if user != nil {
		creds.SessionUID, creds.SessionGID = &user.UID, &user.GID
	}
	go func() {
		if err := creds.Serve(ctx); err != nil {
			log.Error("credential socket stopped", "err", err)
		}
	}()
	steps := &bootstrap.Steps{
		CP: cp, State: st, WorkspaceDir: cfg.WorkspaceDir, Log: log,
		HelperCommand: credential.HelperCommand(opts.Executable, cfg.CredentialSocketPath()),
		User:          user, UserEnv: session.Environment(user, cfg.Shell, cfg.ToolsDir, os.Environ()),
		ToolsDir: cfg.ToolsDir, AgentEnv: os.Environ(),
	}
	go func() {
		if err := steps.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("boot steps", "err", err)
		}
	}()
	hb := &heartbeat.Loop{
		CP: cp, State: st, Interval: cfg.HeartbeatInterval, Activity: sessions.Activity,
		TurnInFlight:  chats.TurnInFlight,
		EndedSessions: access.End, Log: log,
	}
	go func() {
		// A revoked run drains like a stop: its terminals close and nothing new attaches.
		err := hb.Run(ctx)
		if errors.Is(err, heartbeat.ErrStopRequested) || errors.Is(err, heartbeat.ErrRevoked) {
			if errors.Is(err, heartbeat.ErrRevoked) {
				log.Warn("callback token revoked", "err", err)
			}
			close(stopRequested)
		}
	}()
}
