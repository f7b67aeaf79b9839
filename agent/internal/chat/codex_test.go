package chat

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

const realOpenAIKey = "sk-proj-the-real-openai-key-never-leaves-the-agent"

// fakeCodexAdapter records its arguments and environment, then calls the Responses API the way Codex does
// (OPENAI_BASE_URL + /responses, the key as a Bearer token) and exits.
const fakeCodexAdapter = `#!/bin/sh
printf '%s\n' "$@" > "$0.args"
env > "$0.env"
curl -s -H "Authorization: Bearer $OPENAI_API_KEY" -H "content-type: application/json" -d '{"model":"m"}' "$OPENAI_BASE_URL/responses" > "$0.answer"
exit 3
`

func TestCodexRunsCodexACPWithTheProxyAndAStandInKey(t *testing.T) {
	tools := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tools, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	adapter := filepath.Join(tools, "bin", "codex-acp")
	if err := os.WriteFile(adapter, []byte(fakeCodexAdapter), 0o755); err != nil {
		t.Fatal(err)
	}
	upstream := make(chan *http.Request, 4)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstream <- r.Clone(context.Background())
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"response"}`)
	}))
	t.Cleanup(api.Close)
	m, err := NewManager(Options{
		WorkspaceDir: t.TempDir(), LogDir: filepath.Join(t.TempDir(), "chats"), ToolsDir: tools,
		Env:       []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()},
		Upstreams: map[string]string{"openai": api.URL + "/v1"},
		Credentials: func(_ context.Context, agent string) (controlplane.ModelCredential, error) {
			return controlplane.ModelCredential{Agent: agent, Kind: "openai_api_key", Secret: realOpenAIKey}, nil
		},
		StopGrace: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	chat, err := m.Create(context.Background(), "codex")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := chat.Prompt(ctx, "c1", []sdk.ContentBlock{sdk.TextBlock("hi")}); err == nil {
		t.Fatal("a fake adapter that exits cannot answer a prompt")
	}
	args, err := os.ReadFile(adapter + ".args")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(args)) != "" {
		t.Errorf("codex-acp started with arguments %q, want none (it speaks ACP on stdio)", args)
	}
	env, err := os.ReadFile(adapter + ".env")
	if err != nil {
		t.Fatal(err)
	}
	text := string(env)
	base := regexp.MustCompile(`(?m)^OPENAI_BASE_URL=(http://127\.0\.0\.1:\d+)$`).FindStringSubmatch(text)
	if base == nil {
		t.Fatalf("codex-acp's environment has no loopback OPENAI_BASE_URL:\n%s", text)
	}
	for _, want := range []string{"OPENAI_API_KEY=sam-standin-", `CODEX_CONFIG={"openai_base_url":"` + base[1] + `"}`, `DEFAULT_AUTH_REQUEST={"methodId":"api-key"}`, "NO_BROWSER=1"} {
		if !strings.Contains(text, want) {
			t.Errorf("codex-acp's environment lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text+string(args), realOpenAIKey) || strings.Contains(text, "ANTHROPIC_") {
		t.Fatalf("codex-acp's environment or arguments hold the real key or another provider's settings:\n%s", text)
	}
	select {
	case got := <-upstream:
		if got.URL.Path != "/v1/responses" || got.Header.Get("Authorization") != "Bearer "+realOpenAIKey {
			t.Fatalf("upstream got %s with Authorization %q, want /v1/responses with the real key", got.URL.Path, got.Header.Get("Authorization"))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the model request never reached the upstream")
	}
	if answer, _ := os.ReadFile(adapter + ".answer"); string(answer) != `{"object":"response"}` {
		t.Errorf("codex-acp got %q from the proxy", answer)
	}
}
