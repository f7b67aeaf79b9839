package volume

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/config"
	"github.com/simple-agent-manager/sam/agent/internal/session"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func me(home string) *session.User {
	return &session.User{Name: "sam", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: home}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDirectModePointsWorkspaceAndHomeIntoTheVolume(t *testing.T) {
	vol, baseHome := t.TempDir(), t.TempDir()
	write(t, filepath.Join(baseHome, ".profile"), "PATH=/server/usr/bin\n")
	user := me(baseHome)
	l, err := Prepare(context.Background(), Options{Dir: vol, Mode: config.VolumeDirect, WorkspaceDir: "/workspace", User: user, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if l.Bind || l.WorkspaceDir != filepath.Join(vol, "workspace") || l.Home != filepath.Join(vol, "home") || user.Home != l.Home {
		t.Fatalf("layout %+v, user home %s", l, user.Home)
	}
	if got := read(t, filepath.Join(vol, "home", ".profile")); got != "PATH=/server/usr/bin\n" {
		t.Fatalf("home not seeded from the server's: %q", got)
	}
	info, err := os.Stat(l.AgentDir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("agent dir %v %v", info, err)
	}
	if l.ChatLogDir() != filepath.Join(vol, "sam-agent", "chats") || l.SetupMarkerPath() != filepath.Join(vol, "sam-agent", "setup-done") {
		t.Fatalf("record paths %s %s", l.ChatLogDir(), l.SetupMarkerPath())
	}
}

func TestAutoNeverBindsASymlinkedVolume(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "HC_Volume_1")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	mounted := false
	l, err := Prepare(context.Background(), Options{Dir: link, Mode: config.VolumeAuto, WorkspaceDir: "/workspace", Log: quiet(),
		Mount: func(string, string) error { mounted = true; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	// The paths are the link's target: a coding agent compares them with its working directory, the real one.
	if l.Bind || mounted || l.WorkspaceDir != filepath.Join(real, "workspace") {
		t.Fatalf("layout %+v mounted %v", l, mounted)
	}
}

func TestBindModeWaitsForTheMountThenBindsBothDirectories(t *testing.T) {
	vol, workspace, home := t.TempDir(), filepath.Join(t.TempDir(), "workspace"), t.TempDir()
	looks := 0
	var mounts [][2]string
	user := me(home)
	l, err := Prepare(context.Background(), Options{
		Dir: vol, Mode: config.VolumeBind, WorkspaceDir: workspace, User: user, SkelDir: t.TempDir(), Poll: time.Millisecond, Log: quiet(),
		IsMountPoint: func(string) (bool, error) { looks++; return looks >= 3, nil },
		Mount:        func(source, target string) error { mounts = append(mounts, [2]string{source, target}); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if looks != 3 {
		t.Fatalf("looked %d times, want until the third said mounted", looks)
	}
	want := [][2]string{{filepath.Join(vol, "workspace"), workspace}, {filepath.Join(vol, "home"), home}}
	if len(mounts) != 2 || mounts[0] != want[0] || mounts[1] != want[1] {
		t.Fatalf("mounts %v, want %v", mounts, want)
	}
	if !l.Bind || l.WorkspaceDir != workspace || l.Home != home || user.Home != home {
		t.Fatalf("paths changed although bound: %+v", l)
	}
}

func TestAVolumeThatNeverMountsIsAnError(t *testing.T) {
	_, err := Prepare(context.Background(), Options{
		Dir: filepath.Join(t.TempDir(), "HC_Volume_9"), Mode: config.VolumeDirect, WorkspaceDir: "/workspace",
		Wait: 5 * time.Millisecond, Poll: time.Millisecond, Log: quiet(),
	})
	if !errors.Is(err, ErrNotMounted) {
		t.Fatalf("err = %v, want ErrNotMounted", err)
	}
}

func TestRestartsKeepTheUsersDotfilesAndBringInUnchangedOnesUpdated(t *testing.T) {
	vol := t.TempDir()
	prepare := func(serverHome string) string {
		t.Helper()
		user := me(serverHome)
		if _, err := Prepare(context.Background(), Options{Dir: vol, Mode: config.VolumeDirect, WorkspaceDir: "/workspace", User: user, Log: quiet()}); err != nil {
			t.Fatal(err)
		}
		return user.Home
	}
	first := t.TempDir()
	write(t, filepath.Join(first, ".profile"), "PATH=/server-1/usr/bin\n")
	write(t, filepath.Join(first, ".bashrc"), "# skel\n")
	write(t, filepath.Join(first, ".bash_logout"), "clear\n")
	home := prepare(first)
	write(t, filepath.Join(home, ".bashrc"), "# mine\nalias ll='ls -l'\n")
	write(t, filepath.Join(home, ".cache", "tool", "bin"), "installed")
	if err := os.Remove(filepath.Join(home, ".bash_logout")); err != nil {
		t.Fatal(err)
	}

	second := t.TempDir()
	write(t, filepath.Join(second, ".profile"), "PATH=/server-2/usr/bin\n")
	write(t, filepath.Join(second, ".bashrc"), "# skel v2\n")
	write(t, filepath.Join(second, ".bash_logout"), "clear\n")
	write(t, filepath.Join(second, ".new-in-skel"), "x\n")
	prepare(second)

	tests := []struct{ file, want string }{
		{".profile", "PATH=/server-2/usr/bin\n"},  // unchanged by the user: the new server's
		{".bashrc", "# mine\nalias ll='ls -l'\n"}, // edited: the user's
		{".cache/tool/bin", "installed"},          // what the user installed stays
		{".new-in-skel", "x\n"},                   // new on the server: brought in
	}
	for _, tt := range tests {
		if got := read(t, filepath.Join(home, tt.file)); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.file, got, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".bash_logout")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dotfile the user deleted came back: %v", err)
	}
}
