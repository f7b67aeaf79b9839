package modelproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const realKey = "sk-ant-api03-real-secret"

// upstream is a TLS stand-in for the provider that records what it received.
type upstream struct {
	*httptest.Server
	hits     atomic.Int32
	mu       sync.Mutex
	headers  http.Header
	path     string
	rawQuery string
	body     string
}

func newUpstream(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.headers, u.path, u.rawQuery, u.body = r.Header.Clone(), r.URL.Path, r.URL.RawQuery, string(body)
		u.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message","content":[]}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) seen() (http.Header, string, string, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.headers, u.path, u.rawQuery, u.body
}

func startProxy(t *testing.T, up *upstream, base string) *Proxy {
	t.Helper()
	p, err := Listen(Config{Upstream: up.URL + base, Transport: up.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func fixed(cred Credential) CredentialFunc {
	return func(context.Context) (Credential, error) { return cred, nil }
}

func post(t *testing.T, url string, headers map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range headers {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestForwardsWithTheRealCredentialInPlaceOfTheStandIn(t *testing.T) {
	tests := []struct {
		name       string
		cred       Credential
		sendHeader string
		wantKey    string
		wantAuth   string
		wantBeta   string
	}{
		{"anthropic api key", Credential{AnthropicAPIKey, realKey}, "X-Api-Key", realKey, "", "claude-code-20250219"},
		{"claude subscription token", Credential{AnthropicOAuth, "sk-ant-oat01-sub"}, "X-Api-Key", "",
			"Bearer sk-ant-oat01-sub", "claude-code-20250219,oauth-2025-04-20"},
		{"openai key", Credential{OpenAIKey, "sk-proj-openai"}, "Authorization", "", "Bearer sk-proj-openai",
			"claude-code-20250219"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, nil)
			p := startProxy(t, up, "/base")
			var fetched atomic.Int32
			standIn, _, err := p.Issue(func(context.Context) (Credential, error) {
				fetched.Add(1)
				return tt.cred, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			presented := standIn
			if tt.sendHeader == "Authorization" {
				presented = "Bearer " + standIn
			}
			resp := post(t, p.URL()+"/v1/messages?beta=true", map[string]string{
				tt.sendHeader:    presented,
				"Anthropic-Beta": "claude-code-20250219",
				"Content-Type":   "application/json",
			}, `{"model":"m"}`)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			headers, path, query, sent := up.seen()
			if path != "/base/v1/messages" || query != "beta=true" || sent != `{"model":"m"}` {
				t.Errorf("upstream got %s?%s with %q", path, query, sent)
			}
			if got := headers.Get("X-Api-Key"); got != tt.wantKey {
				t.Errorf("x-api-key upstream = %q, want %q", got, tt.wantKey)
			}
			if got := headers.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("authorization upstream = %q, want %q", got, tt.wantAuth)
			}
			if got := headers.Get("Anthropic-Beta"); got != tt.wantBeta {
				t.Errorf("anthropic-beta upstream = %q, want %q", got, tt.wantBeta)
			}
			if strings.Contains(fmt.Sprint(headers), standIn) {
				t.Error("the stand-in key reached the provider")
			}
			if strings.Contains(string(body)+fmt.Sprint(resp.Header), tt.cred.Secret) {
				t.Error("the real credential reached the client")
			}
			if fetched.Load() != 1 {
				t.Errorf("credential fetched %d times, want once per request", fetched.Load())
			}
		})
	}
}

func TestRefusesAWrongMissingOrRevokedStandInWithoutForwarding(t *testing.T) {
	up := newUpstream(t, nil)
	p := startProxy(t, up, "")
	standIn, revoke, err := p.Issue(fixed(Credential{AnthropicAPIKey, realKey}))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, headers map[string]string) {
		t.Helper()
		resp := post(t, p.URL()+"/v1/messages", headers, `{}`)
		var body struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusUnauthorized || body.Error.Type != "authentication_error" || body.Error.Message == "" {
			t.Errorf("%s: status %d, body %+v", name, resp.StatusCode, body)
		}
	}
	check("missing", map[string]string{})
	check("wrong", map[string]string{"X-Api-Key": standIn + "x"})
	check("real key presented", map[string]string{"X-Api-Key": realKey})
	revoke()
	check("revoked", map[string]string{"X-Api-Key": standIn})
	if up.hits.Load() != 0 {
		t.Errorf("provider was called %d times", up.hits.Load())
	}
}

func TestStreamsServerSentEventsAsTheyArrive(t *testing.T) {
	next := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		flusher := w.(http.Flusher)
		for i := range 3 {
			fmt.Fprintf(w, "event: content_block_delta\ndata: {\"n\":%d}\n\n", i)
			flusher.Flush()
			if i < 2 {
				select {
				case <-next:
				case <-r.Context().Done():
					return
				}
			}
		}
	})
	p := startProxy(t, up, "")
	standIn, _, _ := p.Issue(fixed(Credential{AnthropicAPIKey, realKey}))
	resp := post(t, p.URL()+"/v1/messages", map[string]string{"X-Api-Key": standIn}, `{"stream":true}`)
	reader := bufio.NewReader(resp.Body)
	for i := range 3 {
		// The provider only sends event i+1 after the client has read event i: a buffering proxy deadlocks here.
		lines := make(chan string, 1)
		go func() {
			event, _ := reader.ReadString('\n')
			data, _ := reader.ReadString('\n')
			_, _ = reader.ReadString('\n')
			lines <- event + data
		}()
		select {
		case got := <-lines:
			if want := fmt.Sprintf("event: content_block_delta\ndata: {\"n\":%d}\n", i); got != want {
				t.Fatalf("event %d = %q, want %q", i, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d did not arrive before the provider sent the next: the proxy buffers", i)
		}
		if i < 2 {
			next <- struct{}{}
		}
	}
}

func TestCredentialFailureIsABadGatewayAndNothingIsForwarded(t *testing.T) {
	up := newUpstream(t, nil)
	p := startProxy(t, up, "")
	standIn, _, _ := p.Issue(func(context.Context) (Credential, error) {
		return Credential{}, errors.New("control plane said 404")
	})
	resp := post(t, p.URL()+"/v1/messages", map[string]string{"X-Api-Key": standIn}, `{}`)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "Settings") {
		t.Errorf("status %d, body %s", resp.StatusCode, body)
	}
	if up.hits.Load() != 0 {
		t.Error("provider was called without a credential")
	}
}

func TestDropsHopByHopHeadersAndBoundsTheRequestBody(t *testing.T) {
	up := newUpstream(t, nil)
	p := startProxy(t, up, "")
	standIn, _, _ := p.Issue(fixed(Credential{AnthropicAPIKey, realKey}))
	post(t, p.URL()+"/v1/messages", map[string]string{
		"X-Api-Key":           standIn,
		"Connection":          "X-Private-Hop",
		"X-Private-Hop":       "value",
		"Proxy-Authorization": "Basic abc",
	}, `{}`)
	headers, _, _, _ := up.seen()
	for _, name := range []string{"X-Private-Hop", "Proxy-Authorization"} {
		if headers.Get(name) != "" {
			t.Errorf("hop-by-hop header %s reached the provider", name)
		}
	}

	hitsBefore := up.hits.Load()
	big := strings.Repeat("x", MaxRequestBytes+1)
	resp := post(t, p.URL()+"/v1/messages", map[string]string{"X-Api-Key": standIn}, big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized request: status %d, want 413", resp.StatusCode)
	}
	if up.hits.Load() != hitsBefore {
		t.Error("oversized request was forwarded")
	}
}

func TestUnreachableProviderIsABadGatewaySentence(t *testing.T) {
	up := newUpstream(t, nil)
	p := startProxy(t, up, "")
	up.Close()
	standIn, _, _ := p.Issue(fixed(Credential{AnthropicAPIKey, realKey}))
	resp := post(t, p.URL()+"/v1/messages", map[string]string{"X-Api-Key": standIn}, `{}`)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "could not reach") {
		t.Errorf("status %d, body %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), realKey) {
		t.Error("error leaks the key")
	}
}

func TestListenRefusesANonHTTPUpstream(t *testing.T) {
	for _, upstream := range []string{"", "api.anthropic.com", "ftp://api.anthropic.com"} {
		if p, err := Listen(Config{Upstream: upstream}); err == nil {
			_ = p.Close()
			t.Errorf("Listen(%q) accepted it", upstream)
		}
	}
}
