package session

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestTabsReopenInTheDirectoriesTheirShellsWereIn(t *testing.T) {
	work, elsewhere := t.TempDir(), t.TempDir()
	m := NewManager(Options{Shell: "/bin/sh", Dir: work, ScrollbackLines: 5000, Grace: time.Hour})
	defer m.Close()
	if _, err := m.Create(CreateRequest{Name: "build"}); err != nil {
		t.Fatal(err)
	}
	moved, err := m.Create(CreateRequest{Name: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := moved.Attach()
	if err != nil {
		t.Fatal(err)
	}
	if err := moved.WriteInput([]byte("cd " + elsewhere + " && echo MOVED-$((40+2))\n")); err != nil {
		t.Fatal(err)
	}
	drain(t, c, "MOVED-42")
	c.Detach()

	path := filepath.Join(t.TempDir(), "terminals.json")
	if err := SaveRecords(path, m.Records()); err != nil {
		t.Fatal(err)
	}
	m.Shutdown(5 * time.Second)

	loaded, err := LoadRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{{Name: "build", Dir: work}, {Name: "logs", Dir: elsewhere}}
	if !slices.Equal(loaded, want) {
		t.Fatalf("records %+v, want %+v", loaded, want)
	}
	again := NewManager(Options{Shell: "/bin/sh", Dir: work, ScrollbackLines: 5000, Grace: time.Hour})
	defer again.Close()
	again.Restore(loaded)
	if got := again.Records(); !slices.Equal(got, want) {
		t.Fatalf("reopened %+v, want %+v", got, want)
	}
}

func TestNoRecordsFileIsNoTabs(t *testing.T) {
	records, err := LoadRecords(filepath.Join(t.TempDir(), "terminals.json"))
	if err != nil || records != nil {
		t.Fatalf("%v %v", records, err)
	}
}

// hangupFake exits when hung up, as a shell does.
type hangupFake struct {
	*fakeProcess
	hungUp chan struct{}
}

func (h *hangupFake) Hangup() error {
	close(h.hungUp)
	h.outW.Close()
	h.exitOnce(129)
	return nil
}

func TestShutdownHangsUpRefusesNewSessionsAndDoesNotWaitOutTheGrace(t *testing.T) {
	fake := &hangupFake{fakeProcess: newFake(), hungUp: make(chan struct{})}
	m := NewManager(Options{Shell: "/bin/sh", ScrollbackLines: 5000, Grace: time.Hour,
		Start: func(Spec) (Process, error) { return fake, nil }})
	s, err := m.Create(CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() {
		m.Shutdown(time.Hour)
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waited for the grace although the shell had exited")
	}
	select {
	case <-fake.hungUp:
	default:
		t.Fatal("the session was not hung up")
	}
	if code := s.Info().ExitCode; code == nil || *code != 129 {
		t.Fatalf("exit code %v, want the hang-up's 129", code)
	}
	if _, err := m.Create(CreateRequest{}); !errors.Is(err, ErrSessionGone) {
		t.Fatalf("Create after Shutdown = %v", err)
	}
}

func TestUserVariablesComeBetweenTheBaseAndTheSessionsOwn(t *testing.T) {
	var got []string
	fake := newFake()
	m := NewManager(Options{Shell: "/bin/sh", ScrollbackLines: 5000, Grace: time.Hour, Env: []string{"PATH=/bin"},
		ExtraEnv: func() []string { return []string{"GREETING=hi", "TERM=dumb"} },
		Start:    func(spec Spec) (Process, error) { got = spec.Env; return fake, nil }})
	defer m.Close()
	s, err := m.Create(CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/bin", "GREETING=hi", "TERM=dumb", "TERM=xterm-256color", "COLORTERM=truecolor", "SAM_SESSION_ID=" + s.ID()}
	if !slices.Equal(got, want) {
		t.Fatalf("env %q, want %q (the session's own last, so they win)", got, want)
	}
}
