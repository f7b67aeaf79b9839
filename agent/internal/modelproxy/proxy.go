// Package modelproxy is the loopback proxy that keeps the model provider's real credential away from the
// coding agent. A session's adapter is started with ANTHROPIC_BASE_URL (or OPENAI_BASE_URL) pointing here
// and a stand-in key; the proxy checks the stand-in, fetches the real credential just in time and sends the
// request upstream with it, so the key is never in a file, a command line or the environment of any process
// the workspace user runs.
package modelproxy

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Scheme says how a credential is presented upstream.
type Scheme int

const (
	// AnthropicAPIKey is an Anthropic API key (sk-ant-api…), sent as x-api-key.
	AnthropicAPIKey Scheme = iota + 1
	// AnthropicOAuth is a Claude subscription's OAuth token (sk-ant-oat…), sent as a Bearer token with the
	// beta flag the API requires for OAuth.
	AnthropicOAuth
	// OpenAIKey is an OpenAI API key, sent as a Bearer token.
	OpenAIKey
)

// Credential is the real secret and how to present it.
type Credential struct {
	Scheme Scheme
	Secret string
}

// CredentialFunc fetches the real credential when a request needs it (from the control plane, with the
// agent's callback token), so nothing long-lived holds it.
type CredentialFunc func(ctx context.Context) (Credential, error)

const (
	// MaxRequestBytes is the Messages API's own request limit (32 MB); a long conversation's history is large.
	MaxRequestBytes = 32 << 20
	// MaxResponseBytes bounds one answer; a whole streamed turn at the largest output limit is a few MB.
	MaxResponseBytes = 64 << 20

	oauthBeta     = "oauth-2025-04-20"
	standInPrefix = "sam-standin-"
)

// ErrResponseTooLarge ends an upstream answer that passes MaxResponseBytes.
var ErrResponseTooLarge = errors.New("model provider's answer is larger than the proxy allows")

// Config is what a Proxy needs.
type Config struct {
	// Upstream is the provider's base URL: https://api.anthropic.com or https://api.openai.com (a path, such as
	// OpenAI's /v1, is kept and the client's path appended to it).
	Upstream string
	// Transport reaches the upstream; nil means http.DefaultTransport (TLS with the system's roots).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Proxy serves one provider's API on a loopback port.
type Proxy struct {
	upstream *url.URL
	listener net.Listener
	server   *http.Server
	logger   *slog.Logger

	mu       sync.Mutex
	sessions map[string]CredentialFunc
}

type credentialKey struct{}

// Listen starts a proxy on 127.0.0.1 at a free port. Close stops it.
func Listen(cfg Config) (*Proxy, error) {
	upstream, err := url.Parse(cfg.Upstream)
	if err != nil || (upstream.Scheme != "https" && upstream.Scheme != "http") || upstream.Host == "" {
		return nil, fmt.Errorf("model proxy upstream %q is not an http(s) URL", cfg.Upstream)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the model proxy: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	transport := cfg.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	p := &Proxy{upstream: upstream, listener: listener, logger: logger, sessions: map[string]CredentialFunc{}}
	forward := &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: transport,
		// Server-sent events must reach the agent as they come: flush after every write.
		FlushInterval:  -1,
		ModifyResponse: boundResponse,
		ErrorHandler:   p.upstreamError,
	}
	p.server = &http.Server{
		Handler:           p.authenticate(forward),
		ReadHeaderTimeout: 10 * time.Second,
		// No write timeout: a streamed turn can run for many minutes.
		IdleTimeout: 2 * time.Minute,
	}
	go func() {
		if err := p.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("model proxy stopped", "err", err)
		}
	}()
	return p, nil
}

// URL is the base URL to give the coding agent (ANTHROPIC_BASE_URL / OPENAI_BASE_URL).
func (p *Proxy) URL() string {
	return "http://" + p.listener.Addr().String()
}

// Close stops accepting requests and ends those in flight.
func (p *Proxy) Close() error {
	return p.server.Close()
}

// Issue makes a stand-in key for one session whose requests get the credential from fetch; revoke forgets it.
func (p *Proxy) Issue(fetch CredentialFunc) (standIn string, revoke func(), err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("make a stand-in key: %w", err)
	}
	standIn = standInPrefix + base64.RawURLEncoding.EncodeToString(raw)
	p.mu.Lock()
	p.sessions[standIn] = fetch
	p.mu.Unlock()
	return standIn, func() {
		p.mu.Lock()
		delete(p.sessions, standIn)
		p.mu.Unlock()
	}, nil
}

// lookup compares the presented key with every issued one in constant time, so timing says nothing about
// how much of a guess was right.
func (p *Proxy) lookup(presented string) CredentialFunc {
	p.mu.Lock()
	defer p.mu.Unlock()
	var found CredentialFunc
	for standIn, fetch := range p.sessions {
		if subtle.ConstantTimeCompare([]byte(standIn), []byte(presented)) == 1 {
			found = fetch
		}
	}
	return found
}

func presentedKey(r *http.Request) string {
	if key := r.Header.Get("X-Api-Key"); key != "" {
		return key
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(bearer)
	}
	return ""
}

func (p *Proxy) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetch := p.lookup(presentedKey(r))
		if fetch == nil {
			writeError(w, http.StatusUnauthorized, "authentication_error",
				"the key is not one SAM's model proxy issued for a running session; restart the agent session")
			return
		}
		if r.ContentLength > MaxRequestBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request is larger than 32 MB")
			return
		}
		cred, err := fetch(r.Context())
		if err != nil {
			p.logger.Warn("model proxy could not fetch the agent credential", "err", err)
			writeError(w, http.StatusBadGateway, "api_error",
				"SAM could not fetch the agent credential from the control plane: check it is saved in Settings")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), credentialKey{}, cred)))
	})
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.upstream)
	// SetURL joins the paths; it keeps the client's query (?beta=true) as it is.
	out := pr.Out.Header
	out.Del("X-Api-Key")
	out.Del("Authorization")
	cred, _ := pr.In.Context().Value(credentialKey{}).(Credential)
	switch cred.Scheme {
	case AnthropicAPIKey:
		out.Set("X-Api-Key", cred.Secret)
	case AnthropicOAuth:
		out.Set("Authorization", "Bearer "+cred.Secret)
		out.Set("Anthropic-Beta", withBeta(out.Values("Anthropic-Beta"), oauthBeta))
	case OpenAIKey:
		out.Set("Authorization", "Bearer "+cred.Secret)
	}
}

// withBeta adds flag to the comma-separated anthropic-beta values unless one of them already is it.
func withBeta(values []string, flag string) string {
	var flags []string
	for _, value := range values {
		for _, f := range strings.Split(value, ",") {
			if f = strings.TrimSpace(f); f != "" {
				flags = append(flags, f)
			}
		}
	}
	for _, f := range flags {
		if f == flag {
			return strings.Join(flags, ",")
		}
	}
	return strings.Join(append(flags, flag), ",")
}

func boundResponse(resp *http.Response) error {
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: MaxResponseBytes}
	return nil
}

type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(buf []byte) (int, error) {
	if b.left <= 0 {
		return 0, ErrResponseTooLarge
	}
	if int64(len(buf)) > b.left {
		buf = buf[:b.left]
	}
	n, err := b.ReadCloser.Read(buf)
	b.left -= int64(n)
	return n, err
}

func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request is larger than 32 MB")
		return
	}
	if errors.Is(err, context.Canceled) {
		// The agent hung up (a cancelled turn); nobody is left to answer.
		return
	}
	p.logger.Warn("model proxy could not reach the provider", "upstream", p.upstream.Host, "err", err)
	writeError(w, http.StatusBadGateway, "api_error",
		fmt.Sprintf("SAM's model proxy could not reach %s: check the workspace's network", p.upstream.Host))
}

// writeError answers in the Anthropic error envelope; its error.type and error.message are also what OpenAI
// clients read, so one shape serves both agents.
func writeError(w http.ResponseWriter, status int, kind, message string) {
	body, _ := json.Marshal(map[string]any{
		"type":  "error",
		"error": map[string]string{"type": kind, "message": message},
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
