package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaultsAndDerivedValues(t *testing.T) {
	env := map[string]string{
		"SAM_WORKSPACE_ID":      "ws1",
		"SAM_CONTROL_PLANE_URL": "http://localhost:8788/",
		"SAM_BOOTSTRAP_TOKEN":   "tok",
		"SAM_TLS":               "off",
		"SHELL":                 "/bin/zsh",
	}
	c, err := Load(nil, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		WorkspaceID: "ws1", ControlPlaneURL: "http://localhost:8788", BootstrapToken: "tok",
		ListenAddr: ":8443", DataDir: "/var/lib/sam-agent", WorkspaceDir: "/workspace",
		AllowedOrigin: "http://localhost:8788", JWTIssuer: "http://localhost:8788",
		JWKSURL: "http://localhost:8788/.well-known/jwks.json", SessionGrace: 24 * time.Hour,
		HeartbeatInterval: 30 * time.Second, Shell: "/bin/zsh", ScrollbackLines: 5000,
		ToolsDir: "/opt/sam", RunDir: "/run/sam-agent",
		AnthropicURL: "https://api.anthropic.com", OpenAIURL: "https://api.openai.com/v1",
		VolumeMount: VolumeAuto,
	}
	if c != want {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.env")
	content := "# written by cloud-init\nSAM_WORKSPACE_ID=from-file\nSAM_CONTROL_PLANE_URL=\"https://cp.example.com\"\nSAM_BOOTSTRAP_TOKEN=t\nSAM_HOSTNAME=ws-1.example.com\nSAM_LISTEN_ADDR=:1\nSAM_HEARTBEAT_INTERVAL=5s\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SAM_LISTEN_ADDR": ":2", "SAM_WORKSPACE_ID": "from-env"}
	c, err := Load([]string{"--config-file", file, "--workspace-id", "from-flag"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkspaceID != "from-flag" || c.ListenAddr != ":2" || c.HeartbeatInterval != 5*time.Second || !c.TLS || c.AllowedOrigin != "https://cp.example.com" {
		t.Fatalf("precedence wrong: %+v", c)
	}
}

func TestValidationNamesTheValue(t *testing.T) {
	base := map[string]string{
		"SAM_WORKSPACE_ID": "ws1", "SAM_CONTROL_PLANE_URL": "http://localhost:8788",
		"SAM_BOOTSTRAP_TOKEN": "tok", "SAM_TLS": "off", "SAM_DATA_DIR": t.TempDir(),
	}
	tests := []struct {
		key, value, want string
	}{
		{"SAM_WORKSPACE_ID", "", "SAM_WORKSPACE_ID"},
		{"SAM_CONTROL_PLANE_URL", "ftp://x", "SAM_CONTROL_PLANE_URL"},
		{"SAM_TLS", "yes", "SAM_TLS"},
		{"SAM_SCROLLBACK_LINES", "100", "SAM_SCROLLBACK_LINES"},
		{"SAM_SESSION_GRACE", "forever", "SAM_SESSION_GRACE"},
		{"SAM_HEARTBEAT_INTERVAL", "-1s", "SAM_HEARTBEAT_INTERVAL"},
		{"SAM_LISTEN_ADDR", "8443", "SAM_LISTEN_ADDR"},
		{"SAM_ALLOWED_ORIGIN", "https://a.example.com/path", "SAM_ALLOWED_ORIGIN"},
		{"SAM_SKIP_BOOTSTRAP", "yes", "SAM_SKIP_BOOTSTRAP"},
		{"SAM_BOOTSTRAP_TOKEN", "", "SAM_BOOTSTRAP_TOKEN"},
		{"SAM_TOOLS_DIR", "opt/sam", "SAM_TOOLS_DIR"},
		{"SAM_RUN_DIR", "run", "SAM_RUN_DIR"},
		{"SAM_SESSION_HOME", "home/sam", "SAM_SESSION_HOME"},
		{"SAM_VOLUME_DIR", "mnt/HC_Volume_1", "SAM_VOLUME_DIR"},
		{"SAM_VOLUME_DIR", "/", "SAM_VOLUME_DIR"},
		{"SAM_VOLUME_MOUNT", "overlay", "SAM_VOLUME_MOUNT"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			env[tt.key] = tt.value
			if tt.value == "" {
				delete(env, tt.key)
			}
			_, err := Load(nil, envOf(env), io.Discard)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tt.want)
			}
		})
	}
}

func TestVolumeSettings(t *testing.T) {
	env := map[string]string{"SAM_WORKSPACE_ID": "ws1", "SAM_CONTROL_PLANE_URL": "http://localhost:8788", "SAM_BOOTSTRAP_TOKEN": "t",
		"SAM_TLS": "off", "SAM_VOLUME_DIR": "/mnt/HC_Volume_42/", "SAM_VOLUME_MOUNT": "direct"}
	c, err := Load(nil, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.VolumeDir != "/mnt/HC_Volume_42" || c.VolumeMount != VolumeDirect {
		t.Fatalf("volume %q mount %q", c.VolumeDir, c.VolumeMount)
	}
}

func TestTLSOnNeedsHostname(t *testing.T) {
	env := map[string]string{"SAM_WORKSPACE_ID": "ws1", "SAM_CONTROL_PLANE_URL": "http://localhost:8788", "SAM_BOOTSTRAP_TOKEN": "t"}
	_, err := Load(nil, envOf(env), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SAM_HOSTNAME") {
		t.Fatalf("err = %v, want SAM_HOSTNAME", err)
	}
}

func TestBootstrapTokenOptionalWhenStateExists(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SAM_WORKSPACE_ID": "ws1", "SAM_CONTROL_PLANE_URL": "http://localhost:8788", "SAM_TLS": "off", "SAM_DATA_DIR": dir}
	if _, err := Load(nil, envOf(env), io.Discard); err != nil {
		t.Fatal(err)
	}
}

func TestHelpDocumentsEveryValue(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"--help"}, envOf(nil), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v, want ErrHelp", err)
	}
	for _, o := range options {
		if !strings.Contains(out.String(), o.env) || !strings.Contains(out.String(), "-"+o.name) {
			t.Errorf("help does not document %s / --%s", o.env, o.name)
		}
	}
}
