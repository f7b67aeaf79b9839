package chat

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/userenv"
)

const realKey = "sk-ant-api03-the-real-key-never-leaves-the-agent"

// fakeAdapter is an "adapter" that records its environment, makes one model request the way Claude Code
// would (through ANTHROPIC_BASE_URL with its key) and exits.
const fakeAdapter = `#!/bin/sh
env > "$0.env"
curl -s -H "x-api-key: $ANTHROPIC_API_KEY" -H "content-type: application/json" -d '{"model":"m"}' "$ANTHROPIC_BASE_URL/v1/messages" > "$0.answer"
exit 3
`

type fixture struct {
	manager  *Manager
	tools    string
	fetches  atomic.Int32
	upstream chan http.Header
}

func newFixture(t *testing.T, install bool, source CredentialSource) *fixture {
	t.Helper()
	f := &fixture{tools: t.TempDir(), upstream: make(chan http.Header, 4)}
	if install {
		bin := filepath.Join(f.tools, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, "claude-agent-acp"), []byte(fakeAdapter), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.upstream <- r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message"}`)
	}))
	t.Cleanup(api.Close)
	if source == nil {
		source = func(_ context.Context, agent string) (controlplane.ModelCredential, error) {
			f.fetches.Add(1)
			return controlplane.ModelCredential{Agent: agent, Kind: "anthropic_api_key", Secret: realKey}, nil
		}
	}
	logDir := filepath.Join(t.TempDir(), "chats")
	m, err := NewManager(Options{
		WorkspaceDir: t.TempDir(), LogDir: logDir, ToolsDir: f.tools, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()},
		Upstreams: map[string]string{"anthropic": api.URL}, Credentials: source, StopGrace: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	f.manager = m
	return f
}

func TestTheAdapterReachesTheModelThroughTheProxyWithoutTheRealKey(t *testing.T) {
	f := newFixture(t, true, nil)
	f.manager.opts.UserEnv = userenv.New(func(context.Context) ([]controlplane.EnvironmentVariable, error) {
		return []controlplane.EnvironmentVariable{{Name: "GREETING", Value: "hello-from-settings"}, {Name: "ANTHROPIC_BASE_URL", Value: "http://evil"}}, nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	chat, err := f.manager.Create(context.Background(), "claude-code")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := chat.Prompt(ctx, "c1", []sdk.ContentBlock{sdk.TextBlock("hi")}); err == nil {
		t.Fatal("a fake adapter that exits cannot answer a prompt")
	}
	adapter := filepath.Join(f.tools, "bin", "claude-agent-acp")
	env, err := os.ReadFile(adapter + ".env")
	if err != nil {
		t.Fatal(err)
	}
	text := string(env)
	for _, want := range []string{"ANTHROPIC_BASE_URL=http://127.0.0.1:", "ANTHROPIC_API_KEY=sam-standin-", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "GREETING=hello-from-settings"} {
		if !strings.Contains(text, want) {
			t.Errorf("adapter environment lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, realKey) || strings.Contains(text, "http://evil") {
		t.Fatal("the real key or a refused user variable is in the adapter's environment")
	}
	select {
	case got := <-f.upstream:
		if got.Get("X-Api-Key") != realKey {
			t.Fatalf("upstream got x-api-key %q, want the real key", got.Get("X-Api-Key"))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the model request never reached the upstream")
	}
	// Create checked the credential and the turn's request reused it: one fetch, not one per request.
	if n := f.fetches.Load(); n != 1 {
		t.Fatalf("credential fetched %d times, want 1", n)
	}
	info := f.manager.List()
	if len(info) != 1 || info[0].Agent != "claude-code" || info[0].LastSeq == 0 || info[0].Title != "hi" || info[0].LastActivityAt.Before(info[0].CreatedAt) {
		t.Fatalf("list %+v", info)
	}
}

func TestCreateSaysWhatIsMissingBeforeAnythingStarts(t *testing.T) {
	missing := func(context.Context, string) (controlplane.ModelCredential, error) {
		return controlplane.ModelCredential{}, &controlplane.StatusError{Op: "credentials", Status: 404,
			Body: `{"error":"Claude Code needs a Claude subscription token or an Anthropic API key: add one in Settings, then start the chat again.","code":"missing_credential"}`}
	}
	f := newFixture(t, true, missing)
	_, err := f.manager.Create(context.Background(), "claude-code")
	var unavailable *UnavailableError
	if !errors.As(err, &unavailable) || unavailable.Code != "missing_credential" || !strings.Contains(unavailable.Message, "Settings") {
		t.Fatalf("err %v", err)
	}
	if len(f.manager.List()) != 0 {
		t.Fatal("a chat was created without a credential")
	}

	notInstalled := newFixture(t, false, nil)
	_, err = notInstalled.manager.Create(context.Background(), "claude-code")
	if !errors.As(err, &unavailable) || unavailable.Code != "not_installed" || !strings.Contains(unavailable.Message, "claude-agent-acp") {
		t.Fatalf("err %v", err)
	}
	if _, err := notInstalled.manager.Create(context.Background(), "gemini"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("err %v", err)
	}
}

func TestChatsComeBackAfterARestart(t *testing.T) {
	f := newFixture(t, true, nil)
	chat, err := f.manager.Create(context.Background(), "claude-code")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	long := "Please refactor   the\nparser so that " + strings.Repeat("every rule ", 20)
	_, _ = chat.Prompt(ctx, "c1", []sdk.ContentBlock{sdk.TextBlock(long)})
	before := chat.Info()
	opts := f.manager.opts
	f.manager.Close()
	again, err := NewManager(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	back, err := again.Get(chat.ID())
	if err != nil || back.Info().Agent != "claude-code" {
		t.Fatalf("chat after restart: %v %+v", err, back)
	}
	listed := again.List()
	if len(listed) != 1 || listed[0].Title != before.Title || !listed[0].LastActivityAt.Equal(before.LastActivityAt) || listed[0].LastSeq != before.LastSeq {
		t.Fatalf("after restart %+v, before %+v", listed, before)
	}
	if !strings.HasPrefix(listed[0].Title, "Please refactor the parser so that every rule") || len([]rune(listed[0].Title)) != maxTitleRunes {
		t.Fatalf("title %q", listed[0].Title)
	}
}
