package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// Record is what reopens a terminal tab after the workspace restarts: its name and the directory its shell
// was in. The scrollback is not kept; the tab comes back with a new shell there.
type Record struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
}

type recordsFile struct {
	Terminals []Record `json:"terminals"`
}

// Cwd is the directory the session's shell is in now (/proc/<pid>/cwd), or the last one seen once it has
// exited or cannot be read.
func (s *Session) Cwd() string {
	s.mu.Lock()
	exited, dir := s.exited || s.closed, s.dir
	s.mu.Unlock()
	p, ok := s.proc.(pider)
	if exited || !ok {
		return dir
	}
	now, err := os.Readlink("/proc/" + strconv.Itoa(p.Pid()) + "/cwd")
	if err != nil {
		return dir
	}
	s.mu.Lock()
	s.dir = now
	s.mu.Unlock()
	return now
}

// Records lists the running sessions, oldest first, with their current directories.
func (m *Manager) Records() []Record {
	var out []Record
	for _, s := range m.List() {
		s.mu.Lock()
		gone, name := s.exited || s.closed, s.name
		s.mu.Unlock()
		if !gone {
			out = append(out, Record{Name: name, Dir: s.Cwd()})
		}
	}
	return out
}

// Restore opens a session for each record, in its directory when that still exists.
func (m *Manager) Restore(records []Record) {
	for _, r := range records {
		if _, err := m.Create(CreateRequest{Name: r.Name, Dir: r.Dir}); err != nil {
			m.opts.Logger.Warn("terminal tab not reopened", "name", r.Name, "err", err)
		}
	}
}

// SaveRecords writes records to path (0600, atomically).
func SaveRecords(path string, records []Record) error {
	raw, err := json.Marshal(recordsFile{Terminals: records})
	if err != nil {
		return fmt.Errorf("encode terminal records: %w", err)
	}
	return state.WriteFileAtomic(path, raw)
}

// LoadRecords reads what SaveRecords wrote; no file is no records.
func LoadRecords(path string) ([]Record, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read terminal records: %w", err)
	}
	var f recordsFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("parse terminal records %s: %w", path, err)
	}
	return f.Terminals, nil
}
