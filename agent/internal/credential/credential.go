// Package credential holds the git credential helper: a unix socket in the agent's data dir that hands out
// fresh GitHub installation tokens, and the `vm-agent git-credential` side that git invokes.
package credential

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

// RefreshBefore is how long before expiry a cached token is replaced.
const RefreshBefore = 5 * time.Minute

// Username is what GitHub expects with an installation token.
const Username = "x-access-token"

// TokenSource caches the installation token until shortly before it expires.
type TokenSource struct {
	Fetch func(ctx context.Context) (controlplane.GitToken, error)
	Now   func() time.Time

	mu     sync.Mutex
	cached controlplane.GitToken
}

// Token returns a token valid for at least RefreshBefore.
func (t *TokenSource) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if t.cached.Token != "" && now().Add(RefreshBefore).Before(t.cached.ExpiresAt) {
		return t.cached.Token, nil
	}
	tok, err := t.Fetch(ctx)
	if err != nil {
		return "", fmt.Errorf("fetch git token: %w", err)
	}
	t.cached = tok
	return tok.Token, nil
}

// request is what the helper sends: the attributes git gave it.
type request struct {
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
}

type response struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Server answers helper requests on a unix socket.
type Server struct {
	Path     string
	Protocol string // only this scheme and host get the token: the clone URL's
	Host     string
	Tokens   *TokenSource
	Log      *slog.Logger
	// SessionUID and SessionGID are the workspace user's (`sam`), whose git asks through the helper. The socket
	// is then group-writable for SessionGID, and the kernel's word on each caller (SO_PEERCRED) must be this
	// uid or the agent's own. Nil leaves the socket to the agent's user alone (mode 0600).
	SessionUID, SessionGID *uint32
}

// ErrPeerRefused means a process that is neither the agent nor the workspace user asked for a token.
var ErrPeerRefused = errors.New("caller is not the workspace user")

// Serve listens on s.Path (mode 0600, or 0660 with the session user's group) until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	// Bind under a temporary name, restrict it, then rename it into place:
	// the socket never exists at s.Path with the umask's wider mode.
	tmp := s.Path + ".tmp"
	_ = os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return fmt.Errorf("credential socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	mode := os.FileMode(0o600)
	if s.SessionGID != nil {
		mode = 0o660
		err = os.Chown(tmp, os.Getuid(), int(*s.SessionGID))
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, s.Path)
	}
	if err != nil {
		ln.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("credential socket: %w", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer os.Remove(s.Path)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("credential socket: %w", err)
		}
		go s.handle(ctx, conn)
	}
}

func (s *Server) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var req request
	if err := json.NewDecoder(io.LimitReader(conn, 4096)).Decode(&req); err != nil {
		return
	}
	var resp response
	switch uid, err := peerUID(conn); {
	case err != nil || !s.allowed(uid):
		s.Log.Warn("git credential request refused", "uid", uid, "err", cmp.Or(err, ErrPeerRefused))
		resp.Error = ErrPeerRefused.Error()
	case req.Protocol != s.Protocol || !strings.EqualFold(req.Host, s.Host):
		resp.Error = "no credentials for " + req.Protocol + "://" + req.Host
	default:
		tok, err := s.Tokens.Token(ctx)
		if err != nil {
			s.Log.Warn("git credential request failed", "err", err)
			resp.Error = "could not get a token from the control plane"
		} else {
			resp = response{Username: Username, Password: tok}
		}
	}
	_ = json.NewEncoder(conn).Encode(resp)
}

func (s *Server) allowed(uid uint32) bool {
	return uid == uint32(os.Getuid()) || (s.SessionUID != nil && uid == *s.SessionUID)
}

// peerUID is the uid of the process on the other end, as the kernel recorded it when it connected.
func peerUID(conn net.Conn) (uint32, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0, errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, fmt.Errorf("SO_PEERCRED: %w", credErr)
	}
	return cred.Uid, nil
}

// HelperCommand is the credential.helper value that runs this binary as the helper.
func HelperCommand(executable, socketPath string) string {
	return fmt.Sprintf(`!%q git-credential --socket %q`, executable, socketPath)
}

// ErrNoCredentials means the agent had nothing to give; git then tries other helpers or fails.
var ErrNoCredentials = errors.New("no credentials")

// RunHelper implements `vm-agent git-credential [--socket path] <get|store|erase>` for git.
func RunHelper(args []string, stdin io.Reader, stdout io.Writer) error {
	socket := ""
	var action string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--socket" && i+1 < len(args):
			socket = args[i+1]
			i++
		case strings.HasPrefix(args[i], "--socket="):
			socket = strings.TrimPrefix(args[i], "--socket=")
		default:
			action = args[i]
		}
	}
	if action != "get" {
		return nil // store and erase: the agent keeps nothing git could store or erase
	}
	if socket == "" {
		return errors.New("git-credential: --socket is required")
	}
	var req request
	sc := bufio.NewScanner(io.LimitReader(stdin, 64<<10))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "protocol":
			req.Protocol = v
		case "host":
			req.Host = v
		}
	}
	conn, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return fmt.Errorf("git-credential: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(45 * time.Second))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return fmt.Errorf("git-credential: %w", err)
	}
	var resp response
	if err := json.NewDecoder(io.LimitReader(conn, 64<<10)).Decode(&resp); err != nil {
		return fmt.Errorf("git-credential: %w", err)
	}
	if resp.Error != "" {
		return fmt.Errorf("%w: %s", ErrNoCredentials, resp.Error)
	}
	_, err = fmt.Fprintf(stdout, "username=%s\npassword=%s\n", resp.Username, resp.Password)
	return err
}
