// Package config holds the agent's configuration: flags with SAM_* environment defaults and an optional
// dotenv-style file, validated before anything starts.
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MinScrollbackLines is the least scrollback a session keeps; reconnecting clients rely on it.
const MinScrollbackLines = 5000

// ErrInvalid marks a configuration value that failed validation.
var ErrInvalid = errors.New("invalid configuration")

// ErrHelp is returned when --help was asked for; the usage has already been printed.
var ErrHelp = flag.ErrHelp

// Config is the validated agent configuration.
type Config struct {
	WorkspaceID       string
	ControlPlaneURL   string
	BootstrapToken    string
	ListenAddr        string
	TLS               bool
	Hostname          string
	DataDir           string
	WorkspaceDir      string
	AllowedOrigin     string
	JWTIssuer         string
	JWKSURL           string
	SessionGrace      time.Duration
	HeartbeatInterval time.Duration
	Shell             string
	SessionUser       string // `sam`, or uid:gid in the local cloud; "" runs sessions as the agent's user
	SessionHome       string
	ToolsDir          string // root-owned prefix with Node (node/) and the coding-agent CLIs (bin/, lib/)
	RunDir            string // holds the credential socket, which the session user's git must reach
	AnthropicURL      string // the Messages API the chat's model proxy forwards to (a stand-in in the local cloud)
	OpenAIURL         string // the OpenAI API base (with /v1) the model proxy forwards Codex's requests to
	ScrollbackLines   int
	SkipBootstrap     bool
	ConfigFile        string
	// VolumeDir is where the workspace's volume is mounted (/mnt/HC_Volume_<id>); "" keeps everything on the
	// server's own disk, as before volumes.
	VolumeDir string
	// VolumeMount is how the volume's directories reach their usual paths: VolumeBind, VolumeDirect or VolumeAuto.
	VolumeMount string
}

// How the volume's directories are put in place (SAM_VOLUME_MOUNT).
const (
	// VolumeAuto binds when the agent runs as root and the volume is a real directory, else uses it directly.
	VolumeAuto = "auto"
	// VolumeBind bind-mounts <volume>/workspace and <volume>/home over the workspace dir and the user's home.
	VolumeBind = "bind"
	// VolumeDirect points the workspace dir and the user's home into the volume (an agent that cannot mount).
	VolumeDirect = "direct"
)

// StatePath is where the redeemed bootstrap answer is kept.
func (c Config) StatePath() string { return c.DataDir + "/state.json" }

// TLSKeyPath is where the VM's private key is kept.
func (c Config) TLSKeyPath() string { return c.DataDir + "/tls.key" }

// TLSCertPath is where the certificate returned by the control plane is kept.
func (c Config) TLSCertPath() string { return c.DataDir + "/tls.crt" }

// CredentialSocketPath is the unix socket the git credential helper asks for tokens. It is outside the data
// dir (0700), so the session user's git can reach it; the agent answers only that user (SO_PEERCRED).
func (c Config) CredentialSocketPath() string { return c.RunDir + "/git-credential.sock" }

type option struct {
	name  string // flag name
	env   string // SAM_* variable
	def   string // default before derivation; "" means none
	usage string
}

var options = []option{
	{"workspace-id", "SAM_WORKSPACE_ID", "", "workspace id (required)"},
	{"control-plane-url", "SAM_CONTROL_PLANE_URL", "", "control plane base URL, http(s), e.g. http://localhost:8788 (required)"},
	{"bootstrap-token", "SAM_BOOTSTRAP_TOKEN", "", "one-time bootstrap token (required unless <data-dir>/state.json exists)"},
	{"listen-addr", "SAM_LISTEN_ADDR", ":8443", "address to serve HTTP/WebSocket on"},
	{"tls", "SAM_TLS", "on", `"on" serves TLS with the certificate from bootstrap; "off" serves plain HTTP (benchmarks and tests; the local cloud runs agents with TLS, as in production)`},
	{"hostname", "SAM_HOSTNAME", "", "ws-<id>.<BASE_DOMAIN>; the CSR subject when TLS is on (required when TLS is on)"},
	{"data-dir", "SAM_DATA_DIR", "/var/lib/sam-agent", "state file, TLS key and credential socket (0700)"},
	{"workspace-dir", "SAM_WORKSPACE_DIR", "/workspace", "the repository is cloned into this directory; shells start here"},
	{"allowed-origin", "SAM_ALLOWED_ORIGIN", "", "dashboard origin for the WebSocket Origin check and CORS (default: origin of the control plane URL)"},
	{"jwt-issuer", "SAM_JWT_ISSUER", "", "expected iss of terminal tokens (default: control plane URL without trailing slash)"},
	{"jwks-url", "SAM_JWKS_URL", "", "JWKS for terminal tokens (default: <control plane>/.well-known/jwks.json)"},
	{"session-grace", "SAM_SESSION_GRACE", "24h", "how long a detached session lives after its last client left"},
	{"heartbeat-interval", "SAM_HEARTBEAT_INTERVAL", "30s", "interval between heartbeats to the control plane"},
	{"shell", "SAM_SHELL", "", "shell for new sessions (default: $SHELL, else /bin/bash, else /bin/sh)"},
	{"session-user", "SAM_SESSION_USER", "", "who terminals, coding agents and the clone run as: a user name (sam) or uid:gid (default: the agent's own user)"},
	{"session-home", "SAM_SESSION_HOME", "", "the session user's HOME (default: its /etc/passwd entry; required for uid:gid)"},
	{"tools-dir", "SAM_TOOLS_DIR", "/opt/sam", "root-owned prefix with Node (node/) and the coding-agent CLIs npm installs (bin/)"},
	{"run-dir", "SAM_RUN_DIR", "/run/sam-agent", "directory of the git credential socket (0755; the socket admits the session user's group)"},
	{"anthropic-url", "SAM_ANTHROPIC_URL", "https://api.anthropic.com", "Anthropic API the chat's model proxy forwards Claude Code's requests to"},
	{"openai-url", "SAM_OPENAI_URL", "https://api.openai.com/v1", "OpenAI API base the chat's model proxy forwards Codex's requests to"},
	{"scrollback-lines", "SAM_SCROLLBACK_LINES", "5000", "scrollback lines replayed on attach (minimum 5000)"},
	{"volume-dir", "SAM_VOLUME_DIR", "", "the workspace's volume (e.g. /mnt/HC_Volume_<id>): repository, the user's home and session logs live on it (default: none)"},
	{"volume-mount", "SAM_VOLUME_MOUNT", VolumeAuto, `"bind" mounts the volume's directories over the workspace dir and the user's home (root); "direct" uses the volume's paths as they are; "auto" binds when running as root and the volume is not a symlink`},
	{"skip-bootstrap", "SAM_SKIP_BOOTSTRAP", "false", `"true" only for benchmarks/tests: no control plane calls (JWT checks still apply)`},
}

// Load parses args (without the program name) with environment defaults from getenv and an optional
// file named by --config-file or SAM_CONFIG_FILE. Precedence: flag > environment > file > default.
func Load(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	fs := flag.NewFlagSet("vm-agent", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	values := make(map[string]*string, len(options))
	for _, o := range options {
		usage := fmt.Sprintf("%s [$%s]", o.usage, o.env)
		if o.def != "" {
			usage += fmt.Sprintf(" (default %q)", o.def)
		}
		values[o.name] = fs.String(o.name, "", usage)
	}
	configFile := fs.String("config-file", "", "optional dotenv-style file with SAM_KEY=value lines, e.g. /etc/sam/agent.env [$SAM_CONFIG_FILE]")
	fs.Usage = func() {
		fmt.Fprintf(usageOut, "Usage: vm-agent [flags]\n       vm-agent git-credential get   (git credential helper)\n\nEvery flag can also be set by its SAM_* environment variable or in --config-file.\nPrecedence: flag > environment > file > default.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", ErrInvalid, fs.Arg(0))
	}
	setByFlag := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setByFlag[f.Name] = true })

	path := *configFile
	if !setByFlag["config-file"] {
		path = getenv("SAM_CONFIG_FILE")
	}
	file := map[string]string{}
	if path != "" {
		var err error
		if file, err = readEnvFile(path); err != nil {
			return Config{}, err
		}
	}
	get := func(o option) string {
		if setByFlag[o.name] {
			return *values[o.name]
		}
		if v, ok := lookup(getenv, o.env); ok {
			return v
		}
		if v, ok := file[o.env]; ok {
			return v
		}
		return o.def
	}
	raw := make(map[string]string, len(options))
	for _, o := range options {
		raw[o.env] = strings.TrimSpace(get(o))
	}
	if raw["SAM_SHELL"] == "" {
		raw["SAM_SHELL"] = defaultShell(getenv)
	}
	cfg, err := build(raw)
	if err != nil {
		return Config{}, err
	}
	cfg.ConfigFile = path
	return cfg, nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func defaultShell(getenv func(string) string) string {
	if s := getenv("SHELL"); s != "" {
		return s
	}
	if _, err := os.Stat("/bin/bash"); err == nil {
		return "/bin/bash"
	}
	return "/bin/sh"
}

func invalid(key, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, a...))
}

// build checks the raw values step by step and returns the first failure.
func build(raw map[string]string) (Config, error) {
	c := Config{
		WorkspaceID:    raw["SAM_WORKSPACE_ID"],
		BootstrapToken: raw["SAM_BOOTSTRAP_TOKEN"],
		ListenAddr:     raw["SAM_LISTEN_ADDR"],
		Hostname:       raw["SAM_HOSTNAME"],
		DataDir:        raw["SAM_DATA_DIR"],
		WorkspaceDir:   raw["SAM_WORKSPACE_DIR"],
		Shell:          raw["SAM_SHELL"],
		SessionUser:    raw["SAM_SESSION_USER"],
		SessionHome:    raw["SAM_SESSION_HOME"],
		ToolsDir:       raw["SAM_TOOLS_DIR"],
		RunDir:         raw["SAM_RUN_DIR"],
		AnthropicURL:   raw["SAM_ANTHROPIC_URL"],
		OpenAIURL:      raw["SAM_OPENAI_URL"],
		VolumeDir:      raw["SAM_VOLUME_DIR"],
		VolumeMount:    raw["SAM_VOLUME_MOUNT"],
	}
	for _, step := range []func(*Config, map[string]string) error{
		(*Config).buildIdentity, (*Config).buildControlPlane, (*Config).buildListener, (*Config).buildPaths,
		(*Config).buildAuthURLs, (*Config).buildTimings, (*Config).buildSessions, (*Config).buildBootstrap,
	} {
		if err := step(&c, raw); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c *Config) buildIdentity(map[string]string) error {
	if c.WorkspaceID == "" {
		return invalid("SAM_WORKSPACE_ID", "required")
	}
	if strings.ContainsAny(c.WorkspaceID, "/?#% \t\n") {
		return invalid("SAM_WORKSPACE_ID", "%q contains characters not allowed in a URL path segment", c.WorkspaceID)
	}
	return nil
}

func (c *Config) buildControlPlane(raw map[string]string) error {
	cp := strings.TrimRight(raw["SAM_CONTROL_PLANE_URL"], "/")
	if cp == "" {
		return invalid("SAM_CONTROL_PLANE_URL", "required")
	}
	u, err := url.Parse(cp)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("SAM_CONTROL_PLANE_URL", "%q is not an http(s) URL", raw["SAM_CONTROL_PLANE_URL"])
	}
	c.ControlPlaneURL = cp
	return nil
}

// buildAuthURLs sets the dashboard origin, token issuer and JWKS URL, each defaulting from the control plane URL.
func (c *Config) buildAuthURLs(raw map[string]string) error {
	cp := c.ControlPlaneURL
	u, _ := url.Parse(cp) // checked by buildControlPlane
	c.AllowedOrigin = raw["SAM_ALLOWED_ORIGIN"]
	if c.AllowedOrigin == "" {
		c.AllowedOrigin = u.Scheme + "://" + u.Host
	}
	if o, err := url.Parse(c.AllowedOrigin); err != nil || (o.Scheme != "http" && o.Scheme != "https") || o.Host == "" || (o.Path != "" && o.Path != "/") || o.RawQuery != "" {
		return invalid("SAM_ALLOWED_ORIGIN", "%q is not an origin like https://app.example.com", c.AllowedOrigin)
	}
	c.AllowedOrigin = strings.TrimRight(c.AllowedOrigin, "/")
	c.JWTIssuer = raw["SAM_JWT_ISSUER"]
	if c.JWTIssuer == "" {
		c.JWTIssuer = cp
	}
	c.JWKSURL = raw["SAM_JWKS_URL"]
	if c.JWKSURL == "" {
		c.JWKSURL = cp + "/.well-known/jwks.json"
	}
	if j, err := url.Parse(c.JWKSURL); err != nil || (j.Scheme != "http" && j.Scheme != "https") || j.Host == "" {
		return invalid("SAM_JWKS_URL", "%q is not an http(s) URL", c.JWKSURL)
	}
	return nil
}

func (c *Config) buildListener(raw map[string]string) error {
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		return invalid("SAM_LISTEN_ADDR", "%q is not host:port", c.ListenAddr)
	}
	switch raw["SAM_TLS"] {
	case "on":
		c.TLS = true
	case "off":
	default:
		return invalid("SAM_TLS", "%q must be \"on\" or \"off\"", raw["SAM_TLS"])
	}
	if c.TLS && c.Hostname == "" {
		return invalid("SAM_HOSTNAME", "required when SAM_TLS is on")
	}
	return nil
}

func (c *Config) buildPaths(map[string]string) error {
	if c.DataDir == "" || !strings.HasPrefix(c.DataDir, "/") {
		return invalid("SAM_DATA_DIR", "%q must be an absolute path", c.DataDir)
	}
	if c.WorkspaceDir == "" || !strings.HasPrefix(c.WorkspaceDir, "/") {
		return invalid("SAM_WORKSPACE_DIR", "%q must be an absolute path", c.WorkspaceDir)
	}
	for key, path := range map[string]string{"SAM_TOOLS_DIR": c.ToolsDir, "SAM_RUN_DIR": c.RunDir} {
		if !strings.HasPrefix(path, "/") {
			return invalid(key, "%q must be an absolute path", path)
		}
	}
	if c.SessionHome != "" && !strings.HasPrefix(c.SessionHome, "/") {
		return invalid("SAM_SESSION_HOME", "%q must be an absolute path", c.SessionHome)
	}
	if c.VolumeDir != "" && (!strings.HasPrefix(c.VolumeDir, "/") || filepath.Clean(c.VolumeDir) == "/") {
		return invalid("SAM_VOLUME_DIR", "%q must be an absolute path below /", c.VolumeDir)
	}
	c.VolumeDir = strings.TrimRight(c.VolumeDir, "/")
	switch c.VolumeMount {
	case VolumeAuto, VolumeBind, VolumeDirect:
	default:
		return invalid("SAM_VOLUME_MOUNT", "%q must be \"auto\", \"bind\" or \"direct\"", c.VolumeMount)
	}
	return nil
}

func (c *Config) buildTimings(raw map[string]string) error {
	var err error
	if c.SessionGrace, err = positiveDuration("SAM_SESSION_GRACE", raw); err != nil {
		return err
	}
	if c.HeartbeatInterval, err = positiveDuration("SAM_HEARTBEAT_INTERVAL", raw); err != nil {
		return err
	}
	if c.HeartbeatInterval < time.Second {
		return invalid("SAM_HEARTBEAT_INTERVAL", "%s is shorter than 1s", c.HeartbeatInterval)
	}
	return nil
}

func (c *Config) buildSessions(raw map[string]string) error {
	if !strings.HasPrefix(c.Shell, "/") {
		return invalid("SAM_SHELL", "%q must be an absolute path", c.Shell)
	}
	n, err := strconv.Atoi(raw["SAM_SCROLLBACK_LINES"])
	if err != nil {
		return invalid("SAM_SCROLLBACK_LINES", "%q is not a whole number", raw["SAM_SCROLLBACK_LINES"])
	}
	if n < MinScrollbackLines || n > 1_000_000 {
		return invalid("SAM_SCROLLBACK_LINES", "%d must be between %d and 1000000", n, MinScrollbackLines)
	}
	c.ScrollbackLines = n
	return nil
}

func (c *Config) buildBootstrap(raw map[string]string) error {
	switch raw["SAM_SKIP_BOOTSTRAP"] {
	case "true":
		c.SkipBootstrap = true
	case "false", "":
	default:
		return invalid("SAM_SKIP_BOOTSTRAP", "%q must be \"true\" or \"false\"", raw["SAM_SKIP_BOOTSTRAP"])
	}
	if !c.SkipBootstrap && c.BootstrapToken == "" {
		if _, err := os.Stat(c.StatePath()); err != nil {
			return invalid("SAM_BOOTSTRAP_TOKEN", "required because %s does not exist", c.StatePath())
		}
	}
	return nil
}

func positiveDuration(key string, raw map[string]string) (time.Duration, error) {
	d, err := time.ParseDuration(raw[key])
	if err != nil {
		return 0, invalid(key, "%q is not a duration like 30s or 24h", raw[key])
	}
	if d <= 0 {
		return 0, invalid(key, "%s must be positive", d)
	}
	return d, nil
}

// readEnvFile reads SAM_KEY=value lines; blank lines and # comments are ignored, values may be quoted.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: config file: %w", ErrInvalid, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimPrefix(text, "export ")
		key, value, ok := strings.Cut(text, "=")
		key = strings.TrimSpace(key)
		if !ok || !strings.HasPrefix(key, "SAM_") {
			return nil, fmt.Errorf("%w: config file %s line %d: want SAM_KEY=value", ErrInvalid, path, line)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		out[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: config file %s: %w", ErrInvalid, path, err)
	}
	return out, nil
}
