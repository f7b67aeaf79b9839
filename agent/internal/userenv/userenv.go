// Package userenv holds the user's workspace environment variables: fetched from the control plane at boot
// and before each new session, kept in memory only (never on disk, never in the agent's log), and exported in
// terminals, coding-agent sessions and the setup script.
package userenv

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

// FetchTimeout bounds one fetch: a new terminal waits for it, and falls back to the values it had.
const FetchTimeout = 5 * time.Second

// reservedPrefixes are names SAM sets itself (model proxy, agent settings, git's credential flow). The control
// plane refuses them too; this is the second line.
var reservedPrefixes = []string{"ANTHROPIC_", "OPENAI_", "SAM_", "GIT_"}

// reservedNames would change who or where the session is.
var reservedNames = map[string]bool{"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true}

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Source fetches the variables (controlplane.Client.Environment).
type Source func(ctx context.Context) ([]controlplane.EnvironmentVariable, error)

// Store keeps the last variables fetched.
type Store struct {
	source Source
	log    *slog.Logger

	mu  sync.Mutex
	env []string
}

// New returns an empty store; a nil source (no control plane) keeps it empty.
func New(source Source, log *slog.Logger) *Store {
	return &Store{source: source, log: log}
}

// Refresh fetches the variables; on failure the previous ones stay and the failure is returned.
func (s *Store) Refresh(ctx context.Context) error {
	if s == nil || s.source == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	vars, err := s.source(ctx)
	if err != nil {
		return err
	}
	env := make([]string, 0, len(vars))
	for _, v := range vars {
		if why := refused(v.Name, v.Value); why != "" {
			// The name only: the value is the user's secret.
			s.log.Warn("workspace environment variable skipped", "name", v.Name, "why", why)
			continue
		}
		env = append(env, v.Name+"="+v.Value)
	}
	s.mu.Lock()
	s.env = env
	s.mu.Unlock()
	return nil
}

// Fresh fetches the variables and returns them, or the last ones known when the fetch fails.
func (s *Store) Fresh(ctx context.Context) []string {
	if err := s.Refresh(ctx); err != nil {
		s.log.Warn("workspace environment variables not fetched; using the last ones", "err", err)
	}
	return s.Env()
}

// Env is the variables as NAME=value entries, to append to a session's environment.
func (s *Store) Env() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.env...)
}

// refused says why a variable cannot be exported, or "".
func refused(name, value string) string {
	switch {
	case !validName.MatchString(name):
		return "not a valid variable name"
	case reservedNames[name]:
		return "SAM sets this variable itself"
	case strings.ContainsRune(value, 0):
		return "the value holds a NUL byte"
	}
	for _, prefix := range reservedPrefixes {
		if strings.HasPrefix(strings.ToUpper(name), prefix) {
			return "names starting with " + prefix + " are SAM's"
		}
	}
	return ""
}
