package agent

import (
	"log/slog"
	"slices"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/session"
)

// restoreTerminals reopens the tabs recorded on the volume before the workspace last stopped, each with a
// new shell in the directory its shell was in.
func restoreTerminals(sessions *session.Manager, path string, log *slog.Logger) {
	records, err := session.LoadRecords(path)
	if err != nil {
		log.Warn("terminal tabs not reopened", "err", err)
		return
	}
	if len(records) > 0 {
		sessions.Restore(records)
		log.Info("terminal tabs reopened", "tabs", len(records))
	}
}

// terminalRecorder writes the open tabs (names and current directories) to the volume every recordEvery and
// once more when it stops, so a stop that ends the server finds them current.
type terminalRecorder struct {
	sessions *session.Manager
	path     string
	log      *slog.Logger
	last     []session.Record
	quit     chan struct{}
	done     chan struct{}
}

func startTerminalRecorder(sessions *session.Manager, path string, log *slog.Logger) *terminalRecorder {
	r := &terminalRecorder{sessions: sessions, path: path, log: log, quit: make(chan struct{}), done: make(chan struct{})}
	r.last, _ = session.LoadRecords(path)
	go r.loop()
	return r
}

func (r *terminalRecorder) loop() {
	defer close(r.done)
	t := time.NewTicker(recordEvery)
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			r.record()
			return
		case <-t.C:
			r.record()
		}
	}
}

func (r *terminalRecorder) record() {
	now := r.sessions.Records()
	if slices.Equal(now, r.last) {
		return
	}
	if err := session.SaveRecords(r.path, now); err != nil {
		r.log.Warn("terminal tabs not recorded", "err", err)
		return
	}
	r.last = now
}

// stop writes the record a last time and ends the loop.
func (r *terminalRecorder) stop() {
	close(r.quit)
	<-r.done
}
