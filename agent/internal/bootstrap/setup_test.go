package bootstrap

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestSetupCommandsFromTheRepository(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		want      [][]string
		wantWhere string
	}{
		{"setup.sh wins over a devcontainer", map[string]string{
			".sam/setup.sh":                   "echo hi",
			".devcontainer/devcontainer.json": `{"postCreateCommand":"npm ci"}`,
		}, [][]string{{"bash", ".sam/setup.sh"}}, ".sam/setup.sh"},
		{"devcontainer with comments and trailing commas, onCreate before postCreate", map[string]string{
			".devcontainer/devcontainer.json": `{
				// the image is ignored: SAM runs no Docker
				"image": "mcr.microsoft.com/devcontainers/base", /* a block
				comment */
				"postCreateCommand": ["npm", "ci", "--prefer-offline",],
				"onCreateCommand": "echo 'a // not a comment' && make deps",
			}`,
		}, [][]string{{"sh", "-c", "echo 'a // not a comment' && make deps"}, {"npm", "ci", "--prefer-offline"}}, ".devcontainer/devcontainer.json"},
		{"object form runs each by name", map[string]string{
			".devcontainer/devcontainer.json": `{"postCreateCommand":{"server":"npm ci","client":["pip","install","-e","."]}}`,
		}, [][]string{{"pip", "install", "-e", "."}, {"sh", "-c", "npm ci"}}, ".devcontainer/devcontainer.json"},
		{"devcontainer without commands", map[string]string{".devcontainer/devcontainer.json": `{"name":"x"}`}, nil, ".devcontainer/devcontainer.json"},
		{"nothing", map[string]string{"README": "hi"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(repo, name), content)
			}
			cmds, where, err := setupCommands(repo)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, c := range cmds {
				got = append(got, c.args)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) || where != tt.wantWhere {
				t.Fatalf("got %q from %q, want %q from %q", got, where, tt.want, tt.wantWhere)
			}
		})
	}
}

type setupFixture struct {
	steps  *Steps
	repo   string
	marker string
	mu     sync.Mutex
	events []string // status:message
}

func newSetupFixture(t *testing.T, script string) *setupFixture {
	f := &setupFixture{repo: t.TempDir()}
	f.marker = filepath.Join(t.TempDir(), "sam-agent", "setup-done")
	if err := os.MkdirAll(filepath.Dir(f.marker), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(f.repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if script != "" {
		writeFile(t, filepath.Join(f.repo, ".sam", "setup.sh"), script)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		if body["step"] != "setup" {
			t.Errorf("step %q", body["step"])
		}
		f.mu.Lock()
		f.events = append(f.events, body["status"]+":"+body["message"])
		f.mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	st, err := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{CallbackToken: "cb1"}})
	if err != nil {
		t.Fatal(err)
	}
	f.steps = &Steps{
		CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, WorkspaceDir: f.repo, Log: quiet,
		UserEnv: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, SetupMarkerPath: f.marker,
		UserVariables: func(context.Context) []string { return []string{"GREETING=hello from settings"} },
	}
	return f
}

func (f *setupFixture) statuses() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		status, _, _ := strings.Cut(e, ":")
		if len(out) == 0 || out[len(out)-1] != status {
			out = append(out, status)
		}
	}
	return out
}

func (f *setupFixture) text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.events, "\n")
}

func TestSetupRunsOncePerVolumeWithTheUsersVariablesAndItsOutputOnTheTimeline(t *testing.T) {
	f := newSetupFixture(t, "#!/bin/bash\necho \"greeting is $GREETING\"\necho in $(pwd)\ntouch made-by-setup\n")
	f.steps.runSetup(context.Background(), false)
	if got := f.statuses(); !slices.Equal(got, []string{"started", "info", "ok"}) {
		t.Fatalf("statuses %v:\n%s", got, f.text())
	}
	for _, want := range []string{"greeting is hello from settings", "in " + f.repo, "ok:.sam/setup.sh finished (exit code 0)"} {
		if !strings.Contains(f.text(), want) {
			t.Fatalf("timeline lacks %q:\n%s", want, f.text())
		}
	}
	if _, err := os.Stat(filepath.Join(f.repo, "made-by-setup")); err != nil {
		t.Fatal("the script did not run in the repository")
	}
	if _, err := os.Stat(f.marker); err != nil {
		t.Fatal("no marker after the setup")
	}
	before := len(f.statuses())
	f.steps.runSetup(context.Background(), false)
	if len(f.statuses()) != before {
		t.Fatalf("the setup ran again on a volume that has its marker:\n%s", f.text())
	}
	f.steps.runSetup(context.Background(), true)
	if got := f.statuses(); !slices.Equal(got, []string{"started", "info", "ok", "started", "info", "ok"}) {
		t.Fatalf("rerun_setup did not run it again: %v", got)
	}
}

func TestAFailedSetupIsReportedAndNotRunAgain(t *testing.T) {
	f := newSetupFixture(t, "echo broken >&2\nexit 3\n")
	f.steps.runSetup(context.Background(), false)
	if !strings.Contains(f.text(), "info:broken") || !strings.Contains(f.text(), "error:.sam/setup.sh failed with exit code 3") {
		t.Fatalf("timeline:\n%s", f.text())
	}
	raw, err := os.ReadFile(f.marker)
	if err != nil || !strings.Contains(string(raw), `"exit_code":3`) {
		t.Fatalf("marker %s %v", raw, err)
	}
}

func TestNoSetupSaysSoAndMarksTheVolume(t *testing.T) {
	f := newSetupFixture(t, "")
	f.steps.runSetup(context.Background(), false)
	if got := f.statuses(); !slices.Equal(got, []string{"ok"}) || !strings.Contains(f.text(), "nothing to set up") {
		t.Fatalf("timeline:\n%s", f.text())
	}
	if _, err := os.Stat(f.marker); err != nil {
		t.Fatal("no marker")
	}
}

func TestAChattySetupCannotFloodTheTimeline(t *testing.T) {
	f := newSetupFixture(t, "for i in $(seq 1 20000); do echo \"line $i of a setup that prints far too much\"; done\n")
	f.steps.runSetup(context.Background(), false)
	sent := 0
	f.mu.Lock()
	for _, e := range f.events {
		if strings.HasPrefix(e, "info:") {
			sent += len(e)
		}
	}
	last := f.events[len(f.events)-2]
	f.mu.Unlock()
	if sent > setupMaxBytes+200 {
		t.Fatalf("%d bytes of output sent, more than the %d cap", sent, setupMaxBytes)
	}
	if !strings.Contains(last, "more lines of output not shown") {
		t.Fatalf("the cut is not said: %q", last)
	}
}

func TestASetupPastItsTimeIsStoppedWithEverythingItStarted(t *testing.T) {
	f := newSetupFixture(t, "echo starting\nsleep 60 &\nsleep 60\n")
	f.steps.SetupTimeout = 300 * time.Millisecond
	start := time.Now()
	f.steps.runSetup(context.Background(), false)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the setup took %s after its timeout", took)
	}
	if !strings.Contains(f.text(), "error:.sam/setup.sh was stopped after 300ms") {
		t.Fatalf("timeline:\n%s", f.text())
	}
}

func TestAStopDuringSetupLeavesNoMarker(t *testing.T) {
	f := newSetupFixture(t, "echo started-sleeping\nsleep 60\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.steps.runSetup(ctx, false)
		close(done)
	}()
	for !strings.Contains(f.text(), "started:") {
		select {
		case <-done:
			t.Fatalf("setup ended early:\n%s", f.text())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	if _, err := os.Stat(f.marker); !os.IsNotExist(err) {
		t.Fatalf("marker written after an interrupted setup: %v", err)
	}
}
