package acp

import (
	"fmt"

	sdk "github.com/coder/acp-go-sdk"
)

// ensureAdapter returns a running adapter with the conversation open, starting one if there is none.
// Only the turn in flight calls it (busy), so two starts cannot race.
func (s *Session) ensureAdapter() (*adapter, sdk.SessionId, error) {
	s.mu.Lock()
	a, sessionID := s.adapter, s.sessionID
	s.mu.Unlock()
	if a != nil {
		select {
		case <-a.exited:
		default:
			return a, sessionID, nil
		}
	}
	a, err := s.startAdapter()
	if err != nil {
		return nil, "", err
	}
	init, err := a.conn.Initialize(s.ctx, sdk.InitializeRequest{
		ProtocolVersion:    sdk.ProtocolVersionNumber,
		ClientCapabilities: sdk.ClientCapabilities{Fs: sdk.FileSystemCapabilities{ReadTextFile: true, WriteTextFile: true}},
		ClientInfo:         &sdk.Implementation{Name: "sam-vm-agent", Title: sdk.Ptr("Simple Agent Manager"), Version: "1"},
	})
	if err != nil {
		a.stop(s.cfg.StopGrace)
		return nil, "", fmt.Errorf("initialize the coding agent (%s): %w", a.exitSummary(), err)
	}
	a.caps = init.AgentCapabilities
	s.append(KindAdapterStarted, map[string]any{"pid": a.cmd.Process.Pid, "agent": init.AgentInfo, "loadSession": init.AgentCapabilities.LoadSession})

	if sessionID != "" && a.caps.LoadSession {
		s.loading.Store(true)
		loaded, err := a.conn.LoadSession(s.ctx, sdk.LoadSessionRequest{SessionId: sessionID, Cwd: s.cfg.Workspace, McpServers: []sdk.McpServer{}})
		s.loading.Store(false)
		if err == nil {
			s.append(KindConversationResumed, map[string]any{"sessionId": sessionID})
			s.setMode(a, sessionID, loaded.Modes)
			return a, sessionID, nil
		}
		s.logger.Warn("coding agent could not load the conversation", "session", sessionID, "err", err)
		return s.newConversation(a, fmt.Sprintf("the coding agent could not reload the conversation (%v), so a new one started", err))
	}
	reason := ""
	if sessionID != "" {
		reason = "the coding agent restarted and cannot reload a conversation, so a new one started: it does not remember earlier messages"
	}
	return s.newConversation(a, reason)
}

func (s *Session) newConversation(a *adapter, reason string) (*adapter, sdk.SessionId, error) {
	created, err := a.conn.NewSession(s.ctx, sdk.NewSessionRequest{Cwd: s.cfg.Workspace, McpServers: []sdk.McpServer{}})
	if err != nil {
		a.stop(s.cfg.StopGrace)
		return nil, "", fmt.Errorf("start a conversation with the coding agent: %w", err)
	}
	s.mu.Lock()
	s.sessionID = created.SessionId
	s.mu.Unlock()
	data := map[string]any{"sessionId": created.SessionId}
	if reason != "" {
		data["reason"] = reason
	}
	s.append(KindConversationStarted, data)
	s.setMode(a, created.SessionId, created.Modes)
	return a, created.SessionId, nil
}

// setMode applies Config.Mode when the adapter offers it; a refusal is logged, not fatal: the conversation
// still works in the adapter's own mode.
func (s *Session) setMode(a *adapter, sessionID sdk.SessionId, modes *sdk.SessionModeState) {
	if s.cfg.Mode == "" || modes == nil || modes.CurrentModeId == s.cfg.Mode {
		return
	}
	for _, mode := range modes.AvailableModes {
		if mode.Id != s.cfg.Mode {
			continue
		}
		if _, err := a.conn.SetSessionMode(s.ctx, sdk.SetSessionModeRequest{SessionId: sessionID, ModeId: s.cfg.Mode}); err != nil {
			s.logger.Warn("coding agent refused the session mode", "mode", s.cfg.Mode, "err", err)
			return
		}
		s.append(KindModeSet, map[string]any{"modeId": s.cfg.Mode})
		return
	}
}
