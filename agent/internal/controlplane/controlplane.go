// Package controlplane holds the agent's client for the control plane's workspace callback API.
package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// StatusError is a non-2xx answer.
type StatusError struct {
	Op     string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: control plane answered %d: %s", e.Op, e.Status, e.Body)
}

// Revoked reports whether the control plane refused the callback token for good: the workspace's run is over
// or its owner's access ended (401 with code "revoked"). An expired or malformed token is not that.
func (e *StatusError) Revoked() bool {
	if e.Status != http.StatusUnauthorized {
		return false
	}
	var body struct {
		Code string `json:"code"`
	}
	return json.Unmarshal([]byte(e.Body), &body) == nil && body.Code == "revoked"
}

// Retryable reports whether the call may succeed later (5xx or 429).
func (e *StatusError) Retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// Repository is the repository to clone.
type Repository struct {
	CloneURL string `json:"clone_url"`
	Branch   string `json:"branch"`
	FullName string `json:"full_name"`
}

// BootstrapResponse is the answer to redeeming a bootstrap token.
type BootstrapResponse struct {
	WorkspaceID            string      `json:"workspace_id"`
	CallbackToken          string      `json:"callback_token"`
	CallbackTokenExpiresAt string      `json:"callback_token_expires_at"`
	Repository             *Repository `json:"repository"`
	AgentCLI               string      `json:"agent_cli"`
	Certificate            *string     `json:"certificate"`
	// RerunSetup asks for the repository's setup to run again on this boot ("Run setup again").
	RerunSetup bool `json:"rerun_setup,omitempty"`
	// Task is set when the workspace runs a task.
	Task *Task `json:"task,omitempty"`
	// PermissionNotifyDelaySeconds is how long a permission request waits with no browser attached before
	// the control plane is told (it notifies the owner); 0 means the default.
	PermissionNotifyDelaySeconds int `json:"permission_notify_delay_seconds,omitempty"`
}

// Task is the prompt a task's workspace runs (docs/architecture.md, Tasks): the VM agent checks out Branch from
// BaseBranch before the coding agent starts, runs Prompt in a chat, and after each turn commits as the author
// and pushes Branch, and nothing else.
type Task struct {
	ID          string `json:"id"`
	Branch      string `json:"branch"`
	BaseBranch  string `json:"base_branch"`
	Prompt      string `json:"prompt"`
	AgentCLI    string `json:"agent_cli"`
	AuthorName  string `json:"author_name"`
	AuthorEmail string `json:"author_email"`
	// ChatSessionID is the task's chat from an earlier run of the workspace (its log is on the volume).
	ChatSessionID string `json:"chat_session_id,omitempty"`
}

// HeartbeatRequest reports activity.
type HeartbeatRequest struct {
	LastInputAt     *string `json:"last_input_at"`
	LastOutputAt    *string `json:"last_output_at"`
	AttachedClients int     `json:"attached_clients"`
	Sessions        int     `json:"sessions"`
	AgentRunning    bool    `json:"agent_running"`
	// TurnInFlight: a chat's prompt turn is running, which is activity however long it is silent.
	TurnInFlight bool `json:"agent_turn_in_flight"`
	// UnsavedWork is what a stop or delete would put at risk; null when there is no repository.
	UnsavedWork *UnsavedWork `json:"unsaved_work"`
}

// UnsavedWork counts the repository's changes that exist only on this workspace.
type UnsavedWork struct {
	// Uncommitted is the number of entries `git status --porcelain` lists (changed and untracked files).
	Uncommitted int `json:"uncommitted"`
	// Unpushed is the number of commits on no remote-tracking branch.
	Unpushed int `json:"unpushed"`
}

// EnvironmentVariable is one of the user's workspace environment variables.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HeartbeatResponse carries the control plane's decision, a fresh callback token (none once the run's token
// chain has ended) and the owner's browser sessions that signed out (hashes, the `sid` of terminal tokens).
type HeartbeatResponse struct {
	Action                 string   `json:"action"`
	CallbackToken          string   `json:"callback_token"`
	CallbackTokenExpiresAt string   `json:"callback_token_expires_at"`
	EndedSessions          []string `json:"ended_sessions"`
}

// GitToken is a short-lived GitHub installation token.
type GitToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Client calls the control plane for one workspace.
type Client struct {
	BaseURL     string
	WorkspaceID string
	HTTP        *http.Client
	// Token returns the current callback token.
	Token func() string
}

// New returns a client with a 30 s timeout per call.
func New(baseURL, workspaceID string, token func() string) *Client {
	return &Client{BaseURL: baseURL, WorkspaceID: workspaceID, HTTP: &http.Client{Timeout: 30 * time.Second}, Token: token}
}

func (c *Client) workspacePath(suffix string) string {
	return "/api/workspaces/" + url.PathEscape(c.WorkspaceID) + "/" + suffix
}

func (c *Client) do(ctx context.Context, op, path string, bearer bool, in, out any) error {
	return c.call(ctx, http.MethodPost, op, path, bearer, in, out)
}

// call sends in as JSON (none for GET) and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, op, path string, bearer bool, in, out any) error {
	var body io.Reader
	if method != http.MethodGet {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if bearer {
		req.Header.Set("Authorization", "Bearer "+c.Token())
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Op: op, Status: resp.StatusCode, Body: string(data[:min(len(data), 200)])}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s: decode answer: %w", op, err)
		}
	}
	return nil
}

// Bootstrap redeems a one-time bootstrap token; csrPEM is empty when TLS is off.
func (c *Client) Bootstrap(ctx context.Context, token, csrPEM string) (BootstrapResponse, error) {
	var in struct {
		CSR string `json:"csr,omitempty"`
	}
	in.CSR = csrPEM
	var out BootstrapResponse
	err := c.do(ctx, "bootstrap", "/api/bootstrap/"+url.PathEscape(token), false, in, &out)
	if err == nil && out.CallbackToken == "" {
		err = errors.New("bootstrap: answer has no callback_token")
	}
	return out, err
}

// BootLog reports one boot step.
func (c *Client) BootLog(ctx context.Context, step, status, message string) error {
	return c.do(ctx, "boot-log", c.workspacePath("boot-log"), true,
		map[string]string{"step": step, "status": status, "message": message}, nil)
}

// Ready tells the control plane the workspace is usable.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, "ready", c.workspacePath("ready"), true, struct{}{}, nil)
}

// Heartbeat reports activity and returns the control plane's decision.
func (c *Client) Heartbeat(ctx context.Context, in HeartbeatRequest) (HeartbeatResponse, error) {
	var out HeartbeatResponse
	err := c.do(ctx, "heartbeat", c.workspacePath("heartbeat"), true, in, &out)
	return out, err
}

// GitToken asks for a fresh GitHub installation token.
func (c *Client) GitToken(ctx context.Context) (GitToken, error) {
	var out GitToken
	err := c.do(ctx, "git-token", c.workspacePath("git-token"), true, struct{}{}, &out)
	if err == nil && out.Token == "" {
		err = errors.New("git-token: answer has no token")
	}
	return out, err
}

// RequestStop asks the control plane to stop this workspace.
func (c *Client) RequestStop(ctx context.Context) error {
	return c.do(ctx, "request-stop", c.workspacePath("request-stop"), true, struct{}{}, nil)
}

// ModelCredential is the owner's credential for a coding agent's model provider.
type ModelCredential struct {
	Agent string `json:"agent"`
	// Kind is anthropic_api_key, claude_oauth_token or openai_api_key.
	Kind   string `json:"kind"`
	Secret string `json:"secret"`
}

// ModelCredential asks for the owner's model credential for agent (claude-code, codex). A 404 means none is
// saved; its body says which one to add in Settings.
func (c *Client) ModelCredential(ctx context.Context, agent string) (ModelCredential, error) {
	var out ModelCredential
	err := c.do(ctx, "credentials", c.workspacePath("credentials"), true, map[string]string{"agent": agent}, &out)
	if err == nil && out.Secret == "" {
		err = errors.New("credentials: answer has no secret")
	}
	return out, err
}

// Environment fetches the owner's workspace environment variables. The values are the user's own secrets:
// callers keep them in memory and never log them.
func (c *Client) Environment(ctx context.Context) ([]EnvironmentVariable, error) {
	var out struct {
		Variables []EnvironmentVariable `json:"variables"`
	}
	if err := c.call(ctx, http.MethodGet, "environment", c.workspacePath("environment"), true, nil, &out); err != nil {
		return nil, err
	}
	return out.Variables, nil
}

// Event tells the control plane what happened to a chat or the workspace's task (POST …/events): task_started,
// turn_ended, push_blocked, permission_waiting, permission_answered, failed. body carries "event" and its fields.
func (c *Client) Event(ctx context.Context, body map[string]any) error {
	return c.do(ctx, "event", c.workspacePath("events"), true, body, nil)
}

// GitPushToken asks for a token that may push to the task's repository; only a task's workspace gets one, and
// the agent uses it for its own push of the task branch, never handing it to the workspace user.
func (c *Client) GitPushToken(ctx context.Context) (GitToken, error) {
	var out GitToken
	err := c.do(ctx, "git-push-token", c.workspacePath("git-push-token"), true, struct{}{}, &out)
	if err == nil && out.Token == "" {
		err = errors.New("git-push-token: answer has no token")
	}
	return out, err
}
