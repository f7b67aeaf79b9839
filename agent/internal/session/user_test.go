package session

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// runPTY starts command on a real PTY and returns everything it printed.
func runPTY(t *testing.T, spec Spec) string {
	t.Helper()
	proc, err := StartPTY(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Close()
	done := make(chan []byte, 1)
	go func() {
		out, _ := io.ReadAll(proc)
		done <- out
	}()
	select {
	case out := <-done:
		if code, err := proc.Wait(); err != nil || code != 0 {
			t.Fatalf("exit %d %v: %s", code, err, out)
		}
		return string(out)
	case <-time.After(10 * time.Second):
		_ = proc.Kill()
		t.Fatal("command did not finish")
		return ""
	}
}

// The agent runs as root (CI and this machine run the tests as root too); its sessions must not.
func TestSessionRunsAsTheUserWithItsHomeAndTerminal(t *testing.T) {
	// t.TempDir's parent is 0700 root; the user must be able to enter every directory above its home.
	home, err := os.MkdirTemp("", "sam-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	u, err := LookupUser("65534:65534", home)
	if err != nil {
		t.Fatal(err)
	}
	env := Environment(u, "/bin/sh", "/opt/sam", []string{"PATH=/usr/bin:/bin", "SAM_BOOTSTRAP_TOKEN=secret", "HOME=/root"})
	out := runPTY(t, Spec{
		Command: []string{"sh", "-c", `echo "uid=$(id -u) gid=$(id -g) home=$HOME"; stat -c 'tty=%u' "$(tty)"; env | sort`},
		Dir:     home, Env: env, Cols: 80, Rows: 24, User: u,
	})
	for _, want := range []string{"uid=65534 gid=65534 home=" + home, "tty=65534", "PATH=/opt/sam/bin:/opt/sam/node/bin:/usr/bin:/bin"} {
		if !strings.Contains(out, want) {
			t.Fatalf("want %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SAM_BOOTSTRAP_TOKEN") || strings.Contains(out, "HOME=/root") {
		t.Fatalf("the agent's own environment leaked into the session:\n%s", out)
	}
}

func TestSessionUserCannotReadTheAgentsFiles(t *testing.T) {
	// An enterable parent (0755), as / and /var/lib are on a VM: only the data dir's own 0700 keeps the user out.
	parent, err := os.MkdirTemp("", "sam-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(parent, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dataDir, "state.json")
	if err := os.WriteFile(state, []byte(`{"callbackToken":"secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := LookupUser("65534:65534", "/")
	if err != nil {
		t.Fatal(err)
	}
	out := runPTY(t, Spec{
		Command: []string{"sh", "-c", "cat " + state + " || echo refused"},
		Env:     Environment(u, "/bin/sh", "", []string{"PATH=/usr/bin:/bin"}), Cols: 80, Rows: 24, User: u,
	})
	if !strings.Contains(out, "Permission denied") || strings.Contains(out, "secret") {
		t.Fatalf("the session read the agent's state: %s", out)
	}
}

func TestLookupUserRefusesRootAndNonsense(t *testing.T) {
	for _, spec := range []string{"0:0", "1000:0", "root"} {
		if _, err := LookupUser(spec, "/home/x"); !errors.Is(err, ErrRootUser) {
			t.Fatalf("%q: err %v, want ErrRootUser", spec, err)
		}
	}
	if _, err := LookupUser("12:x", "/home/x"); err == nil || !strings.Contains(err.Error(), "uid:gid") {
		t.Fatalf("err %v", err)
	}
	if _, err := LookupUser("1000:1000", ""); err == nil || !strings.Contains(err.Error(), "home") {
		t.Fatalf("err %v", err)
	}
	if _, err := LookupUser("no-such-user-here", ""); err == nil || !strings.Contains(err.Error(), "cloud-init creates it") {
		t.Fatalf("err %v", err)
	}
}

func TestEnvironmentWithoutUserKeepsTheAgentsIdentity(t *testing.T) {
	env := Environment(nil, "/bin/bash", "", []string{"PATH=/bin", "HOME=/h", "USER=me", "LANG=de_DE.UTF-8", "npm_config_cache=/root/.npm", "SAM_X=1"})
	want := []string{"PATH=/bin", "SHELL=/bin/bash", "HOME=/h", "USER=me", "LANG=de_DE.UTF-8"}
	if !slices.Equal(env, want) {
		t.Fatalf("env %v, want %v", env, want)
	}
}
