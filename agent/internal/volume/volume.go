// Package volume puts the workspace's files on its volume (a Hetzner Volume that outlives the server): the
// repository, the workspace user's home and the agent's session records. Node and the coding-agent CLIs stay
// in the root-owned tools prefix on the server's disk, so a newer server brings newer ones to an old volume.
//
// Layout on the volume:
//
//	<volume>/workspace   the repository (the workspace dir)
//	<volume>/home        the workspace user's home (tool caches, ~/.claude, ~/.codex)
//	<volume>/sam-agent/  the agent's own records (0700): chat event logs, terminal tabs, the setup marker
//
// On a VM the agent runs as root and bind-mounts the first two over their usual paths (/workspace,
// /home/sam), so nothing a user sees changes. An agent that cannot mount (the local cloud, whose volume is a
// symlinked directory on a shared host) points the workspace dir and HOME into the volume instead.
package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/config"
	"github.com/simple-agent-manager/sam/agent/internal/session"
)

// ErrNotMounted means the volume did not appear (or was not mounted) within the wait.
var ErrNotMounted = errors.New("the workspace's volume is not mounted")

// Options say where the volume is and what goes on it.
type Options struct {
	Dir  string // SAM_VOLUME_DIR
	Mode string // config.VolumeAuto, VolumeBind or VolumeDirect
	// WorkspaceDir is the configured workspace dir (the bind target).
	WorkspaceDir string
	// User is the workspace user; nil (tests, benchmarks) leaves HOME alone.
	User *session.User
	// SkelDir seeds a new home when the user's current home is empty (default /etc/skel).
	SkelDir string
	// Wait bounds the wait for the volume (default 120 s); Poll is the interval between looks (default 1 s).
	Wait, Poll time.Duration
	Log        *slog.Logger

	// Mount and IsMountPoint stand in for the kernel in tests; nil means the real ones.
	Mount        func(source, target string) error
	IsMountPoint func(path string) (bool, error)
}

// Layout is where things ended up.
type Layout struct {
	Dir  string
	Bind bool
	// WorkspaceDir and Home are the paths to use from now on: the usual ones when bound, the volume's otherwise.
	WorkspaceDir string
	Home         string
	// AgentDir holds the agent's records on the volume (owner-only).
	AgentDir string
}

// ChatLogDir holds each chat's event log and description.
func (l Layout) ChatLogDir() string { return filepath.Join(l.AgentDir, "chats") }

// TerminalsPath records the open terminal tabs, reopened after a restart.
func (l Layout) TerminalsPath() string { return filepath.Join(l.AgentDir, "terminals.json") }

// SetupMarkerPath exists once the repository's setup has run on this volume.
func (l Layout) SetupMarkerPath() string { return filepath.Join(l.AgentDir, "setup-done") }

func (l Layout) homeSeedPath() string { return filepath.Join(l.AgentDir, "home-seed.json") }

// Prepare waits for the volume, makes its directories and puts them in place. With a user, user.Home is
// set to where the home now is (unchanged when bound).
func Prepare(ctx context.Context, o Options) (Layout, error) {
	o.defaults()
	deadline := time.Now().Add(o.Wait)
	if err := o.waitFor(ctx, deadline, o.exists); err != nil {
		return Layout{}, err
	}
	bind := o.bindMode()
	if bind {
		// The directory is made before the mount: writing into it then would put the work on the server's disk.
		if err := o.waitFor(ctx, deadline, o.mounted); err != nil {
			return Layout{}, err
		}
	} else if resolved, err := filepath.EvalSymlinks(o.Dir); err == nil {
		// Direct paths are the real ones: a process's working directory is the link's target, and a coding
		// agent judges "inside the workspace" by it (Claude Code asked permission to read the README otherwise).
		o.Dir = resolved
	}
	l := Layout{Dir: o.Dir, Bind: bind, WorkspaceDir: o.WorkspaceDir, AgentDir: filepath.Join(o.Dir, "sam-agent")}
	if err := makeDir(l.AgentDir, 0o700, nil); err != nil {
		return Layout{}, err
	}
	workspace := filepath.Join(o.Dir, "workspace")
	if err := makeDir(workspace, 0o755, o.User); err != nil {
		return Layout{}, err
	}
	if bind {
		if err := o.bindOver(workspace, o.WorkspaceDir); err != nil {
			return Layout{}, err
		}
	} else {
		l.WorkspaceDir = workspace
	}
	if o.User != nil {
		home := filepath.Join(o.Dir, "home")
		if err := o.prepareHome(l, home); err != nil {
			return Layout{}, err
		}
		if bind {
			if err := o.bindOver(home, o.User.Home); err != nil {
				return Layout{}, err
			}
		} else {
			o.User.Home = home
		}
		l.Home = o.User.Home
	}
	o.Log.Info("workspace volume ready", "volume", o.Dir, "bind", bind, "workspace", l.WorkspaceDir, "home", l.Home)
	return l, nil
}

func (o *Options) defaults() {
	if o.SkelDir == "" {
		o.SkelDir = "/etc/skel"
	}
	if o.Wait == 0 {
		o.Wait = 120 * time.Second
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Mount == nil {
		o.Mount = func(source, target string) error { return syscall.Mount(source, target, "", syscall.MS_BIND, "") }
	}
	if o.IsMountPoint == nil {
		o.IsMountPoint = isMountPoint
	}
}

// bindMode decides between bind mounts and direct paths. A symlinked volume is the local cloud's stand-in:
// mounting through it would leave mounts inside a tree the local cloud deletes, so auto never binds it.
func (o *Options) bindMode() bool {
	switch o.Mode {
	case config.VolumeBind:
		return true
	case config.VolumeDirect:
		return false
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return false
	}
	info, err := os.Lstat(o.Dir)
	return err == nil && info.Mode()&fs.ModeSymlink == 0
}

// waitFor polls ready until it says "" or the deadline passes.
func (o *Options) waitFor(ctx context.Context, deadline time.Time, ready func() string) error {
	for {
		why := ready()
		if why == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w at %s after %s: %s", ErrNotMounted, o.Dir, o.Wait, why)
		}
		o.Log.Info("waiting for the workspace volume", "volume", o.Dir, "why", why)
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the volume: %w", ctx.Err())
		case <-time.After(o.Poll):
		}
	}
}

func (o *Options) exists() string {
	info, err := os.Stat(o.Dir)
	switch {
	case err != nil:
		return err.Error()
	case !info.IsDir():
		return "not a directory"
	}
	return ""
}

func (o *Options) mounted() string {
	mounted, err := o.IsMountPoint(o.Dir)
	switch {
	case err != nil:
		return err.Error()
	case !mounted:
		return "not a mount point yet"
	}
	return ""
}

// bindOver mounts source over target, unless an earlier run of the agent on this server already did.
func (o *Options) bindOver(source, target string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("bind %s: %w", target, err)
	}
	if sameFile(source, target) {
		return nil
	}
	if err := o.Mount(source, target); err != nil {
		return fmt.Errorf("bind %s over %s: %w", source, target, err)
	}
	return nil
}

func sameFile(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// isMountPoint compares the device of path with its parent's: a mounted file system has its own.
func isMountPoint(path string) (bool, error) {
	var self, parent syscall.Stat_t
	if err := syscall.Stat(path, &self); err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := syscall.Stat(filepath.Dir(path), &parent); err != nil {
		return false, fmt.Errorf("stat %s: %w", filepath.Dir(path), err)
	}
	return self.Dev != parent.Dev || self.Ino == parent.Ino, nil
}

// makeDir makes dir with mode, owned by user (nil: the agent).
func makeDir(dir string, mode os.FileMode, user *session.User) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	if user != nil {
		if err := os.Lchown(dir, int(user.UID), int(user.GID)); err != nil {
			return fmt.Errorf("volume: %w", err)
		}
	}
	return nil
}
