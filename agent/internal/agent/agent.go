// Package agent wires the agent together: bootstrap, the HTTP/WebSocket server, sessions, the credential
// socket, boot steps and the heartbeat, and drains them on shutdown.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/auth"
	"github.com/simple-agent-manager/sam/agent/internal/bootstrap"
	"github.com/simple-agent-manager/sam/agent/internal/chat"
	"github.com/simple-agent-manager/sam/agent/internal/config"
	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/credential"
	"github.com/simple-agent-manager/sam/agent/internal/heartbeat"
	"github.com/simple-agent-manager/sam/agent/internal/repostatus"
	"github.com/simple-agent-manager/sam/agent/internal/server"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
	"github.com/simple-agent-manager/sam/agent/internal/task"
	"github.com/simple-agent-manager/sam/agent/internal/userenv"
	"github.com/simple-agent-manager/sam/agent/internal/version"
	"github.com/simple-agent-manager/sam/agent/internal/volume"
)

// Shutdown budget: the whole drain ends within about 15 s (systemd's stop, Hetzner's ACPI shutdown), and a
// second signal kills at once.
const (
	websocketDrain = 2 * time.Second
	httpDrain      = time.Second
	hangupGrace    = 2 * time.Second
	lastBeatLimit  = 3 * time.Second
)

// recordEvery is how often the terminal tabs (names and current directories) are written to the volume.
const recordEvery = 30 * time.Second

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
	layout, err := prepareVolume(ctx, &cfg, cp, user, log)
	if err != nil {
		return err
	}
	vars := userenv.New(nil, log)
	if cp != nil {
		vars = userenv.New(cp.Environment, log)
		if err := vars.Refresh(ctx); err != nil {
			log.Warn("workspace environment variables not fetched at boot", "err", err)
		}
	}
	userEnv := session.Environment(user, cfg.Shell, cfg.ToolsDir, os.Environ())
	var restoring atomic.Bool
	sessionOpts := session.Options{
		Shell: cfg.Shell, Dir: cfg.WorkspaceDir, Env: userEnv,
		User: user, ScrollbackLines: cfg.ScrollbackLines, Grace: cfg.SessionGrace, Logger: log,
	}
	if cp != nil {
		// Fetched again for each new terminal, so a variable changed in Settings reaches the next one.
		sessionOpts.ExtraEnv = func() []string {
			if restoring.Load() {
				return vars.Env()
			}
			return vars.Fresh(context.Background())
		}
	}
	sessions := session.NewManager(sessionOpts)
	chats, err := newChats(cfg, cp, st, user, userEnv, vars, layout, log)
	if err != nil {
		return err
	}
	srv := server.New(server.Options{
		AllowedOrigin: cfg.AllowedOrigin, Verifier: verifier, Sessions: sessions, Logger: log, Version: version.String(),
		Chats: chats, Changes: taskChanges(cfg, st, user, userEnv),
	})
	access := newTerminalAccess(verifier, log)
	httpServer := newHTTPServer(access.Handler(srv.Handler()), tlsConfig, log)
	if layout != nil {
		restoring.Store(true)
		restoreTerminals(sessions, layout.TerminalsPath(), log)
		restoring.Store(false)
	}
	serveErr, err := startServing(cfg, opts, httpServer, tlsConfig, log)
	if err != nil {
		return err
	}

	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	go sessions.RunReaper(bg, time.Minute)
	var recorder *terminalRecorder
	if layout != nil {
		recorder = startTerminalRecorder(sessions, layout.TerminalsPath(), log)
	}
	stopRequested := make(chan struct{})
	var hb *heartbeat.Loop
	var unsaved *repostatus.Checker
	if !cfg.SkipBootstrap {
		if err := makeRunDir(cfg.RunDir); err != nil {
			return err
		}
		unsaved = &repostatus.Checker{Dir: cfg.WorkspaceDir, User: user, Env: userEnv}
		hb = startBootTasks(bg, cfg, opts, bootDeps{cp: cp, st: st, sessions: sessions, chats: chats, user: user,
			userEnv: userEnv, vars: vars, layout: layout, unsaved: unsaved, access: access}, stopRequested, log)
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

	drain(shutdown{srv: srv, httpServer: httpServer, sessions: sessions, chats: chats, stopBackground: stopBackground,
		recorder: recorder, hb: hb, unsaved: unsaved, st: st, layout: layout}, log)
	return runErr
}

// prepareVolume puts the repository, the user's home and the agent's records on the workspace's volume, when
// there is one, and points cfg.WorkspaceDir (and user.Home) where they now are. A volume that does not
// appear stops the agent: working on the server's disk would lose everything at the next stop.
func prepareVolume(ctx context.Context, cfg *config.Config, cp *controlplane.Client, user *session.User, log *slog.Logger) (*volume.Layout, error) {
	if cfg.VolumeDir == "" {
		return nil, nil
	}
	layout, err := volume.Prepare(ctx, volume.Options{Dir: cfg.VolumeDir, Mode: cfg.VolumeMount, WorkspaceDir: cfg.WorkspaceDir, User: user, Log: log})
	if err != nil {
		if cp != nil {
			if reportErr := cp.BootLog(ctx, "volume", "error", err.Error()); reportErr != nil {
				log.Warn("boot-log failed", "step", "volume", "err", reportErr)
			}
		}
		return nil, fmt.Errorf("volume: %w", err)
	}
	cfg.WorkspaceDir = layout.WorkspaceDir
	return &layout, nil
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
func newChats(cfg config.Config, cp *controlplane.Client, st *state.Store, user *session.User, userEnv []string,
	vars *userenv.Store, layout *volume.Layout, log *slog.Logger) (*chat.Manager, error) {
	if cp == nil {
		return nil, nil
	}
	logDir := cfg.DataDir + "/chats"
	if layout != nil {
		logDir = layout.ChatLogDir() // the conversations outlive the server with the volume
	}
	return chat.NewManager(chat.Options{
		WorkspaceDir: cfg.WorkspaceDir, LogDir: logDir, ToolsDir: cfg.ToolsDir, User: user,
		Env: userEnv, UserEnv: vars,
		Upstreams:   map[string]string{"anthropic": cfg.AnthropicURL, "openai": cfg.OpenAIURL},
		Credentials: cp.ModelCredential, Logger: log.With("component", "chat"),
		Waiting: &chat.Waiting{
			Delay:  time.Duration(st.Get().PermissionNotifyDelaySeconds) * time.Second,
			Notify: cp.Event, Logger: log.With("component", "chat"),
		},
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

// shutdown is what the drain stops.
type shutdown struct {
	srv            *server.Server
	httpServer     *http.Server
	sessions       *session.Manager
	chats          *chat.Manager
	stopBackground func()
	recorder       *terminalRecorder
	hb             *heartbeat.Loop
	unsaved        *repostatus.Checker
	st             *state.Store
	layout         *volume.Layout
}

// drain stops taking work (WebSockets closed with 1001, no new requests), hangs up the terminals after
// recording where their shells were, stops the coding agents, sends a last heartbeat with the unsaved work
// counted afresh, and flushes everything on the volume to disk.
func drain(d shutdown, log *slog.Logger) {
	started := time.Now()
	wsCtx, cancel := context.WithTimeout(context.Background(), websocketDrain)
	if err := d.srv.CloseConnections(wsCtx); err != nil {
		log.Warn("websockets did not close in time", "err", err)
	}
	cancel()
	httpCtx, cancel := context.WithTimeout(context.Background(), httpDrain)
	if err := d.httpServer.Shutdown(httpCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	cancel()
	d.stopBackground()
	if d.recorder != nil {
		d.recorder.stop() // the last record, with the directories the shells are in now
	}
	d.sessions.Shutdown(hangupGrace)
	if d.chats != nil {
		d.chats.Close()
	}
	if d.hb != nil {
		beatCtx, cancel := context.WithTimeout(context.Background(), lastBeatLimit)
		if err := d.hb.Last(beatCtx, d.unsaved.Now(beatCtx)); err != nil {
			log.Warn("last heartbeat failed", "err", err)
		}
		cancel()
	}
	if d.st != nil {
		if err := d.st.Save(); err != nil {
			log.Error("final state save", "err", err)
		}
	}
	if d.layout != nil {
		syncTree(d.layout.AgentDir, log)
	}
	syscall.Sync() // the repository and home on the volume too, before the server is deleted
	log.Info("agent stopped", "took", time.Since(started).Round(time.Millisecond))
}

// syncTree fsyncs every file under dir: the event logs and records the agent wrote there.
func syncTree(dir string, log *slog.Logger) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !(d.IsDir() || d.Type().IsRegular()) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		if err := f.Sync(); err != nil {
			log.Warn("fsync", "path", path, "err", err)
		}
		f.Close()
		return nil
	})
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

// bootDeps are what the boot tasks work with.
type bootDeps struct {
	cp       *controlplane.Client
	st       *state.Store
	sessions *session.Manager
	chats    *chat.Manager
	user     *session.User
	userEnv  []string
	vars     *userenv.Store
	layout   *volume.Layout
	unsaved  *repostatus.Checker
	access   *terminalAccess
}

// startBootTasks starts the credential socket, the boot steps (clone, CLI, ready, setup) and the heartbeat,
// and returns the heartbeat loop for the drain's last beat.
func startBootTasks(ctx context.Context, cfg config.Config, opts Options, d bootDeps, stopRequested chan<- struct{}, log *slog.Logger) *heartbeat.Loop {
	repoScheme, repoHost := "https", "github.com"
	if repo := d.st.Get().Repository; repo != nil {
		if u, err := url.Parse(repo.CloneURL); err == nil && u.Host != "" {
			repoScheme, repoHost = u.Scheme, u.Host
		}
	}
	creds := &credential.Server{
		Path: cfg.CredentialSocketPath(), Protocol: repoScheme, Host: repoHost, Log: log,
		Tokens: &credential.TokenSource{Fetch: d.cp.GitToken},
	}
	if d.user != nil {
		creds.SessionUID, creds.SessionGID = &d.user.UID, &d.user.GID
	}
	go func() {
		if err := creds.Serve(ctx); err != nil {
			log.Error("credential socket stopped", "err", err)
		}
	}()
	steps := &bootstrap.Steps{
		CP: d.cp, State: d.st, WorkspaceDir: cfg.WorkspaceDir, Log: log,
		HelperCommand: credential.HelperCommand(opts.Executable, cfg.CredentialSocketPath()),
		User:          d.user, UserEnv: d.userEnv,
		ToolsDir: cfg.ToolsDir, AgentEnv: os.Environ(),
		UserVariables: d.vars.Fresh,
	}
	if d.layout != nil {
		steps.SetupMarkerPath = d.layout.SetupMarkerPath()
	}
	runner := taskRunner(cfg, d, log)
	if runner != nil {
		steps.AfterClone = func(ctx context.Context) {
			if err := runner.Git.CheckoutBranch(ctx, runner.Task.Branch, runner.Task.BaseBranch); err != nil {
				steps.Report(ctx, "branch", "error", "could not check out "+runner.Task.Branch+": "+err.Error())
				return
			}
			steps.Report(ctx, "branch", "ok", "on "+runner.Task.Branch+", from "+runner.Task.BaseBranch)
		}
	}
	go func() {
		if err := steps.Run(ctx); err != nil {
			if ctx.Err() == nil {
				log.Error("boot steps", "err", err)
			}
			return
		}
		if runner != nil {
			runner.Run(ctx)
		}
	}()
	hb := &heartbeat.Loop{
		CP: d.cp, State: d.st, Interval: cfg.HeartbeatInterval, Activity: d.sessions.Activity,
		TurnInFlight:  d.chats.TurnInFlight,
		EndedSessions: d.access.End, UnsavedWork: d.unsaved.Current, Log: log,
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
	return hb
}

// taskRunner is the runner of the workspace's task, or nil when it runs none (or has no repository).
func taskRunner(cfg config.Config, d bootDeps, log *slog.Logger) *task.Runner {
	st := d.st.Get()
	if st.Task == nil || st.Repository == nil || d.chats == nil {
		return nil
	}
	return &task.Runner{
		Task:   *st.Task,
		Git:    task.Git{Dir: cfg.WorkspaceDir, User: d.user, Env: d.userEnv},
		Pusher: task.Pusher{Mirror: filepath.Join(cfg.DataDir, "task-push.git"), Source: cfg.WorkspaceDir, Remote: st.Repository.CloneURL, Env: os.Environ()},
		Chats:  d.chats, CP: d.cp, Log: log.With("component", "task", "task", st.Task.ID),
	}
}

// taskChanges lists what the workspace's task changed against its base (GET /api/changes), or is nil when
// the workspace runs no task.
func taskChanges(cfg config.Config, st *state.Store, user *session.User, userEnv []string) func(context.Context) (any, error) {
	if st == nil || st.Get().Task == nil {
		return nil
	}
	t := *st.Get().Task
	return func(ctx context.Context) (any, error) {
		return task.Git{Dir: cfg.WorkspaceDir, User: user, Env: userEnv}.Changes(ctx, t.Branch, t.BaseBranch)
	}
}
