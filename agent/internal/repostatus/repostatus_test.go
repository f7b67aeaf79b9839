package repostatus

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

func run(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.test", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v %s", args, err, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// clone is a repository cloned from an upstream with one pushed commit.
func clone(t *testing.T) string {
	upstream, dir := t.TempDir(), filepath.Join(t.TempDir(), "work")
	run(t, upstream, "init", "-q", "-b", "main")
	write(t, filepath.Join(upstream, "README"), "hi\n")
	run(t, upstream, "add", "README")
	run(t, upstream, "commit", "-q", "-m", "first")
	run(t, filepath.Dir(dir), "clone", "-q", upstream, dir)
	return dir
}

func TestCountsWhatExistsOnlyHere(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  *controlplane.UnsavedWork
	}{
		{"clean clone", func(*testing.T, string) {}, &controlplane.UnsavedWork{}},
		{"an edit and a new file", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "README"), "changed\n")
			write(t, filepath.Join(dir, "notes.txt"), "new\n")
		}, &controlplane.UnsavedWork{Uncommitted: 2}},
		{"two local commits on a new branch", func(t *testing.T, dir string) {
			run(t, dir, "checkout", "-q", "-b", "feature")
			for _, name := range []string{"a", "b"} {
				write(t, filepath.Join(dir, name), name)
				run(t, dir, "add", name)
				run(t, dir, "commit", "-q", "-m", name)
			}
		}, &controlplane.UnsavedWork{Unpushed: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := clone(t)
			tt.setup(t, dir)
			got := (&Checker{Dir: dir, Env: os.Environ()}).Now(context.Background())
			if got == nil || *got != *tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNoRepositoryIsNil(t *testing.T) {
	if got := (&Checker{Dir: t.TempDir(), Env: os.Environ()}).Now(context.Background()); got != nil {
		t.Fatalf("got %+v, want nil", got)
	}
}

func TestARecentCountIsReusedUntilNowIsAsked(t *testing.T) {
	dir := clone(t)
	c := &Checker{Dir: dir, Env: os.Environ(), Every: time.Hour}
	if got := c.Current(context.Background()); got == nil || got.Uncommitted != 0 {
		t.Fatalf("first %+v", got)
	}
	write(t, filepath.Join(dir, "new"), "x")
	if got := c.Current(context.Background()); got.Uncommitted != 0 {
		t.Fatalf("counted again within Every: %+v", got)
	}
	if got := c.Now(context.Background()); got.Uncommitted != 1 {
		t.Fatalf("Now %+v", got)
	}
}
