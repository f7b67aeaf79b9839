package acp

import (
	"context"

	sdk "github.com/coder/acp-go-sdk"
)

// client is SAM's side of the protocol: what the adapter may ask of it.
type client struct {
	s *Session
}

var _ sdk.Client = (*client)(nil)

func (c *client) SessionUpdate(_ context.Context, n sdk.SessionNotification) error {
	if c.s.loading.Load() {
		// session/load replays the conversation; it is already in the log.
		return nil
	}
	c.s.append(KindUpdate, n.Update)
	return nil
}

// RequestPermission waits for a person: the request goes into the log, the browser shows it, and Answer
// or Cancel ends the wait.
func (c *client) RequestPermission(ctx context.Context, p sdk.RequestPermissionRequest) (sdk.RequestPermissionResponse, error) {
	id := newRequestID()
	pending := &pendingPermission{options: p.Options, answer: make(chan *sdk.PermissionOptionId, 1)}
	c.s.mu.Lock()
	c.s.permissions[id] = pending
	c.s.mu.Unlock()
	c.s.append(KindPermissionRequested, map[string]any{"requestId": id, "toolCall": p.ToolCall, "options": p.Options})

	var chosen *sdk.PermissionOptionId
	select {
	case chosen = <-pending.answer:
	case <-ctx.Done():
		// The adapter withdrew the request or went away.
		c.s.mu.Lock()
		delete(c.s.permissions, id)
		c.s.mu.Unlock()
	case <-c.s.ctx.Done():
	}
	if chosen == nil {
		c.s.append(KindPermissionAnswered, map[string]any{"requestId": id, "outcome": "cancelled"})
		return sdk.RequestPermissionResponse{Outcome: sdk.RequestPermissionOutcome{Cancelled: &sdk.RequestPermissionOutcomeCancelled{}}}, nil
	}
	c.s.append(KindPermissionAnswered, map[string]any{"requestId": id, "outcome": "selected", "optionId": *chosen})
	return sdk.RequestPermissionResponse{Outcome: sdk.RequestPermissionOutcome{Selected: &sdk.RequestPermissionOutcomeSelected{OptionId: *chosen}}}, nil
}

func (c *client) ReadTextFile(_ context.Context, p sdk.ReadTextFileRequest) (sdk.ReadTextFileResponse, error) {
	content, err := c.s.fs.read(p.Path, p.Line, p.Limit)
	if err != nil {
		return sdk.ReadTextFileResponse{}, err
	}
	return sdk.ReadTextFileResponse{Content: content}, nil
}

func (c *client) WriteTextFile(_ context.Context, p sdk.WriteTextFileRequest) (sdk.WriteTextFileResponse, error) {
	if err := c.s.fs.write(p.Path, p.Content); err != nil {
		return sdk.WriteTextFileResponse{}, err
	}
	c.s.append(KindFileWritten, map[string]any{"path": p.Path, "bytes": len(p.Content)})
	return sdk.WriteTextFileResponse{}, nil
}

// Terminals are not offered in the client capabilities (the adapters run commands themselves, as the
// workspace user); an adapter asking anyway is told the method does not exist.

func (c *client) CreateTerminal(context.Context, sdk.CreateTerminalRequest) (sdk.CreateTerminalResponse, error) {
	return sdk.CreateTerminalResponse{}, sdk.NewMethodNotFound(sdk.ClientMethodTerminalCreate)
}

func (c *client) KillTerminal(context.Context, sdk.KillTerminalRequest) (sdk.KillTerminalResponse, error) {
	return sdk.KillTerminalResponse{}, sdk.NewMethodNotFound(sdk.ClientMethodTerminalKill)
}

func (c *client) TerminalOutput(context.Context, sdk.TerminalOutputRequest) (sdk.TerminalOutputResponse, error) {
	return sdk.TerminalOutputResponse{}, sdk.NewMethodNotFound(sdk.ClientMethodTerminalOutput)
}

func (c *client) ReleaseTerminal(context.Context, sdk.ReleaseTerminalRequest) (sdk.ReleaseTerminalResponse, error) {
	return sdk.ReleaseTerminalResponse{}, sdk.NewMethodNotFound(sdk.ClientMethodTerminalRelease)
}

func (c *client) WaitForTerminalExit(context.Context, sdk.WaitForTerminalExitRequest) (sdk.WaitForTerminalExitResponse, error) {
	return sdk.WaitForTerminalExitResponse{}, sdk.NewMethodNotFound(sdk.ClientMethodTerminalWaitForExit)
}
