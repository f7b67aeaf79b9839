package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/config"
	"github.com/simple-agent-manager/sam/agent/internal/jwttest"
)

// secretValue is a workspace environment variable's value: it may reach the user's processes, nothing else.
const secretValue = "hunter2-only-for-the-users-processes"

// volumeControlPlane answers like the control plane of a workspace with a volume and one variable.
type volumeControlPlane struct {
	mu      sync.Mutex
	bootLog []string
	beats   []map[string]any
	setupOK chan struct{}
}

func (f *volumeControlPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/bootstrap/"):
		json.NewEncoder(w).Encode(map[string]any{"workspace_id": "ws1", "callback_token": "cb1", "agent_cli": "none"})
	case strings.HasSuffix(r.URL.Path, "/environment"):
		json.NewEncoder(w).Encode(map[string]any{"variables": []map[string]string{
			{"name": "GREETING", "value": secretValue}, {"name": "SAM_WORKSPACE_ID", "value": "not-yours"}}})
	case strings.HasSuffix(r.URL.Path, "/boot-log"):
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		f.bootLog = append(f.bootLog, body["step"]+":"+body["status"])
		if body["step"] == "setup" && body["status"] == "ok" {
			close(f.setupOK)
		}
		w.Write([]byte(`{}`))
	case strings.HasSuffix(r.URL.Path, "/heartbeat"):
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		f.beats = append(f.beats, body)
		json.NewEncoder(w).Encode(map[string]string{"action": "continue"})
	default:
		w.Write([]byte(`{}`))
	}
}

// lockedBuffer is the agent's log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestAWorkspaceOnAVolumeStopsGracefullyAndKeepsSecretsOffDiskAndLog(t *testing.T) {
	cp := &volumeControlPlane{setupOK: make(chan struct{})}
	cpServer := httptest.NewServer(cp)
	defer cpServer.Close()
	iss := jwttest.New(t, "ws1")
	dataDir, vol, out := t.TempDir(), t.TempDir(), t.TempDir()
	// A volume kept from an earlier run: the repository with one file nobody committed.
	repo := filepath.Join(vol, "workspace")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, b)
	}
	if err := os.WriteFile(filepath.Join(repo, "draft.txt"), []byte("unsaved"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SAM_WORKSPACE_ID": "ws1", "SAM_CONTROL_PLANE_URL": cpServer.URL, "SAM_BOOTSTRAP_TOKEN": "boot", "SAM_TLS": "off",
		"SAM_LISTEN_ADDR": "127.0.0.1:0", "SAM_DATA_DIR": dataDir, "SAM_RUN_DIR": t.TempDir(),
		"SAM_WORKSPACE_DIR": "/nonexistent-workspace", "SAM_JWKS_URL": iss.JWKSURL, "SAM_JWT_ISSUER": iss.URL,
		"SAM_HEARTBEAT_INTERVAL": "1h", "SAM_SHELL": "/bin/sh", "SAM_TOOLS_DIR": t.TempDir(),
		"SAM_VOLUME_DIR": vol, "SAM_VOLUME_MOUNT": config.VolumeDirect,
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	ctx, signal := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Executable: "/bin/true", Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Listening: func(a net.Addr) { addr <- a }})
	}()
	var a net.Addr
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("agent ended early: %v", err)
	}
	// A terminal gets the user's variable (and not the refused one) in the repository on the volume.
	probe := filepath.Join(out, "env.fifo")
	if err := syscall.Mkfifo(probe, 0o600); err != nil {
		t.Fatal(err)
	}
	body := `{"name":"probe","command":["/bin/sh","-c","printf '%s|%s|%s' \"$GREETING\" \"$SAM_WORKSPACE_ID\" \"$PWD\" > ` + probe + `; exec sleep 60"]}`
	req, _ := http.NewRequest("POST", "http://"+a.String()+"/api/sessions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+iss.Valid(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create session: %d", resp.StatusCode)
	}
	got, err := os.ReadFile(probe) // a FIFO: returns once the shell has written and closed it
	if err != nil {
		t.Fatal(err)
	}
	if want := secretValue + "||" + repo; string(got) != want {
		t.Fatalf("terminal saw %q, want %q", got, want)
	}
	// The setup found nothing to run, after ready.
	select {
	case <-cp.setupOK:
	case <-time.After(10 * time.Second):
		t.Fatal("no setup step on the timeline")
	}
	cp.mu.Lock()
	joined := strings.Join(cp.bootLog, " ")
	cp.mu.Unlock()
	if !strings.Contains(joined, "ready:ok setup:ok") {
		t.Fatalf("boot log %s, want the setup after ready", joined)
	}

	signal() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v after a signal, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent did not stop within 15 s of the signal")
	}
	cp.mu.Lock()
	last := cp.beats[len(cp.beats)-1]
	cp.mu.Unlock()
	if work, ok := last["unsaved_work"].(map[string]any); !ok || work["uncommitted"] != 1.0 || work["unpushed"] != 0.0 {
		t.Fatalf("last heartbeat's unsaved_work %v", last["unsaved_work"])
	}
	records, err := os.ReadFile(filepath.Join(vol, "sam-agent", "terminals.json"))
	if err != nil || !strings.Contains(string(records), `{"name":"probe","dir":"`+repo+`"}`) {
		t.Fatalf("terminal records %s %v", records, err)
	}
	if _, err := os.Stat(filepath.Join(vol, "sam-agent", "setup-done")); err != nil {
		t.Fatal("no setup marker on the volume")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "chats")); err == nil {
		t.Fatal("chat logs went to the data dir, not the volume")
	}
	for _, dir := range []string{dataDir, filepath.Join(vol, "sam-agent")} {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if content, _ := os.ReadFile(path); bytes.Contains(content, []byte(secretValue)) {
					t.Errorf("%s holds the variable's value", path)
				}
			}
			return nil
		})
	}
	if strings.Contains(logs.String(), secretValue) {
		t.Fatalf("the agent's log holds the variable's value:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "name=SAM_WORKSPACE_ID") {
		t.Fatalf("the refused variable is not named in the log:\n%s", logs.String())
	}
}
