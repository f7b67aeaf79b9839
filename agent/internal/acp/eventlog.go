package acp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Event kinds written to the log. "update" carries an ACP session/update as the adapter sent it; the
// others are what SAM itself saw happen around the conversation.
const (
	KindUpdate              = "update"
	KindPromptStarted       = "prompt_started"
	KindPromptEnded         = "prompt_ended"
	KindPermissionRequested = "permission_requested"
	KindPermissionAnswered  = "permission_answered"
	KindFileWritten         = "file_written"
	KindAdapterStarted      = "adapter_started"
	KindAdapterExited       = "adapter_exited"
	KindConversationStarted = "conversation_started"
	KindConversationResumed = "conversation_resumed"
	KindModeSet             = "mode_set"
)

// Event is one line of the log.
type Event struct {
	Seq  uint64          `json:"seq"`
	Time time.Time       `json:"time"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data,omitempty"`
}

// ErrLogClosed ends subscriptions when the log is closed.
var ErrLogClosed = errors.New("event log closed")

// Log is an append-only event log: JSON lines with increasing sequence numbers, in a file only its owner
// can read (the conversation holds the user's code and prompts). Every event is also kept in memory so a
// reader can ask for "everything after N" without rereading the file.
type Log struct {
	mu      sync.Mutex
	file    *os.File
	events  []Event
	changed chan struct{}
	closed  bool
}

// OpenLog opens or creates the log at path and reads back what it already holds, so sequence numbers go on
// from where a previous run stopped. A torn last line (the agent died mid-write) is cut off.
func OpenLog(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create event log directory: %w", err)
	}
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	// An existing file keeps the mode it was created with; make sure nobody else can read it.
	if err := file.Chmod(0o600); err != nil {
		file.Close()
		return nil, fmt.Errorf("restrict event log: %w", err)
	}
	events, good, err := readEvents(file)
	if err != nil {
		file.Close()
		return nil, err
	}
	if err := file.Truncate(good); err != nil {
		file.Close()
		return nil, fmt.Errorf("cut torn event log line: %w", err)
	}
	if _, err := file.Seek(good, io.SeekStart); err != nil {
		file.Close()
		return nil, fmt.Errorf("seek event log: %w", err)
	}
	return &Log{file: file, events: events, changed: make(chan struct{})}, nil
}

// readEvents returns the whole events in r and the byte length they span.
func readEvents(r io.Reader) ([]Event, int64, error) {
	var events []Event
	var good int64
	reader := bufio.NewReader(r)
	for {
		line, err := reader.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return events, good, nil // whatever is left has no newline: torn
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read event log: %w", err)
		}
		var event Event
		if json.Unmarshal(bytes.TrimSpace(line), &event) != nil || event.Seq != uint64(len(events))+1 {
			return nil, 0, fmt.Errorf("event log is damaged after sequence %d: move it away to start afresh", len(events))
		}
		events = append(events, event)
		good += int64(len(line))
	}
}

// Append writes one event and wakes the subscribers; data is marshalled to JSON.
func (l *Log) Append(kind string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s event: %w", kind, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return Event{}, ErrLogClosed
	}
	event := Event{Seq: uint64(len(l.events)) + 1, Time: time.Now().UTC(), Kind: kind, Data: raw}
	line, err := json.Marshal(event)
	if err != nil {
		return Event{}, fmt.Errorf("encode event: %w", err)
	}
	// One write per line, so a crash leaves at most one torn line for OpenLog to cut.
	if _, err := l.file.Write(append(line, '\n')); err != nil {
		return Event{}, fmt.Errorf("write event log: %w", err)
	}
	l.events = append(l.events, event)
	close(l.changed)
	l.changed = make(chan struct{})
	return event, nil
}

// LastSeq is the sequence number of the newest event (0 for an empty log).
func (l *Log) LastSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.events))
}

// EventsAfter returns the events whose sequence number is greater than seq, oldest first.
func (l *Log) EventsAfter(seq uint64) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq >= uint64(len(l.events)) {
		return nil
	}
	return append([]Event(nil), l.events[seq:]...)
}

// Close stops appends and ends subscriptions.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.changed)
	return l.file.Close()
}

// Subscription reads the log from a point on: every event after it, each once, in order, including
// those appended while the reader was busy.
type Subscription struct {
	log  *Log
	next uint64
}

// Subscribe starts a reader after sequence number seq (0: from the beginning).
func (l *Log) Subscribe(seq uint64) *Subscription {
	return &Subscription{log: l, next: seq + 1}
}

// Next returns the next event, waiting for one to be appended if need be.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.log.mu.Lock()
		if s.next <= uint64(len(s.log.events)) {
			event := s.log.events[s.next-1]
			s.log.mu.Unlock()
			s.next++
			return event, nil
		}
		closed, changed := s.log.closed, s.log.changed
		s.log.mu.Unlock()
		if closed {
			return Event{}, ErrLogClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}
