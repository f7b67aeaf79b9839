package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/coder/acp-go-sdk"
	"github.com/coder/websocket"

	"github.com/simple-agent-manager/sam/agent/internal/acp"
	"github.com/simple-agent-manager/sam/agent/internal/chat"
	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/protocol"
)

// The chat tests run this test binary again as the ACP adapter (chatAdapterEnv set): every prompt streams
// three text chunks, then an edit tool call that goes pending → completed with a diff, and ends the turn.
const chatAdapterEnv = "SAM_FAKE_CHAT_ADAPTER"

func TestMain(m *testing.M) {
	if os.Getenv(chatAdapterEnv) == "1" {
		agent := &chatAgent{}
		agent.conn = sdk.NewAgentSideConnection(agent, os.Stdout, os.Stdin)
		<-agent.conn.Done()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type chatAgent struct {
	conn  *sdk.AgentSideConnection
	turns int
}

func (a *chatAgent) Initialize(context.Context, sdk.InitializeRequest) (sdk.InitializeResponse, error) {
	return sdk.InitializeResponse{ProtocolVersion: sdk.ProtocolVersionNumber, AuthMethods: []sdk.AuthMethod{}}, nil
}

func (a *chatAgent) NewSession(context.Context, sdk.NewSessionRequest) (sdk.NewSessionResponse, error) {
	return sdk.NewSessionResponse{SessionId: "s1"}, nil
}

func (a *chatAgent) Prompt(ctx context.Context, p sdk.PromptRequest) (sdk.PromptResponse, error) {
	a.turns++
	send := func(u sdk.SessionUpdate) {
		_ = a.conn.SessionUpdate(ctx, sdk.SessionNotification{SessionId: p.SessionId, Update: u})
	}
	for _, chunk := range []string{"Adding ", "the line ", "now."} {
		send(sdk.UpdateAgentMessageText(chunk))
	}
	send(sdk.StartToolCall("t1", "Edit README.md", sdk.WithStartKind(sdk.ToolKindEdit), sdk.WithStartStatus(sdk.ToolCallStatusPending)))
	send(sdk.UpdateToolCall("t1", sdk.WithUpdateStatus(sdk.ToolCallStatusCompleted),
		sdk.WithUpdateContent([]sdk.ToolCallContent{sdk.ToolDiffContent("README.md", "# hello\nadded\n", "# hello\n")})))
	if a.turns > 1 {
		send(sdk.UpdateAgentMessageText("second turn"))
	}
	return sdk.PromptResponse{StopReason: sdk.StopReasonEndTurn}, nil
}

func (a *chatAgent) Cancel(context.Context, sdk.CancelNotification) error { return nil }
func (a *chatAgent) Authenticate(context.Context, sdk.AuthenticateRequest) (sdk.AuthenticateResponse, error) {
	return sdk.AuthenticateResponse{}, nil
}
func (a *chatAgent) CloseSession(context.Context, sdk.CloseSessionRequest) (sdk.CloseSessionResponse, error) {
	return sdk.CloseSessionResponse{}, nil
}
func (a *chatAgent) ListSessions(context.Context, sdk.ListSessionsRequest) (sdk.ListSessionsResponse, error) {
	return sdk.ListSessionsResponse{}, nil
}
func (a *chatAgent) LoadSession(context.Context, sdk.LoadSessionRequest) (sdk.LoadSessionResponse, error) {
	return sdk.LoadSessionResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionLoad)
}
func (a *chatAgent) ResumeSession(context.Context, sdk.ResumeSessionRequest) (sdk.ResumeSessionResponse, error) {
	return sdk.ResumeSessionResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionResume)
}
func (a *chatAgent) SetSessionConfigOption(context.Context, sdk.SetSessionConfigOptionRequest) (sdk.SetSessionConfigOptionResponse, error) {
	return sdk.SetSessionConfigOptionResponse{}, nil
}
func (a *chatAgent) SetSessionMode(context.Context, sdk.SetSessionModeRequest) (sdk.SetSessionModeResponse, error) {
	return sdk.SetSessionModeResponse{}, nil
}

// newChatEnv is newEnv with chats whose claude-code adapter is this binary, and a credential always saved.
func newChatEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	tools := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tools, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n" + chatAdapterEnv + "=1 exec " + os.Args[0] + "\n"
	if err := os.WriteFile(filepath.Join(tools, "bin", "claude-agent-acp"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	chats, err := chat.NewManager(chat.Options{
		WorkspaceDir: t.TempDir(), LogDir: t.TempDir(), ToolsDir: tools, Env: []string{"PATH=/usr/bin:/bin"},
		Upstreams: map[string]string{"anthropic": "http://127.0.0.1:9"}, StopGrace: time.Second,
		Credentials: func(context.Context, string) (controlplane.ModelCredential, error) {
			return controlplane.ModelCredential{Kind: "anthropic_api_key", Secret: "sk-ant-api03-x"}, nil
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chats.Close)
	e.srv.opts.Chats = chats
	e.http.Config.Handler = e.srv.Handler()
	return e
}

func (e *env) dialChat(t *testing.T, id, token, org, after string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	protos := []string{ChatSubprotocol}
	if token != "" {
		protos = append(protos, protocol.BearerPrefix+token)
	}
	h := http.Header{}
	h.Set("Origin", org)
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.http.URL, "http")+"/api/chats/"+id+"/attach?after="+after,
		&websocket.DialOptions{Subprotocols: protos, HTTPHeader: h})
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func readChat(t *testing.T, c *websocket.Conn) chatServerMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msg chatServerMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		t.Fatal(err)
	}
	return msg
}

// readTurn reads events until prompt_ended, returning every event seen.
func readTurn(t *testing.T, c *websocket.Conn) []acp.Event {
	t.Helper()
	var events []acp.Event
	for {
		msg := readChat(t, c)
		if msg.Type == chatError {
			t.Fatalf("error message: %s", msg.Message)
		}
		if msg.Type != chatEvent {
			continue
		}
		events = append(events, *msg.Event)
		if msg.Event.Kind == acp.KindPromptEnded {
			return events
		}
	}
}

func TestChatStreamsATurnAndAReattachGetsOnlyWhatItHasNotSeen(t *testing.T) {
	e := newChatEnv(t)
	token := e.iss.Valid(t)
	resp, body := e.request(t, "POST", "/api/chats", token, `{"agent":"claude-code"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create chat: %d %s", resp.StatusCode, body)
	}
	var info chat.Info
	_ = json.Unmarshal(body, &info)

	c, _, err := e.dialChat(t, info.ID, token, origin, "0")
	if err != nil {
		t.Fatal(err)
	}
	if hello := readChat(t, c); hello.Type != chatHello || hello.Chat.ID != info.ID || hello.Protocol != 1 {
		t.Fatalf("hello %+v", hello)
	}
	prompt := `{"type":"prompt","clientId":"p1","text":"add a line to README"}`
	if err := c.Write(context.Background(), websocket.MessageText, []byte(prompt)); err != nil {
		t.Fatal(err)
	}
	events := readTurn(t, c)
	var chunks int
	var toolDone bool
	for _, ev := range events {
		text := string(ev.Data)
		if ev.Kind == acp.KindUpdate && strings.Contains(text, `"agent_message_chunk"`) {
			chunks++
		}
		toolDone = toolDone || ev.Kind == acp.KindUpdate && strings.Contains(text, `"completed"`) && strings.Contains(text, `"diff"`)
	}
	if chunks != 3 || !toolDone {
		t.Fatalf("chunks %d, tool done with diff %v in %d events", chunks, toolDone, len(events))
	}
	last := events[len(events)-1].Seq

	// The same prompt sent again (a retried send) is not a second turn.
	if err := c.Write(context.Background(), websocket.MessageText, []byte(prompt)); err != nil {
		t.Fatal(err)
	}
	// A second tab attaching after `last` sees nothing old; a new turn reaches it once.
	other, _, err := e.dialChat(t, info.ID, token, origin, strconv.FormatUint(last, 10))
	if err != nil {
		t.Fatal(err)
	}
	readChat(t, other) // hello
	if err := other.Write(context.Background(), websocket.MessageText, []byte(`{"type":"prompt","clientId":"p2","text":"again"}`)); err != nil {
		t.Fatal(err)
	}
	second := readTurn(t, other)
	if second[0].Seq != last+1 || second[0].Kind != acp.KindPromptStarted || !strings.Contains(string(second[0].Data), `"p2"`) {
		t.Fatalf("second tab's first event %d %s %s, want prompt_started of p2 right after %d", second[0].Seq, second[0].Kind, second[0].Data, last)
	}
	for i, ev := range second {
		if ev.Seq != last+1+uint64(i) {
			t.Fatalf("event %d has seq %d: gaps or repeats", i, ev.Seq)
		}
	}
	started := 0
	got, _ := e.srv.opts.Chats.Get(info.ID)
	for _, ev := range got.Log().EventsAfter(0) {
		if ev.Kind == acp.KindPromptStarted {
			started++
		}
	}
	if started != 2 {
		t.Fatalf("%d turns started, want 2 (p1 once, p2)", started)
	}
}

func TestChatAttachIsRefusedBeforeTheUpgrade(t *testing.T) {
	e := newChatEnv(t)
	token := e.iss.Valid(t)
	_, body := e.request(t, "POST", "/api/chats", token, `{"agent":"claude-code"}`)
	var info chat.Info
	_ = json.Unmarshal(body, &info)
	cases := []struct {
		name, id, token, origin, after string
		want                           int
	}{
		{"other origin", info.ID, token, "https://evil.test", "0", http.StatusForbidden},
		{"no token", info.ID, "", origin, "0", http.StatusUnauthorized},
		{"bad after", info.ID, token, origin, "x", http.StatusBadRequest},
		{"unknown chat", "nope", token, origin, "0", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := e.dialChat(t, tc.id, tc.token, tc.origin, tc.after)
			if err == nil || resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("err %v, status %v, want %d", err, resp, tc.want)
			}
		})
	}
	if resp, _ := e.request(t, "POST", "/api/chats", "", `{"agent":"claude-code"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("create without a token: %d", resp.StatusCode)
	}
	if resp, body := e.request(t, "POST", "/api/chats", token, `{"agent":"gemini"}`); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown agent: %d %s", resp.StatusCode, body)
	}
}
