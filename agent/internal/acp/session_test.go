package acp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sdk "github.com/coder/acp-go-sdk"
)

func newSession(t *testing.T, loadable bool, logPath string, extraEnv ...string) (*Session, string) {
	t.Helper()
	workspace := t.TempDir()
	if logPath == "" {
		logPath = filepath.Join(t.TempDir(), "agent", "events.jsonl")
	}
	env := append(append(os.Environ(), fakeAdapterEnv+"=1"), extraEnv...)
	if loadable {
		env = append(env, fakeLoadableEnv+"=1")
	}
	s, err := Open(Config{
		Command:   Command{Path: os.Args[0], Env: env, Dir: workspace},
		Workspace: workspace,
		LogPath:   logPath,
		StopGrace: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, workspace
}

func prompt(t *testing.T, s *Session, clientID, text string) (Outcome, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Prompt(ctx, clientID, []sdk.ContentBlock{sdk.TextBlock(text)})
}

// waitFor reads the log from after seq until an event of kind arrives.
func waitFor(t *testing.T, s *Session, after uint64, kind string) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub := s.Log().Subscribe(after)
	for {
		event, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("no %s event: %v", kind, err)
		}
		if event.Kind == kind {
			return event
		}
	}
}

func field(t *testing.T, event Event, name string) string {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal(event.Data, &data); err != nil {
		t.Fatal(err)
	}
	value, _ := data[name].(string)
	return value
}

func kinds(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

// agentText joins the agent_message_chunk texts in events.
func agentText(t *testing.T, events []Event) string {
	t.Helper()
	var text strings.Builder
	for _, e := range events {
		if e.Kind != KindUpdate {
			continue
		}
		var u struct {
			SessionUpdate string `json:"sessionUpdate"`
			Content       struct{ Text string }
		}
		if err := json.Unmarshal(e.Data, &u); err != nil {
			t.Fatal(err)
		}
		if u.SessionUpdate == "agent_message_chunk" {
			text.WriteString(u.Content.Text)
		}
	}
	return text.String()
}

func TestATurnStreamsIntoAnOwnerOnlyLogInOrder(t *testing.T) {
	s, _ := newSession(t, false, "")
	outcome, err := prompt(t, s, "m1", "chunks")
	if err != nil {
		t.Fatal(err)
	}
	if outcome.StopReason != sdk.StopReasonEndTurn || outcome.Usage == nil || outcome.Usage.TotalTokens != 13 {
		t.Errorf("outcome = %+v", outcome)
	}
	events := s.Log().EventsAfter(0)
	want := []string{KindPromptStarted, KindAdapterStarted, KindConversationStarted, KindUpdate, KindUpdate, KindUpdate, KindUpdate, KindPromptEnded}
	if got := kinds(events); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	for i, e := range events {
		if e.Seq != uint64(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
	}
	if !strings.Contains(string(events[3].Data), `"sessionUpdate":"plan"`) {
		t.Errorf("plan update not logged: %s", events[3].Data)
	}
	if got := agentText(t, events); got != "Hello there" {
		t.Errorf("agent text = %q", got)
	}
	ended := string(events[len(events)-1].Data)
	if !strings.Contains(ended, `"stopReason":"end_turn"`) || !strings.Contains(ended, `"totalTokens":13`) || !strings.Contains(ended, `"clientId":"m1"`) {
		t.Errorf("prompt_ended = %s", ended)
	}
	if got := s.Log().EventsAfter(5); len(got) != 3 || got[0].Seq != 6 {
		t.Errorf("EventsAfter(5) = %v", kinds(got))
	}
	info, err := os.Stat(s.cfg.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("log mode = %v, want 0600", info.Mode().Perm())
	}
	if s.Busy() {
		t.Error("busy after the turn ended")
	}
}

func TestPermissionWaitsForAnAnswerThenTheAgentWritesThroughFS(t *testing.T) {
	s, workspace := newSession(t, false, "")
	result := make(chan error, 1)
	go func() {
		_, err := prompt(t, s, "m1", "permission out/new.txt")
		result <- err
	}()
	asked := waitFor(t, s, 0, KindPermissionRequested)
	if !s.Busy() {
		t.Error("a turn waiting for permission is not busy")
	}
	if !strings.Contains(string(asked.Data), `"kind":"allow_always"`) || !strings.Contains(string(asked.Data), `"toolCallId":"call-1"`) {
		t.Errorf("permission_requested = %s", asked.Data)
	}
	id := field(t, asked, "requestId")
	if err := s.Answer(id, "allow-for-ever"); err == nil {
		t.Error("an option that was not offered was accepted")
	}
	if err := s.Answer(id, "allow-once"); err != nil {
		t.Fatal(err)
	}
	if err := s.Answer(id, "allow-once"); !errors.Is(err, ErrUnknownPermission) {
		t.Errorf("second answer: %v", err)
	}
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(filepath.Join(workspace, "out", "new.txt"))
	if err != nil || string(content) != "written by the agent\n" {
		t.Fatalf("file = %q, %v", content, err)
	}
	events := s.Log().EventsAfter(asked.Seq)
	got := kinds(events)
	// The adapter's own updates (the tool call it asked about) may be logged before the answer: look for it.
	answered := slices.IndexFunc(events, func(e Event) bool { return e.Kind == KindPermissionAnswered })
	if answered < 0 || !strings.Contains(string(events[answered].Data), `"optionId":"allow-once"`) {
		t.Errorf("after the request: %v", got)
	}
	if !strings.Contains(fmt.Sprint(got), KindFileWritten) || agentText(t, events) != "written" {
		t.Errorf("after the answer: %v", got)
	}
}

func TestRejectedPermissionWritesNothing(t *testing.T) {
	s, workspace := newSession(t, false, "")
	go func() {
		asked := waitFor(t, s, 0, KindPermissionRequested)
		_ = s.Answer(field(t, asked, "requestId"), "reject")
	}()
	if _, err := prompt(t, s, "m1", "permission new.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(workspace, "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file written despite the rejection: %v", err)
	}
	if got := agentText(t, s.Log().EventsAfter(0)); got != "not written" {
		t.Errorf("agent text = %q", got)
	}
}

func TestCancelEndsTheTurnAndAnswersAWaitingPermissionCancelled(t *testing.T) {
	s, _ := newSession(t, false, "")
	go func() {
		waitFor(t, s, 0, KindUpdate)
		_ = s.Cancel(context.Background())
	}()
	outcome, err := prompt(t, s, "m1", "hang")
	if err != nil || outcome.StopReason != sdk.StopReasonCancelled {
		t.Fatalf("hang: %+v %v", outcome, err)
	}

	seq := s.Log().LastSeq()
	go func() {
		waitFor(t, s, seq, KindPermissionRequested)
		_ = s.Cancel(context.Background())
	}()
	outcome, err = prompt(t, s, "m2", "permission new.txt")
	if err != nil || outcome.StopReason != sdk.StopReasonCancelled {
		t.Fatalf("permission: %+v %v", outcome, err)
	}
	answered := waitFor(t, s, seq, KindPermissionAnswered)
	if field(t, answered, "outcome") != "cancelled" {
		t.Errorf("permission_answered = %s", answered.Data)
	}
}

// openGate lets a gated fake adapter answer (fakeGateEnv); opening the FIFO waits until the adapter is at the gate.
func openGate(t *testing.T, fifo string) {
	t.Helper()
	opened := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Write([]byte{1})
			_ = f.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the adapter never reached its gate")
	}
}

// The Stop pressed in the first seconds of a chat: the adapter is still starting, so there is no prompt for a
// session/cancel to stop yet. The turn must still end cancelled, without the message reaching the agent, and
// the next message must run as usual on the adapter that was started.
func TestCancelWhileTheAdapterStartsEndsTheTurnCancelled(t *testing.T) {
	for _, method := range []string{sdk.AgentMethodInitialize, sdk.AgentMethodSessionNew, sdk.AgentMethodSessionLoad} {
		t.Run(method, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "gate")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			reload := method == sdk.AgentMethodSessionLoad
			s, _ := newSession(t, reload, "", fakeGateEnv+"="+method+" "+fifo)
			if reload {
				// session/load runs when an adapter is started again for a conversation it already had.
				if _, err := prompt(t, s, "m0", "whoami"); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				waitFor(t, s, 0, KindAdapterExited)
			}
			seq := s.Log().LastSeq()
			type result struct {
				outcome Outcome
				err     error
			}
			ended := make(chan result, 1)
			go func() {
				outcome, err := prompt(t, s, "m1", "chunks")
				ended <- result{outcome, err}
			}()
			waitFor(t, s, seq, KindPromptStarted)
			if err := s.Cancel(context.Background()); err != nil {
				t.Fatal(err)
			}
			openGate(t, fifo)
			got := <-ended
			if got.err != nil || got.outcome.StopReason != sdk.StopReasonCancelled {
				t.Fatalf("turn stopped while the adapter started: %+v %v", got.outcome, got.err)
			}
			stopped := s.Log().EventsAfter(seq)
			if text := agentText(t, stopped); text != "" {
				t.Errorf("the stopped message reached the agent, which answered %q", text)
			}
			if last := stopped[len(stopped)-1]; last.Kind != KindPromptEnded || field(t, last, "stopReason") != string(sdk.StopReasonCancelled) {
				t.Errorf("last event %s %s, want prompt_ended cancelled", last.Kind, last.Data)
			}
			if reload && !slices.ContainsFunc(stopped, func(e Event) bool { return e.Kind == KindConversationResumed }) {
				t.Errorf("the conversation was not resumed: %v", kinds(stopped))
			}

			pid, seq := s.PID(), s.Log().LastSeq()
			outcome, err := prompt(t, s, "m2", "chunks")
			if err != nil || outcome.StopReason != sdk.StopReasonEndTurn {
				t.Fatalf("the message after the stop: %+v %v", outcome, err)
			}
			if text := agentText(t, s.Log().EventsAfter(seq)); text != "Hello there" {
				t.Errorf("the message after the stop got %q", text)
			}
			if s.PID() != pid {
				t.Errorf("adapter %d replaced by %d: the one started for the stopped turn should serve the next", pid, s.PID())
			}
		})
	}
}

func TestFileRequestsStayInsideTheWorkspace(t *testing.T) {
	s, workspace := newSession(t, false, "")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(workspace, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workspace, "notes.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ prompt, wantText string }{
		{"read notes.txt", "read: inside"},
		{"read ../" + filepath.Base(outside) + "/secret", "read failed"},
		{"read link/secret", "read failed"},
		{"escape " + filepath.Join(outside, "planted"), "escape error: "},
		{"escape " + filepath.Join(workspace, "link", "planted"), "escape error: "},
	}
	for i, tc := range cases {
		seq := s.Log().LastSeq()
		if _, err := prompt(t, s, fmt.Sprint("m", i), tc.prompt); err != nil {
			t.Fatal(err)
		}
		got := agentText(t, s.Log().EventsAfter(seq))
		if !strings.HasPrefix(got, tc.wantText) || strings.Contains(got, "TOP-SECRET") || strings.HasSuffix(got, "<nil>") {
			t.Errorf("%s: agent saw %q", tc.prompt, got)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a file was written outside the workspace")
	}
}

func TestARetriedPromptIsAppliedOnceEvenAcrossAReopen(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "events.jsonl")
	s, _ := newSession(t, false, logPath)
	var wg sync.WaitGroup
	outcomes := make([]Outcome, 3)
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i], _ = prompt(t, s, "same-id", "chunks")
		}()
	}
	wg.Wait()
	for _, o := range outcomes {
		if o.StopReason != sdk.StopReasonEndTurn {
			t.Errorf("a retried send got %+v", o)
		}
	}
	count := func(events []Event) (n int) {
		for _, e := range events {
			if e.Kind == KindPromptStarted {
				n++
			}
		}
		return n
	}
	if n := count(s.Log().EventsAfter(0)); n != 1 {
		t.Fatalf("%d turns started for one client id", n)
	}
	if _, err := prompt(t, s, "other-id", "chunks"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	reopened, _ := newSession(t, false, logPath)
	outcome, err := prompt(t, reopened, "same-id", "chunks")
	if err != nil || outcome.StopReason != sdk.StopReasonEndTurn {
		t.Errorf("retry after reopen: %+v %v", outcome, err)
	}
	if n := count(reopened.Log().EventsAfter(0)); n != 2 {
		t.Errorf("%d turns after the retry across a reopen, want 2", n)
	}
}

func TestASecondPromptWhileBusyIsRefused(t *testing.T) {
	s, _ := newSession(t, false, "")
	go func() { _, _ = prompt(t, s, "m1", "hang") }()
	waitFor(t, s, 0, KindUpdate)
	if _, err := prompt(t, s, "m2", "chunks"); !errors.Is(err, ErrBusy) {
		t.Errorf("second prompt: %v", err)
	}
	_ = s.Cancel(context.Background())
}

func TestADeadAdapterIsRestartedAndTheConversationLoaded(t *testing.T) {
	s, _ := newSession(t, true, "")
	if _, err := prompt(t, s, "m1", "whoami"); err != nil {
		t.Fatal(err)
	}
	first := s.Log().EventsAfter(0)
	sessionID := field(t, waitFor(t, s, 0, KindConversationStarted), "sessionId")
	if !strings.HasPrefix(agentText(t, first), "session "+sessionID) {
		t.Fatalf("first turn: %q", agentText(t, first))
	}

	_, err := prompt(t, s, "m2", "die")
	if err == nil || !strings.Contains(err.Error(), "exited during the turn") {
		t.Fatalf("turn with a crash: %v", err)
	}
	exited := waitFor(t, s, 0, KindAdapterExited)
	if !strings.Contains(field(t, exited, "stderr"), "simulated crash") {
		t.Errorf("adapter_exited = %s", exited.Data)
	}
	ended := s.Log().EventsAfter(0)
	if last := ended[len(ended)-1]; last.Kind != KindPromptEnded || field(t, last, "error") == "" {
		t.Errorf("the failed turn's end is not logged with its error: %s %s", last.Kind, last.Data)
	}

	seq := s.Log().LastSeq()
	if _, err := prompt(t, s, "m3", "whoami"); err != nil {
		t.Fatal(err)
	}
	after := s.Log().EventsAfter(seq)
	resumed := waitFor(t, s, seq, KindConversationResumed)
	if field(t, resumed, "sessionId") != sessionID {
		t.Errorf("resumed %s, want %s", resumed.Data, sessionID)
	}
	if got := agentText(t, after); !strings.HasPrefix(got, "session "+sessionID) {
		t.Errorf("after the restart the agent says %q", got)
	}
	for _, e := range after {
		if strings.Contains(string(e.Data), "replayed history") {
			t.Error("the history replayed by session/load was logged again")
		}
	}
}

func TestWithoutLoadSessionARestartStartsANewConversationAndSaysSo(t *testing.T) {
	s, _ := newSession(t, false, "")
	if _, err := prompt(t, s, "m1", "whoami"); err != nil {
		t.Fatal(err)
	}
	firstID := field(t, waitFor(t, s, 0, KindConversationStarted), "sessionId")
	pid := s.PID()
	if pid == 0 {
		t.Fatal("no adapter pid")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exited := waitFor(t, s, 0, KindAdapterExited)
	if _, err := prompt(t, s, "m2", "whoami"); err != nil {
		t.Fatal(err)
	}
	started := waitFor(t, s, exited.Seq, KindConversationStarted)
	if field(t, started, "sessionId") == firstID {
		t.Error("the same conversation id after a restart without session/load")
	}
	if !strings.Contains(field(t, started, "reason"), "new one started") {
		t.Errorf("conversation_started without a reason: %s", started.Data)
	}
	if s.PID() == pid || s.PID() == 0 {
		t.Errorf("adapter pid %d after restart (was %d)", s.PID(), pid)
	}
}

func TestAFailedLoadStartsANewConversationAndSaysWhy(t *testing.T) {
	s, _ := newSession(t, true, "", fakeLoadFailsEnv+"=1")
	if _, err := prompt(t, s, "m1", "whoami"); err != nil {
		t.Fatal(err)
	}
	firstID := field(t, waitFor(t, s, 0, KindConversationStarted), "sessionId")
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exited := waitFor(t, s, 0, KindAdapterExited)
	outcome, err := prompt(t, s, "m2", "whoami")
	if err != nil || outcome.StopReason != sdk.StopReasonEndTurn {
		t.Fatalf("the message after the failed load: %+v %v", outcome, err)
	}
	started := waitFor(t, s, exited.Seq, KindConversationStarted)
	if field(t, started, "sessionId") == firstID {
		t.Error("the conversation the adapter could not load is still used")
	}
	if reason := field(t, started, "reason"); !strings.Contains(reason, "could not reload") || !strings.Contains(reason, "no stored session") {
		t.Errorf("conversation_started reason = %q", reason)
	}
}

func TestCloseStopsTheAdapter(t *testing.T) {
	s, _ := newSession(t, false, "")
	if _, err := prompt(t, s, "m1", "whoami"); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("adapter %d still exists after Close: %v", pid, err)
	}
	if _, err := prompt(t, s, "m2", "whoami"); !errors.Is(err, ErrClosed) {
		t.Errorf("prompt after Close: %v", err)
	}
}

func TestModeIsSetOnANewConversationWhenOffered(t *testing.T) {
	s, _ := newSession(t, false, "")
	s.cfg.Mode = "default"
	if _, err := prompt(t, s, "m1", "chunks"); err != nil {
		t.Fatal(err)
	}
	var set, told bool
	for _, event := range s.Log().EventsAfter(0) {
		set = set || event.Kind == KindModeSet && strings.Contains(string(event.Data), `"default"`)
		told = told || event.Kind == KindUpdate && strings.Contains(string(event.Data), "mode is now default")
	}
	if !set || !told {
		t.Fatalf("mode_set logged %v, adapter told %v", set, told)
	}

	other, _ := newSession(t, false, "")
	other.cfg.Mode = "plan" // not offered: the conversation goes on in the adapter's own mode
	if _, err := prompt(t, other, "m1", "chunks"); err != nil {
		t.Fatal(err)
	}
	for _, event := range other.Log().EventsAfter(0) {
		if event.Kind == KindModeSet {
			t.Fatalf("an unoffered mode was set: %s", event.Data)
		}
	}
}

// A cancel decided between "send the prompt" and its write is sent once the prompt is written; what tells is
// the prompt request itself, never a message that merely quotes one (a file's content, the user's text).
func TestOnlyAPromptRequestCountsAsThePromptWritten(t *testing.T) {
	quoting, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 3, "result": map[string]string{"content": `{"method":"session/prompt"}`}})
	if err != nil {
		t.Fatal(err)
	}
	promptRequest, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 4, "method": sdk.AgentMethodSessionPrompt, "params": map[string]any{"sessionId": "s"}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sent := 0
	w := &promptWatch{w: &out, sent: func() { sent++ }}
	for _, message := range [][]byte{quoting, promptRequest} {
		if _, err := w.Write(append(message, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	if sent != 1 {
		t.Errorf("prompt written %d times, want once (for the request only)", sent)
	}
	if out.String() != string(quoting)+"\n"+string(promptRequest)+"\n" {
		t.Errorf("the adapter's stdin got %q", out.String())
	}
}
