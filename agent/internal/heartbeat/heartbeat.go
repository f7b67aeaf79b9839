// Package heartbeat holds the loop that reports activity to the control plane, renews the callback token and
// carries out the control plane's decision to stop.
package heartbeat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// ErrStopRequested means the control plane answered "stop": the agent should drain and exit 0.
var ErrStopRequested = errors.New("control plane asked the agent to stop")

// ErrRevoked means the control plane refused the callback token for good (the run is over or the owner's
// access ended): the agent should drop its terminals and drain, as for a stop.
var ErrRevoked = errors.New("control plane revoked this workspace's callback token")

// Loop sends heartbeats.
type Loop struct {
	CP           *controlplane.Client
	State        *state.Store
	Interval     time.Duration
	Activity     func() session.Activity
	AgentRunning func() bool
	// TurnInFlight, if set, says whether a chat's prompt turn is running.
	TurnInFlight func() bool
	// EndedSessions, if set, receives the owner's browser sessions that signed out, with every heartbeat.
	EndedSessions func(hashes []string)
	Log           *slog.Logger
}

// Run sends a heartbeat at once and then every Interval until ctx ends or the control plane says stop.
func (l *Loop) Run(ctx context.Context) error {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		if err := l.beat(ctx); errors.Is(err, ErrStopRequested) || errors.Is(err, ErrRevoked) {
			return err
		} else if err != nil && ctx.Err() == nil {
			l.Log.Warn("heartbeat failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func (l *Loop) beat(ctx context.Context) error {
	a := l.Activity()
	resp, err := l.CP.Heartbeat(ctx, controlplane.HeartbeatRequest{
		LastInputAt: rfc3339(a.LastInput), LastOutputAt: rfc3339(a.LastOutput),
		AttachedClients: a.AttachedClients, Sessions: a.Sessions, AgentRunning: l.AgentRunning(),
		TurnInFlight: l.TurnInFlight != nil && l.TurnInFlight(),
	})
	var status *controlplane.StatusError
	if errors.As(err, &status) && status.Revoked() {
		return fmt.Errorf("%w: %s", ErrRevoked, status.Body)
	}
	if err != nil {
		return err
	}
	if l.EndedSessions != nil && len(resp.EndedSessions) > 0 {
		l.EndedSessions(resp.EndedSessions)
	}
	if resp.CallbackToken != "" {
		if err := l.State.Update(func(s *state.State) {
			s.CallbackToken = resp.CallbackToken
			s.CallbackTokenExpiresAt = resp.CallbackTokenExpiresAt
		}); err != nil {
			l.Log.Error("save renewed callback token", "err", err)
		}
	}
	if resp.Action == "stop" {
		return ErrStopRequested
	}
	return nil
}

// AgentCLIRunning reports whether a claude or codex process runs, by scanning /proc.
func AgentCLIRunning() bool { return len(agentCLIs(nil)) > 0 }

// AgentCLIRunningOutside is AgentCLIRunning leaving out the given process groups: a chat's adapter and the
// CLI it starts live in their own group, and for them only a turn in flight is activity, not their existence.
func AgentCLIRunningOutside(groups func() []int) func() bool {
	return func() bool { return len(agentCLIs(groups())) > 0 }
}

// agentCLIs lists the pids of claude or codex processes whose process group is not in excluded.
func agentCLIs(excluded []int) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if !isAgentCLI(d) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		if pgrp, ok := processGroup(d); ok && slices.Contains(excluded, pgrp) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func isAgentCLI(dir string) bool {
	comm, err := os.ReadFile(dir + "/comm")
	if err != nil {
		return false
	}
	if name := string(bytes.TrimSpace(comm)); name == "claude" || name == "codex" {
		return true
	}
	cmdline, err := os.ReadFile(dir + "/cmdline")
	if err != nil {
		return false
	}
	// Node-based CLIs run as `node /…/bin/claude`; look at the first two arguments.
	args := bytes.SplitN(cmdline, []byte{0}, 3)
	for _, arg := range args[:min(2, len(args))] {
		if base := filepath.Base(string(arg)); base == "claude" || base == "codex" {
			return true
		}
	}
	return false
}

// processGroup reads the pgrp field of /proc/<pid>/stat (the fifth; the second, comm, may hold spaces).
func processGroup(dir string) (int, bool) {
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, false
	}
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 3 {
		return 0, false
	}
	pgrp, err := strconv.Atoi(fields[2])
	return pgrp, err == nil
}
