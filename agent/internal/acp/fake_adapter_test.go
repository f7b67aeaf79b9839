package acp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/coder/acp-go-sdk"
)

// The fake adapter is this test binary started again with fakeAdapterEnv set: a small ACP agent built on
// the SDK's agent side, so the session is tested against a real peer over real pipes. Prompts are
// commands: "chunks", "permission <file>", "read <file>", "escape", "hang", "die", "whoami".
const (
	fakeAdapterEnv  = "SAM_FAKE_ACP_ADAPTER"
	fakeLoadableEnv = "SAM_FAKE_ACP_LOADABLE"
	// fakeGateEnv ("<method> <fifo>") holds that method's answer until the test writes a byte to the FIFO:
	// an adapter still starting, for as long as the test needs.
	fakeGateEnv = "SAM_FAKE_ACP_GATE"
	// fakeLoadFailsEnv makes a loadable adapter refuse every session/load (its stored session is gone).
	fakeLoadFailsEnv = "SAM_FAKE_ACP_LOAD_FAILS"
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeAdapterEnv) == "1" {
		runFakeAdapter()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runFakeAdapter() {
	agent := &fakeAgent{}
	var handler sdk.Agent = agent
	if os.Getenv(fakeLoadableEnv) == "1" {
		handler = &loadableAgent{agent}
	}
	agent.conn = sdk.NewAgentSideConnection(handler, os.Stdout, os.Stdin)
	<-agent.conn.Done()
}

type fakeAgent struct {
	conn      *sdk.AgentSideConnection
	sessionID sdk.SessionId
	cwd       string
}

type loadableAgent struct{ *fakeAgent }

func (a *loadableAgent) Initialize(ctx context.Context, p sdk.InitializeRequest) (sdk.InitializeResponse, error) {
	resp, err := a.fakeAgent.Initialize(ctx, p)
	resp.AgentCapabilities.LoadSession = true
	return resp, err
}

func (a *loadableAgent) LoadSession(ctx context.Context, p sdk.LoadSessionRequest) (sdk.LoadSessionResponse, error) {
	gate(sdk.AgentMethodSessionLoad)
	if os.Getenv(fakeLoadFailsEnv) == "1" {
		return sdk.LoadSessionResponse{}, fmt.Errorf("no stored session %s", p.SessionId)
	}
	a.sessionID, a.cwd = p.SessionId, p.Cwd
	// A real adapter replays the history as updates while loading.
	_ = a.conn.SessionUpdate(ctx, sdk.SessionNotification{SessionId: p.SessionId, Update: sdk.UpdateUserMessageText("replayed history")})
	return sdk.LoadSessionResponse{}, nil
}

// gate waits for the test's byte when fakeGateEnv names method.
func gate(method string) {
	gated, fifo, _ := strings.Cut(os.Getenv(fakeGateEnv), " ")
	if gated != method {
		return
	}
	f, err := os.Open(fifo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake adapter gate:", err)
		os.Exit(4)
	}
	_, _ = f.Read(make([]byte, 1))
	_ = f.Close()
}

func (a *fakeAgent) Initialize(_ context.Context, p sdk.InitializeRequest) (sdk.InitializeResponse, error) {
	gate(sdk.AgentMethodInitialize)
	if !p.ClientCapabilities.Fs.ReadTextFile || !p.ClientCapabilities.Fs.WriteTextFile {
		return sdk.InitializeResponse{}, fmt.Errorf("fake adapter needs the fs capabilities")
	}
	return sdk.InitializeResponse{
		ProtocolVersion: sdk.ProtocolVersionNumber,
		AgentInfo:       &sdk.Implementation{Name: "fake-adapter", Version: "0.0.1"},
		AuthMethods:     []sdk.AuthMethod{},
	}, nil
}

func (a *fakeAgent) NewSession(_ context.Context, p sdk.NewSessionRequest) (sdk.NewSessionResponse, error) {
	gate(sdk.AgentMethodSessionNew)
	a.sessionID = sdk.SessionId(fmt.Sprintf("fake-%d", os.Getpid()))
	a.cwd = p.Cwd
	modes := &sdk.SessionModeState{CurrentModeId: "auto", AvailableModes: []sdk.SessionMode{{Id: "auto", Name: "Auto"}, {Id: "default", Name: "Ask"}}}
	return sdk.NewSessionResponse{SessionId: a.sessionID, Modes: modes}, nil
}

func (a *fakeAgent) say(ctx context.Context, text string) {
	_ = a.conn.SessionUpdate(ctx, sdk.SessionNotification{SessionId: a.sessionID, Update: sdk.UpdateAgentMessageText(text)})
}

func (a *fakeAgent) update(ctx context.Context, u sdk.SessionUpdate) {
	_ = a.conn.SessionUpdate(ctx, sdk.SessionNotification{SessionId: a.sessionID, Update: u})
}

func (a *fakeAgent) Prompt(ctx context.Context, p sdk.PromptRequest) (sdk.PromptResponse, error) {
	if p.SessionId != a.sessionID {
		return sdk.PromptResponse{}, fmt.Errorf("unknown session %s", p.SessionId)
	}
	command, arg, _ := strings.Cut(p.Prompt[0].Text.Text, " ")
	done := sdk.PromptResponse{StopReason: sdk.StopReasonEndTurn, Usage: &sdk.Usage{InputTokens: 10, OutputTokens: 3, TotalTokens: 13}}
	switch command {
	case "chunks":
		a.update(ctx, sdk.UpdatePlan(sdk.PlanEntry{Content: "greet", Priority: sdk.PlanEntryPriorityHigh, Status: sdk.PlanEntryStatusInProgress}))
		for _, chunk := range []string{"Hel", "lo ", "there"} {
			a.say(ctx, chunk)
		}
	case "permission":
		target := filepath.Join(a.cwd, arg)
		a.update(ctx, sdk.StartToolCall("call-1", "Write "+arg, sdk.WithStartKind(sdk.ToolKindEdit), sdk.WithStartStatus(sdk.ToolCallStatusPending)))
		answer, err := a.conn.RequestPermission(ctx, sdk.RequestPermissionRequest{
			SessionId: a.sessionID,
			ToolCall:  sdk.ToolCallUpdate{ToolCallId: "call-1", Title: sdk.Ptr("Write " + arg)},
			Options: []sdk.PermissionOption{
				{OptionId: "allow-once", Name: "Yes", Kind: sdk.PermissionOptionKindAllowOnce},
				{OptionId: "allow-always", Name: "Always", Kind: sdk.PermissionOptionKindAllowAlways},
				{OptionId: "reject", Name: "No", Kind: sdk.PermissionOptionKindRejectOnce},
			},
		})
		if ctx.Err() != nil || (err == nil && answer.Outcome.Cancelled != nil) {
			// session/cancel ends the prompt's context: as the protocol asks, the turn ends "cancelled".
			return sdk.PromptResponse{StopReason: sdk.StopReasonCancelled}, nil
		}
		if err != nil {
			return sdk.PromptResponse{}, err
		}
		if answer.Outcome.Cancelled != nil {
			return sdk.PromptResponse{StopReason: sdk.StopReasonCancelled}, nil
		}
		if answer.Outcome.Selected.OptionId == "reject" {
			a.update(ctx, sdk.UpdateToolCall("call-1", sdk.WithUpdateStatus(sdk.ToolCallStatusFailed)))
			a.say(ctx, "not written")
			return done, nil
		}
		if _, err := a.conn.WriteTextFile(ctx, sdk.WriteTextFileRequest{SessionId: a.sessionID, Path: target, Content: "written by the agent\n"}); err != nil {
			return sdk.PromptResponse{}, err
		}
		a.update(ctx, sdk.UpdateToolCall("call-1", sdk.WithUpdateStatus(sdk.ToolCallStatusCompleted)))
		a.say(ctx, "written")
	case "read":
		got, err := a.conn.ReadTextFile(ctx, sdk.ReadTextFileRequest{SessionId: a.sessionID, Path: filepath.Join(a.cwd, arg)})
		if err != nil {
			a.say(ctx, "read failed: "+err.Error())
		} else {
			a.say(ctx, "read: "+got.Content)
		}
	case "escape":
		_, err := a.conn.WriteTextFile(ctx, sdk.WriteTextFileRequest{SessionId: a.sessionID, Path: arg, Content: "escaped"})
		a.say(ctx, fmt.Sprintf("escape error: %v", err))
	case "hang":
		a.say(ctx, "working")
		<-ctx.Done()
		return sdk.PromptResponse{StopReason: sdk.StopReasonCancelled}, nil
	case "die":
		a.say(ctx, "about to crash")
		fmt.Fprintln(os.Stderr, "fake adapter: simulated crash")
		os.Exit(3)
	case "whoami":
		a.say(ctx, fmt.Sprintf("session %s pid %d", a.sessionID, os.Getpid()))
	default:
		return sdk.PromptResponse{}, fmt.Errorf("fake adapter does not know %q", command)
	}
	return done, nil
}

func (a *fakeAgent) Cancel(context.Context, sdk.CancelNotification) error { return nil }

func (a *fakeAgent) Authenticate(context.Context, sdk.AuthenticateRequest) (sdk.AuthenticateResponse, error) {
	return sdk.AuthenticateResponse{}, nil
}

func (a *fakeAgent) CloseSession(context.Context, sdk.CloseSessionRequest) (sdk.CloseSessionResponse, error) {
	return sdk.CloseSessionResponse{}, nil
}

func (a *fakeAgent) ListSessions(context.Context, sdk.ListSessionsRequest) (sdk.ListSessionsResponse, error) {
	return sdk.ListSessionsResponse{}, nil
}

func (a *fakeAgent) ResumeSession(context.Context, sdk.ResumeSessionRequest) (sdk.ResumeSessionResponse, error) {
	return sdk.ResumeSessionResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionResume)
}

func (a *fakeAgent) SetSessionConfigOption(context.Context, sdk.SetSessionConfigOptionRequest) (sdk.SetSessionConfigOptionResponse, error) {
	return sdk.SetSessionConfigOptionResponse{}, nil
}

func (a *fakeAgent) SetSessionMode(ctx context.Context, p sdk.SetSessionModeRequest) (sdk.SetSessionModeResponse, error) {
	a.say(ctx, "mode is now "+string(p.ModeId))
	return sdk.SetSessionModeResponse{}, nil
}
