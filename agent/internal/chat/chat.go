// Package chat keeps a workspace's coding-agent conversations: one acp.Session per chat, its adapter started
// as the workspace user with the model provider reached through a loopback modelproxy (one per provider),
// and the owner's real credential fetched from the control plane only when a model request needs it.
package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/simple-agent-manager/sam/agent/internal/acp"
	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/modelproxy"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/userenv"
)

// Agent is how to run one coding agent's ACP adapter.
type Agent struct {
	// Command is the adapter's executable in the tools prefix's bin/ (npm installs it there at boot).
	Command  string
	Provider string
	// Mode is set on every conversation when offered: Claude Code's "default" asks before edits and commands.
	Mode sdk.SessionModeId
}

// Agents are the coding agents a chat can run, by the names the control plane uses.
var Agents = map[string]Agent{
	"claude-code": {Command: "claude-agent-acp", Provider: "anthropic", Mode: "default"},
	"codex":       {Command: "codex-acp", Provider: "openai"},
}

// MaxSessions bounds the chats of one workspace (each holds an adapter and its runtime when active).
const MaxSessions = 16

// credentialTTL is how long a fetched credential is reused: a turn makes many model requests in a row, and
// asking the control plane for each would be slow and flood the audit log.
const credentialTTL = time.Minute

var (
	ErrUnknownAgent = errors.New("unknown coding agent: use claude-code or codex")
	ErrNotFound     = errors.New("chat session not found")
	ErrTooMany      = fmt.Errorf("a workspace has at most %d chat sessions: delete one first", MaxSessions)
)

// UnavailableError says why a chat cannot start, in words for the person who asked (a missing credential,
// an adapter that is not installed).
type UnavailableError struct {
	Code    string // missing_credential, not_installed, credential_unavailable
	Message string
}

func (e *UnavailableError) Error() string { return e.Message }

// CredentialSource fetches the owner's model credential for an agent (controlplane.Client.ModelCredential).
type CredentialSource func(ctx context.Context, agent string) (controlplane.ModelCredential, error)

// Options configure a Manager.
type Options struct {
	WorkspaceDir string
	// LogDir holds each chat's event log and its small description file (owner-only).
	LogDir   string
	ToolsDir string
	// Env is the workspace user's session environment (session.Environment); the provider's variables are added.
	Env  []string
	User *session.User
	// Upstreams maps a provider (anthropic, openai) to its API base URL.
	Upstreams   map[string]string
	Transport   http.RoundTripper
	Credentials CredentialSource
	Logger      *slog.Logger
	// StopGrace is passed to each acp.Session (0: its default).
	StopGrace time.Duration
	// UserEnv holds the user's workspace environment variables, exported to the adapter (and so to what the
	// coding agent runs); refreshed before each new chat. nil: none.
	UserEnv *userenv.Store
	// Waiting, when set, tells the control plane about permission requests nobody is watching.
	Waiting *Waiting
}

// Info describes a chat for the browser.
type Info struct {
	ID        string    `json:"id"`
	Agent     string    `json:"agent"`
	CreatedAt time.Time `json:"created_at"`
	Busy      bool      `json:"busy"`
	LastSeq   uint64    `json:"last_seq"`
	// Title is the start of the chat's first prompt ("" before the first one).
	Title string `json:"title"`
	// LastActivityAt is when the chat's newest event was logged (its creation when there is none).
	LastActivityAt time.Time `json:"last_activity_at"`
}

// maxTitleRunes bounds a chat's title in the list.
const maxTitleRunes = 80

// Session is one chat.
type Session struct {
	*acp.Session
	id      string
	agent   string
	created time.Time
	revoke  func()

	titleMu sync.Mutex
	title   string

	viewers atomic.Int32
}

// Attach counts a browser that has the chat open until the returned func is called.
func (s *Session) Attach() (detach func()) {
	s.viewers.Add(1)
	var once sync.Once
	return func() { once.Do(func() { s.viewers.Add(-1) }) }
}

// Viewers is how many browsers have the chat open.
func (s *Session) Viewers() int { return int(s.viewers.Load()) }

// ID is the chat's id.
func (s *Session) ID() string { return s.id }

// Info describes the chat now.
func (s *Session) Info() Info {
	last := s.Log().LastSeq()
	info := Info{ID: s.id, Agent: s.agent, CreatedAt: s.created, Busy: s.Busy(), LastSeq: last, Title: s.firstPrompt(), LastActivityAt: s.created}
	if last > 0 {
		if events := s.Log().EventsAfter(last - 1); len(events) > 0 {
			info.LastActivityAt = events[0].Time
		}
	}
	return info
}

// firstPrompt is the start of the text of the chat's first prompt, found once in the log.
func (s *Session) firstPrompt() string {
	s.titleMu.Lock()
	defer s.titleMu.Unlock()
	if s.title != "" {
		return s.title
	}
	for _, event := range s.Log().EventsAfter(0) {
		if event.Kind != acp.KindPromptStarted {
			continue
		}
		var data struct {
			Prompt []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"prompt"`
		}
		if json.Unmarshal(event.Data, &data) != nil {
			continue
		}
		var text []string
		for _, block := range data.Prompt {
			if block.Type == "text" {
				text = append(text, block.Text)
			}
		}
		s.title = titleOf(strings.Join(text, " "))
		if s.title != "" {
			break
		}
	}
	return s.title
}

// titleOf is text on one line, cut to maxTitleRunes.
func titleOf(text string) string {
	runes := []rune(strings.Join(strings.Fields(text), " "))
	if len(runes) > maxTitleRunes {
		return string(runes[:maxTitleRunes-1]) + "…"
	}
	return string(runes)
}

type description struct {
	Agent     string    `json:"agent"`
	CreatedAt time.Time `json:"created_at"`
}

type cachedCredential struct {
	credential modelproxy.Credential
	expires    time.Time
}

// Manager holds the workspace's chats.
type Manager struct {
	opts Options

	// ctx ends with Close: the chats' watchers stop with it.
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	proxies     map[string]*modelproxy.Proxy
	sessions    map[string]*Session
	credentials map[string]cachedCredential
	closed      bool
}

// NewManager reopens the chats found in LogDir (a restarted agent, or a restarted workspace whose volume
// kept them); their adapters start again with the next prompt.
func NewManager(opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{opts: opts, proxies: map[string]*modelproxy.Proxy{}, sessions: map[string]*Session{}, credentials: map[string]cachedCredential{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if err := os.MkdirAll(opts.LogDir, 0o700); err != nil {
		return nil, fmt.Errorf("chat log directory: %w", err)
	}
	found, _ := filepath.Glob(filepath.Join(opts.LogDir, "*.json"))
	for _, path := range found {
		raw, err := os.ReadFile(path)
		var d description
		if err == nil {
			err = json.Unmarshal(raw, &d)
		}
		id := strings.TrimSuffix(filepath.Base(path), ".json")
		if err != nil {
			opts.Logger.Warn("chat left out: its description is unreadable", "chat", id, "err", err)
			continue
		}
		if _, err := m.open(id, d); err != nil {
			opts.Logger.Warn("chat left out", "chat", id, "err", err)
		}
	}
	return m, nil
}

// Create starts a chat with agent. Nothing runs yet, but the owner must have a credential for it and its
// adapter must be installed, so the person is told now rather than at the first message.
func (m *Manager) Create(ctx context.Context, agent string) (*Session, error) {
	spec, ok := Agents[agent]
	if !ok {
		return nil, ErrUnknownAgent
	}
	if _, err := os.Stat(m.adapterPath(spec)); err != nil {
		return nil, &UnavailableError{Code: "not_installed", Message: fmt.Sprintf(
			"The %s adapter is not installed in %s, so the chat cannot start: see the workspace's install-agent-cli step on its timeline.",
			spec.Command, filepath.Join(m.opts.ToolsDir, "bin"))}
	}
	if _, err := m.credential(ctx, agent); err != nil {
		return nil, err
	}
	if err := m.opts.UserEnv.Refresh(ctx); err != nil {
		m.opts.Logger.Warn("workspace environment variables not fetched; the chat gets the last ones", "err", err)
	}
	m.mu.Lock()
	count := len(m.sessions)
	m.mu.Unlock()
	if count >= MaxSessions {
		return nil, ErrTooMany
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	d := description{Agent: agent, CreatedAt: time.Now().UTC()}
	raw, _ := json.Marshal(d)
	if err := os.WriteFile(filepath.Join(m.opts.LogDir, id+".json"), raw, 0o600); err != nil {
		return nil, fmt.Errorf("save chat description: %w", err)
	}
	return m.open(id, d)
}

func (m *Manager) adapterPath(spec Agent) string {
	return filepath.Join(m.opts.ToolsDir, "bin", spec.Command)
}

func (m *Manager) open(id string, d description) (*Session, error) {
	spec, ok := Agents[d.Agent]
	if !ok {
		return nil, ErrUnknownAgent
	}
	proxy, err := m.proxy(spec.Provider)
	if err != nil {
		return nil, err
	}
	agent := d.Agent
	standIn, revoke, err := proxy.Issue(func(ctx context.Context) (modelproxy.Credential, error) {
		return m.credential(ctx, agent)
	})
	if err != nil {
		return nil, err
	}
	cmd := acp.Command{Path: m.adapterPath(spec), Env: m.adapterEnv(spec.Provider, proxy.URL(), standIn), Dir: m.opts.WorkspaceDir}
	if m.opts.User != nil {
		cmd.Credential = m.opts.User.Credential()
	}
	s, err := acp.Open(acp.Config{
		Command: cmd, Workspace: m.opts.WorkspaceDir, LogPath: filepath.Join(m.opts.LogDir, id+".jsonl"),
		Logger: m.opts.Logger.With("chat", id, "agent", agent), StopGrace: m.opts.StopGrace, Mode: spec.Mode,
	})
	if err != nil {
		revoke()
		return nil, err
	}
	chat := &Session{Session: s, id: id, agent: agent, created: d.CreatedAt, revoke: revoke}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		revoke()
		_ = s.Close()
		return nil, acp.ErrClosed
	}
	m.sessions[id] = chat
	if m.opts.Waiting != nil {
		go m.opts.Waiting.watch(m.ctx, chat, chat.Log().LastSeq())
	}
	return chat, nil
}

// adapterEnv is the adapter's whole environment: the user's session environment, their workspace variables
// and the provider's base URL and stand-in key (last, so they win). The real credential is never in it.
func (m *Manager) adapterEnv(provider, baseURL, standIn string) []string {
	env := append(slices.Clone(m.opts.Env), m.opts.UserEnv.Env()...)
	switch provider {
	case "anthropic":
		env = append(env, "ANTHROPIC_BASE_URL="+baseURL, "ANTHROPIC_API_KEY="+standIn,
			// Only the model API, through the proxy: no telemetry, update checks or error reports.
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1")
	case "openai":
		// codex-acp runs a Codex build that reads its base URL from CODEX_CONFIG, not OPENAI_BASE_URL, and
		// asks for a login unless told to use the API key.
		env = append(env, "OPENAI_BASE_URL="+baseURL, "OPENAI_API_KEY="+standIn,
			`CODEX_CONFIG={"openai_base_url":"`+baseURL+`"}`,
			`DEFAULT_AUTH_REQUEST={"methodId":"api-key"}`, "NO_BROWSER=1")
	}
	return env
}

func (m *Manager) proxy(provider string) (*modelproxy.Proxy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.proxies[provider]; ok {
		return p, nil
	}
	upstream := m.opts.Upstreams[provider]
	p, err := modelproxy.Listen(modelproxy.Config{Upstream: upstream, Transport: m.opts.Transport, Logger: m.opts.Logger.With("proxy", provider)})
	if err != nil {
		return nil, err
	}
	m.proxies[provider] = p
	return p, nil
}

// credential fetches (or reuses for a minute) the owner's credential for agent.
func (m *Manager) credential(ctx context.Context, agent string) (modelproxy.Credential, error) {
	m.mu.Lock()
	cached, ok := m.credentials[agent]
	m.mu.Unlock()
	if ok && time.Now().Before(cached.expires) {
		return cached.credential, nil
	}
	got, err := m.opts.Credentials(ctx, agent)
	if err != nil {
		var status *controlplane.StatusError
		if errors.As(err, &status) && status.Status == http.StatusNotFound {
			var body struct {
				Error string `json:"error"`
			}
			message := "No model credential is saved for this agent: add one in Settings."
			if json.Unmarshal([]byte(status.Body), &body) == nil && body.Error != "" {
				message = body.Error
			}
			return modelproxy.Credential{}, &UnavailableError{Code: "missing_credential", Message: message}
		}
		return modelproxy.Credential{}, &UnavailableError{Code: "credential_unavailable",
			Message: fmt.Sprintf("SAM could not fetch the model credential from the control plane (%v): try again shortly.", err)}
	}
	scheme, ok := map[string]modelproxy.Scheme{
		"anthropic_api_key":  modelproxy.AnthropicAPIKey,
		"claude_oauth_token": modelproxy.AnthropicOAuth,
		"openai_api_key":     modelproxy.OpenAIKey,
	}[got.Kind]
	if !ok {
		return modelproxy.Credential{}, &UnavailableError{Code: "credential_unavailable", Message: fmt.Sprintf("the control plane answered a credential of unknown kind %q", got.Kind)}
	}
	credential := modelproxy.Credential{Scheme: scheme, Secret: got.Secret}
	m.mu.Lock()
	m.credentials[agent] = cachedCredential{credential: credential, expires: time.Now().Add(credentialTTL)}
	m.mu.Unlock()
	return credential, nil
}

// Get returns a chat by id.
func (m *Manager) Get(id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, ErrNotFound
	}
	return s, nil
}

// List describes the chats, oldest first.
func (m *Manager) List() []Info {
	m.mu.Lock()
	list := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		list = append(list, s)
	}
	m.mu.Unlock()
	infos := make([]Info, 0, len(list))
	for _, s := range list {
		infos = append(infos, s.Info())
	}
	slices.SortFunc(infos, func(a, b Info) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return infos
}

// TurnInFlight says whether any chat's prompt turn is running: activity for the heartbeat.
func (m *Manager) TurnInFlight() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.Busy() {
			return true
		}
	}
	return false
}

// Close stops every adapter and proxy; the logs stay for the next start.
func (m *Manager) Close() {
	m.cancel()
	m.mu.Lock()
	m.closed = true
	sessions, proxies := m.sessions, m.proxies
	m.sessions, m.proxies = map[string]*Session{}, map[string]*modelproxy.Proxy{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.revoke()
			_ = s.Close()
		}()
	}
	wg.Wait()
	for _, p := range proxies {
		_ = p.Close()
	}
}

func newID() (string, error) {
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make a chat id: %w", err)
	}
	return hex.EncodeToString(raw), nil
}
