package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/chat"
	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
var fast = Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}

const okAnswer = `{"workspace_id":"ws1","callback_token":"cb1","callback_token_expires_at":"2030-01-01T00:00:00Z","repository":null,"agent_cli":"none","certificate":null}`

func TestRedeemRetriesWhileDownOr5xxThenSaves(t *testing.T) {
	var calls atomic.Int32
	var gotBody, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusBadGateway)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		case 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			b, _ := io.ReadAll(r.Body)
			gotBody, gotPath = string(b), r.URL.Path
			w.Write([]byte(okAnswer))
		}
	}))
	defer srv.Close()
	// First the control plane is unreachable: point at a closed port, then switch to the live server.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	cp := controlplane.New(deadURL, "ws1", nil)
	var once sync.Once
	cp.HTTP.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		once.Do(func() { cp.BaseURL = srv.URL })
		return resp, err
	})
	statePath := filepath.Join(t.TempDir(), "state.json")
	st, err := Redeem(context.Background(), cp, statePath, "boot-tok", "", fast, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 || gotPath != "/api/bootstrap/boot-tok" || gotBody != "{}" {
		t.Fatalf("calls %d path %q body %q", calls.Load(), gotPath, gotBody)
	}
	if st.CallbackToken() != "cb1" {
		t.Fatalf("callback token = %q", st.CallbackToken())
	}
	info, err := os.Stat(statePath)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", info, err)
	}

	// A restart uses the saved state and does not redeem again.
	before := calls.Load()
	st2, err := Redeem(context.Background(), cp, statePath, "boot-tok", "", fast, quiet)
	if err != nil || st2.CallbackToken() != "cb1" || calls.Load() != before {
		t.Fatalf("restart redeemed again: err %v calls %d", err, calls.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedeemStopsOnRejection(t *testing.T) {
	for _, status := range []int{401, 404, 410, 400} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(status)
		}))
		statePath := filepath.Join(t.TempDir(), "state.json")
		_, err := Redeem(context.Background(), controlplane.New(srv.URL, "ws1", nil), statePath, "tok", "", fast, quiet)
		srv.Close()
		if !errors.Is(err, ErrRejected) || calls.Load() != 1 {
			t.Fatalf("status %d: err %v after %d calls", status, err, calls.Load())
		}
		if _, err := os.Stat(statePath); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("status %d: state file written", status)
		}
	}
}

func TestKeyAndCSR(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tls.key")
	pem1, key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", info.Mode().Perm())
	}
	pem2, _, err := LoadOrCreateKey(path)
	if err != nil || string(pem1) != string(pem2) {
		t.Fatal("key not reused")
	}
	csr, err := CSR(key, "ws-1.example.com")
	if err != nil || !strings.Contains(csr, "BEGIN CERTIFICATE REQUEST") || strings.Contains(csr, "PRIVATE") {
		t.Fatalf("csr %q %v", csr, err)
	}
}

type recordedCall struct {
	Path string
	Auth string
	Body map[string]string
}

// enterable is a temporary directory the session user may enter (t.TempDir's parent is 0700 root).
func enterable(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sam-boot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStepsCloneInstallReady(t *testing.T) {
	var mu sync.Mutex
	var calls []recordedCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		calls = append(calls, recordedCall{r.URL.Path, r.Header.Get("Authorization"), body})
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	// A local repository stands in for GitHub.
	dir := enterable(t)
	origin := filepath.Join(dir, "origin")
	for _, args := range [][]string{{"init", "-q", "-b", "main", origin}, {"-C", origin, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "init"}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	// git refuses a local repository owned by someone else; GitHub over https has no such owner.
	if out, err := exec.Command("chown", "-R", "65534:65534", origin).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	st, err := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{
		CallbackToken: "cb1", AgentCLI: "claude-code",
		Repository: &controlplane.Repository{CloneURL: origin, Branch: "main", FullName: "o/r"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The agent (root, like this test) clones as the workspace user, and installs into its own tools prefix.
	user, err := session.LookupUser("65534:65534", filepath.Join(dir, "home"))
	if err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(dir, "opt-sam")
	if err := os.MkdirAll(filepath.Join(tools, "node", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tools, "node", "bin", "npm"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var npm Command
	workspace := filepath.Join(dir, "workspace")
	steps := &Steps{
		CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, WorkspaceDir: workspace,
		HelperCommand: `!"/usr/local/bin/vm-agent" git-credential --socket "/x.sock"`, Log: quiet,
		User: user, UserEnv: session.Environment(user, "/bin/sh", tools, os.Environ()),
		ToolsDir: tools, AgentEnv: []string{"PATH=/usr/bin:/bin", "HOME=/root", "npm_config_registry=https://registry.example/"},
	}
	steps.Exec = func(ctx context.Context, c Command) ([]byte, error) {
		if strings.HasSuffix(c.Name, "/npm") {
			npm = c
			return []byte("npm ERR! network"), errors.New("exit status 1")
		}
		return execCommand(ctx, c)
	}
	if err := steps.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	config, _ := os.ReadFile(filepath.Join(workspace, ".git", "config"))
	if !strings.Contains(string(config), "git-credential") {
		t.Fatalf("helper not configured: %s\n%+v", config, calls)
	}
	if fi, err := os.Stat(filepath.Join(workspace, ".git", "HEAD")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Fatalf("the clone does not belong to the workspace user: %v", err)
	}
	wantArgs := "install --global --prefix " + tools + " --no-audit --no-fund --no-update-notifier @anthropic-ai/claude-code@2.1.332 @agentclientprotocol/claude-agent-acp@0.101.0"
	if strings.Join(npm.Args, " ") != wantArgs || npm.User != nil {
		t.Fatalf("npm %+v, want %q as the agent's user", npm, wantArgs)
	}
	if !slices.Contains(npm.Env, "PATH="+tools+"/node/bin:/usr/bin:/bin") || !slices.Contains(npm.Env, "npm_config_registry=https://registry.example/") {
		t.Fatalf("npm env %v", npm.Env)
	}
	var steps2 []string
	for _, c := range calls {
		if c.Auth != "Bearer cb1" {
			t.Fatalf("call %s without callback token", c.Path)
		}
		steps2 = append(steps2, strings.TrimPrefix(c.Path, "/api/workspaces/ws1/")+":"+c.Body["step"]+":"+c.Body["status"])
	}
	want := "boot-log:bootstrap:ok boot-log:clone:started boot-log:clone:ok boot-log:install-agent-cli:started boot-log:install-agent-cli:error ready:: boot-log:ready:ok"
	if got := strings.Join(steps2, " "); got != want {
		t.Fatalf("calls:\n%s\nwant\n%s", got, want)
	}
	if !st.Get().BootCompleted {
		t.Fatal("boot not recorded as completed")
	}
}

func TestInstallWithoutNodeSaysWhatToCheck(t *testing.T) {
	var mu sync.Mutex
	var messages []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		messages = append(messages, body["step"]+":"+body["status"]+":"+body["message"])
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	st, err := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{
		CallbackToken: "cb1", AgentCLI: "codex",
	}})
	if err != nil {
		t.Fatal(err)
	}
	steps := &Steps{CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, ToolsDir: t.TempDir(), Log: quiet,
		Exec: func(context.Context, Command) ([]byte, error) { t.Fatal("nothing should run"); return nil, nil }}
	if err := steps.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(messages, "\n")
	if !strings.Contains(joined, "install-agent-cli:error:Node.js and npm are not installed") || !strings.Contains(joined, "cloud-init-output.log") {
		t.Fatalf("boot log:\n%s", joined)
	}
}

func TestInstallSkipsTheCLIASAMImageHolds(t *testing.T) {
	var mu sync.Mutex
	var messages []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		messages = append(messages, body["step"]+":"+body["status"]+":"+body["message"])
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	cli := CLIs["codex"]
	for _, tc := range []struct {
		name, version, want string
	}{
		{"pinned version from the image", cli.Version, "install-agent-cli:ok:Node.js and " + cli.Package + "@" + cli.Version + " (codex) from the SAM image v7: nothing to install"},
		{"another version is replaced", "0.0.1", "install-agent-cli:error:Node.js and npm are not installed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			messages = nil
			tools := t.TempDir()
			pkgDir := filepath.Join(tools, "lib", "node_modules", cli.Package)
			for _, dir := range []string{pkgDir, filepath.Join(tools, "bin")} {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			os.WriteFile(filepath.Join(pkgDir, "package.json"), []byte(`{"name":"`+cli.Package+`","version":"`+tc.version+`"}`), 0o644)
			os.WriteFile(filepath.Join(tools, "bin", cli.Command), []byte("#!/bin/sh\n"), 0o755)
			adapterDir := filepath.Join(tools, "lib", "node_modules", cli.Adapter)
			os.MkdirAll(adapterDir, 0o755)
			os.WriteFile(filepath.Join(adapterDir, "package.json"), []byte(`{"version":"`+cli.AdapterVersion+`"}`), 0o644)
			os.WriteFile(filepath.Join(tools, "bin", cli.AdapterCommand), []byte("#!/bin/sh\n"), 0o755)
			os.WriteFile(filepath.Join(tools, "sam-image"), []byte("version=v7\nnode-sha256=x\n"), 0o644)
			st, err := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{
				CallbackToken: "cb1", AgentCLI: "codex",
			}})
			if err != nil {
				t.Fatal(err)
			}
			steps := &Steps{CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, ToolsDir: tools, Log: quiet,
				Exec: func(context.Context, Command) ([]byte, error) { t.Fatal("nothing should run"); return nil, nil }}
			if err := steps.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			joined := strings.Join(messages, "\n")
			mu.Unlock()
			if !strings.Contains(joined, tc.want) {
				t.Fatalf("boot log:\n%s", joined)
			}
		})
	}
}

func TestInstallSkipsACLIOnlyWithItsChatAdapter(t *testing.T) {
	for _, agent := range []string{"claude-code", "codex"} {
		cli := CLIs[agent]
		for _, tc := range []struct {
			name    string
			adapter string // the adapter's installed version, "" for none
			want    string
		}{
			{"CLI and adapter at their pinned versions", cli.AdapterVersion, "install-agent-cli:ok:Node.js and " + cli.Package + "@" + cli.Version + " (" + cli.Command + ") already in"},
			{"the adapter missing is installed", "", "install-agent-cli:error:Node.js and npm are not installed"},
			{"another adapter version is replaced", "0.0.1", "install-agent-cli:error:Node.js and npm are not installed"},
		} {
			t.Run(agent+"/"+tc.name, func(t *testing.T) {
				var mu sync.Mutex
				var messages []string
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					var body map[string]string
					json.NewDecoder(r.Body).Decode(&body)
					mu.Lock()
					messages = append(messages, body["step"]+":"+body["status"]+":"+body["message"])
					mu.Unlock()
					w.Write([]byte(`{}`))
				}))
				defer srv.Close()
				tools := t.TempDir()
				install := func(pkg, command, version string) {
					dir := filepath.Join(tools, "lib", "node_modules", pkg)
					for _, d := range []string{dir, filepath.Join(tools, "bin")} {
						if err := os.MkdirAll(d, 0o755); err != nil {
							t.Fatal(err)
						}
					}
					os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"version":"`+version+`"}`), 0o644)
					os.WriteFile(filepath.Join(tools, "bin", command), []byte("#!/bin/sh\n"), 0o755)
				}
				install(cli.Package, cli.Command, cli.Version)
				if tc.adapter != "" {
					install(cli.Adapter, cli.AdapterCommand, tc.adapter)
				}
				st, err := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{
					CallbackToken: "cb1", AgentCLI: agent,
				}})
				if err != nil {
					t.Fatal(err)
				}
				steps := &Steps{CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, ToolsDir: tools, Log: quiet}
				if err := steps.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				joined := strings.Join(messages, "\n")
				mu.Unlock()
				if !strings.Contains(joined, tc.want) {
					t.Fatalf("boot log:\n%s\nwant %q", joined, tc.want)
				}
			})
		}
	}
}

// Every CLI a workspace can get has a chat: the boot installs its pinned ACP adapter in the same npm install,
// and the adapter's command is the one the chat starts (agent/internal/chat).
func TestEachCLIIsInstalledWithTheAdapterItsChatRuns(t *testing.T) {
	for name, cli := range CLIs {
		t.Run(name, func(t *testing.T) {
			if cli.Adapter == "" || cli.AdapterVersion == "" || cli.AdapterCommand == "" {
				t.Fatalf("%s has no pinned chat adapter: %+v", name, cli)
			}
			if got := chat.Agents[name].Command; got != cli.AdapterCommand {
				t.Fatalf("the chat runs %q, the boot installs %q", got, cli.AdapterCommand)
			}
			var mu sync.Mutex
			var messages []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body map[string]string
				json.NewDecoder(r.Body).Decode(&body)
				mu.Lock()
				messages = append(messages, body["step"]+":"+body["status"]+":"+body["message"])
				mu.Unlock()
				w.Write([]byte(`{}`))
			}))
			defer srv.Close()
			tools := t.TempDir()
			if err := os.MkdirAll(filepath.Join(tools, "node", "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tools, "node", "bin", "npm"), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			var npm Command
			st, err := state.Create(filepath.Join(t.TempDir(), "state.json"), state.State{BootstrapResponse: controlplane.BootstrapResponse{
				CallbackToken: "cb1", AgentCLI: name,
			}})
			if err != nil {
				t.Fatal(err)
			}
			steps := &Steps{CP: controlplane.New(srv.URL, "ws1", st.CallbackToken), State: st, ToolsDir: tools, Log: quiet,
				AgentEnv: []string{"PATH=/usr/bin:/bin"},
				Exec: func(_ context.Context, c Command) ([]byte, error) {
					// What npm leaves behind: both commands in the prefix's bin/.
					npm = c
					for _, command := range []string{cli.Command, cli.AdapterCommand} {
						if err := os.MkdirAll(filepath.Join(tools, "bin"), 0o755); err != nil {
							return nil, err
						}
						if err := os.WriteFile(filepath.Join(tools, "bin", command), []byte("#!/bin/sh\n"), 0o755); err != nil {
							return nil, err
						}
					}
					return nil, nil
				}}
			if err := steps.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := "install --global --prefix " + tools + " --no-audit --no-fund --no-update-notifier " +
				cli.Package + "@" + cli.Version + " " + cli.Adapter + "@" + cli.AdapterVersion
			if got := strings.Join(npm.Args, " "); got != want {
				t.Fatalf("npm %s, want %s", got, want)
			}
			mu.Lock()
			joined := strings.Join(messages, "\n")
			mu.Unlock()
			if !strings.Contains(joined, "install-agent-cli:ok:installed "+cli.Package+"@"+cli.Version) {
				t.Fatalf("boot log:\n%s", joined)
			}
		})
	}
}
