package credential

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

// TestMain lets git run this test binary as the credential helper, as it runs `vm-agent git-credential`.
func TestMain(m *testing.M) {
	if os.Getenv("SAM_TEST_AS_HELPER") == "1" {
		if err := RunHelper(os.Args[2:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startServer(t *testing.T, fetches *atomic.Int32, expiresIn time.Duration) string {
	t.Helper()
	return startServerFor(t, t.TempDir(), nil, fetches, expiresIn)
}

func startServerFor(t *testing.T, dir string, sessionUser *uint32, fetches *atomic.Int32, expiresIn time.Duration) string {
	t.Helper()
	sock := filepath.Join(dir, "git-credential.sock")
	srv := &Server{SessionUID: sessionUser, SessionGID: sessionUser, Path: sock, Protocol: "https", Host: "github.com", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Tokens: &TokenSource{Fetch: func(context.Context) (controlplane.GitToken, error) {
			n := fetches.Add(1)
			return controlplane.GitToken{Token: fmt.Sprintf("ghs_fresh_%d", n), ExpiresAt: time.Now().Add(expiresIn)}, nil
		}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]os.FileMode{true: 0o660, false: 0o600}[sessionUser != nil]; st.Mode().Perm() != want {
		t.Fatalf("socket mode = %v, want %v", st.Mode().Perm(), want)
	}
	return sock
}

// enterableDir is a directory any user may enter, as /run/sam-agent is on a VM (t.TempDir's parent is 0700).
func enterableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sam-credential-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The workspace user's git gets tokens through the socket; another unprivileged user who can reach the socket
// (here: put in its group) gets nothing, because the kernel names the caller. The agent runs as root, as
// these tests do.
func TestOnlyTheWorkspaceUserAndTheAgentGetTokens(t *testing.T) {
	var fetches atomic.Int32
	sam := uint32(65534)
	dir := enterableDir(t)
	sock := startServerFor(t, dir, &sam, &fetches, time.Hour)
	// The helper binary must be executable by the other users.
	self, _ := os.Executable()
	helper := filepath.Join(dir, "vm-agent")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(helper, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ask := func(uid uint32) (string, error) {
		cmd := exec.Command(helper, "git-credential", "--socket", sock, "get")
		cmd.Env = []string{"SAM_TEST_AS_HELPER=1"}
		cmd.Stdin = strings.NewReader("protocol=https\nhost=github.com\n\n")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: sam, Groups: []uint32{sam}}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := ask(sam)
	if err != nil || !strings.Contains(out, "password=ghs_fresh_1") {
		t.Fatalf("workspace user: %v %q", err, out)
	}
	out, err = ask(12345)
	if err == nil || strings.Contains(out, "ghs_") || !strings.Contains(out, ErrPeerRefused.Error()) {
		t.Fatalf("another user got an answer: %v %q", err, out)
	}
	var own strings.Builder
	if err := RunHelper([]string{"--socket", sock, "get"}, strings.NewReader("protocol=https\nhost=github.com\n\n"), &own); err != nil || !strings.Contains(own.String(), "ghs_fresh_1") {
		t.Fatalf("the agent's own clone: %v %q", err, own.String())
	}
	if fetches.Load() != 1 {
		t.Fatalf("fetches = %d", fetches.Load())
	}
}

func TestGitCredentialFillGetsFreshTokenAndNothingIsStored(t *testing.T) {
	var fetches atomic.Int32
	sock := startServer(t, &fetches, time.Hour)
	exe, _ := os.Executable()
	repo := t.TempDir()
	git := func(stdin string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "SAM_TEST_AS_HELPER=1", "GIT_TERMINAL_PROMPT=0", "HOME="+t.TempDir())
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("", "init", "-q")
	git("", "config", "--local", "credential.helper", HelperCommand(exe, sock))
	out := git("protocol=https\nhost=github.com\npath=owner/repo.git\n\n", "credential", "fill")
	if !strings.Contains(out, "username=x-access-token\n") || !strings.Contains(out, "password=ghs_fresh_1\n") {
		t.Fatalf("credential fill = %q", out)
	}
	git("protocol=https\nhost=github.com\n\n", "credential", "fill")
	if fetches.Load() != 1 {
		t.Fatalf("token fetched %d times, want 1 (cached)", fetches.Load())
	}
	git("protocol=https\nhost=github.com\nusername=x-access-token\npassword=ghs_fresh_1\n\n", "credential", "approve")
	config, err := os.ReadFile(filepath.Join(repo, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(config), "ghs_") || !strings.Contains(string(config), "git-credential") {
		t.Fatalf(".git/config = %s", config)
	}
}

func TestOtherHostsGetNothing(t *testing.T) {
	var fetches atomic.Int32
	sock := startServer(t, &fetches, time.Hour)
	var out strings.Builder
	for _, attrs := range []string{"protocol=https\nhost=evil.example\n\n", "protocol=http\nhost=github.com\n\n"} {
		err := RunHelper([]string{"--socket", sock, "get"}, strings.NewReader(attrs), &out)
		if err == nil || out.Len() != 0 || fetches.Load() != 0 {
			t.Fatalf("%q: err %v out %q fetches %d", attrs, err, out.String(), fetches.Load())
		}
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	var fetches atomic.Int32
	now := time.Now()
	ts := &TokenSource{Now: func() time.Time { return now }, Fetch: func(context.Context) (controlplane.GitToken, error) {
		fetches.Add(1)
		return controlplane.GitToken{Token: "t", ExpiresAt: now.Add(time.Hour)}, nil
	}}
	ts.Token(context.Background())
	now = now.Add(50 * time.Minute)
	ts.Token(context.Background())
	if fetches.Load() != 1 {
		t.Fatalf("fetches = %d before the refresh window", fetches.Load())
	}
	now = now.Add(6 * time.Minute)
	ts.Token(context.Background())
	if fetches.Load() != 2 {
		t.Fatalf("fetches = %d, want a refresh within 5 minutes of expiry", fetches.Load())
	}
}
