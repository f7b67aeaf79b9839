// Package state holds what the agent keeps across restarts: the redeemed bootstrap answer, with the callback
// token refreshed by heartbeats. The file is written atomically with mode 0600.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

// ErrNoState means the agent has not bootstrapped yet.
var ErrNoState = errors.New("no saved state")

// State is the persisted agent state.
type State struct {
	controlplane.BootstrapResponse
	BootCompleted bool `json:"boot_completed"`
}

// Store guards the state and its file.
type Store struct {
	path string
	mu   sync.Mutex
	st   State
}

// Load reads the state file.
func Load(path string) (*Store, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoState
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parse state %s: %w", path, err)
	}
	if st.CallbackToken == "" {
		return nil, fmt.Errorf("parse state %s: no callback token", path)
	}
	return &Store{path: path, st: st}, nil
}

// Create saves a fresh state.
func Create(path string, st State) (*Store, error) {
	s := &Store{path: path, st: st}
	if err := s.save(); err != nil {
		return nil, err
	}
	return s, nil
}

// Get returns a copy of the state.
func (s *Store) Get() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// CallbackToken returns the current callback token.
func (s *Store) CallbackToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.CallbackToken
}

// Update changes the state and saves it.
func (s *Store) Update(change func(*State)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(&s.st)
	return s.save()
}

// Save writes the state again (used at shutdown).
func (s *Store) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.save()
}

func (s *Store) save() error {
	data, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return WriteFileAtomic(s.path, data)
}

// WriteFileAtomic writes data to path with mode 0600 via a temporary file and rename.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
