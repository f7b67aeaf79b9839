package userenv

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

func TestReservedNamesAreSkippedWithTheNameLoggedAndNeverTheValue(t *testing.T) {
	const secret = "s3cr3t-value-4711"
	vars := []controlplane.EnvironmentVariable{
		{Name: "GREETING", Value: "hi there"},
		{Name: "ANTHROPIC_API_KEY", Value: secret},
		{Name: "openai_base_url", Value: secret},
		{Name: "SAM_SESSION_ID", Value: secret},
		{Name: "GIT_ASKPASS", Value: secret},
		{Name: "PATH", Value: secret},
		{Name: "HOME", Value: secret},
		{Name: "USER", Value: secret},
		{Name: "SHELL", Value: secret},
		{Name: "BAD-NAME", Value: secret},
		{Name: "NUL", Value: "a\x00" + secret},
		{Name: "DATABASE_URL", Value: "postgres://x"},
	}
	var logs bytes.Buffer
	s := New(func(context.Context) ([]controlplane.EnvironmentVariable, error) { return vars, nil }, slog.New(slog.NewTextHandler(&logs, nil)))
	got := s.Fresh(context.Background())
	want := []string{"GREETING=hi there", "DATABASE_URL=postgres://x"}
	if !slices.Equal(got, want) {
		t.Fatalf("env %q, want %q", got, want)
	}
	for _, name := range []string{"ANTHROPIC_API_KEY", "openai_base_url", "SAM_SESSION_ID", "GIT_ASKPASS", "PATH", "HOME", "USER", "SHELL", "BAD-NAME", "NUL"} {
		if !strings.Contains(logs.String(), "name="+name) {
			t.Errorf("log does not name the skipped %s: %s", name, logs.String())
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("a value reached the log: %s", logs.String())
	}
}

func TestAFailedFetchKeepsTheLastValues(t *testing.T) {
	fail := false
	s := New(func(context.Context) ([]controlplane.EnvironmentVariable, error) {
		if fail {
			return nil, errors.New("control plane down")
		}
		return []controlplane.EnvironmentVariable{{Name: "A", Value: "1"}}, nil
	}, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if got := s.Fresh(context.Background()); !slices.Equal(got, []string{"A=1"}) {
		t.Fatalf("first %q", got)
	}
	fail = true
	if got := s.Fresh(context.Background()); !slices.Equal(got, []string{"A=1"}) {
		t.Fatalf("after a failure %q", got)
	}
	var none *Store
	if none.Env() != nil || none.Refresh(context.Background()) != nil {
		t.Fatal("a nil store is not empty")
	}
}
