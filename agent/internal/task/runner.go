package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/simple-agent-manager/sam/agent/internal/acp"
	"github.com/simple-agent-manager/sam/agent/internal/chat"
	"github.com/simple-agent-manager/sam/agent/internal/controlplane"
)

// ControlPlane is what the runner reports to and gets its push token from (controlplane.Client).
type ControlPlane interface {
	Event(ctx context.Context, body map[string]any) error
	GitPushToken(ctx context.Context) (controlplane.GitToken, error)
}

// Chats is where the task's conversation runs (chat.Manager).
type Chats interface {
	Create(ctx context.Context, agent string) (*chat.Session, error)
	Get(id string) (*chat.Session, error)
}

// Runner runs one task on its workspace.
type Runner struct {
	Task   controlplane.Task
	Git    Git
	Pusher Pusher
	Chats  Chats
	CP     ControlPlane
	Log    *slog.Logger
}

// agentNames are the coding agents' names in commit trailers.
var agentNames = map[string]string{"claude-code": "Claude Code", "codex": "Codex"}

// Run starts (or, after a restart, finds) the task's chat, sends the prompt once, then commits and pushes
// after every turn until ctx ends. A failure to start is reported to the control plane as the task's failure.
func (r *Runner) Run(ctx context.Context) {
	sess, err := r.chat(ctx)
	if err != nil {
		r.report(ctx, map[string]any{"event": "failed", "error": err.Error()})
		return
	}
	// Follow from before the prompt, so its turn is seen; a restarted agent sees only turns from now on.
	from := sess.Log().LastSeq()
	r.report(ctx, map[string]any{"event": "task_started", "chat_session_id": sess.ID()})
	if !prompted(sess.Log()) {
		go func() {
			prompt := []sdk.ContentBlock{sdk.TextBlock(r.Task.Prompt)}
			if _, err := sess.Prompt(context.WithoutCancel(ctx), "task-"+r.Task.ID, prompt); err != nil && !errors.Is(err, acp.ErrClosed) {
				r.Log.Warn("task prompt failed", "err", err)
			}
		}()
	}
	r.follow(ctx, sess, from)
}

func (r *Runner) chat(ctx context.Context) (*chat.Session, error) {
	if r.Task.ChatSessionID != "" {
		if sess, err := r.Chats.Get(r.Task.ChatSessionID); err == nil {
			return sess, nil
		}
	}
	sess, err := r.Chats.Create(ctx, r.Task.AgentCLI)
	var unavailable *chat.UnavailableError
	if errors.As(err, &unavailable) {
		return nil, errors.New(unavailable.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("start the coding agent: %w", err)
	}
	return sess, nil
}

// prompted says whether the chat already holds a prompt (the task's, sent by an earlier run).
func prompted(log *acp.Log) bool {
	for _, event := range log.EventsAfter(0) {
		if event.Kind == acp.KindPromptStarted {
			return true
		}
	}
	return false
}

// follow handles the chat's events after seq: a turn's end commits and pushes; a coding agent's `git push`
// is reported (its token cannot push, and the task should say why the push failed).
func (r *Runner) follow(ctx context.Context, sess *chat.Session, seq uint64) {
	sub := sess.Log().Subscribe(seq)
	var reply strings.Builder
	reported := map[string]bool{}
	for {
		event, err := sub.Next(ctx)
		if err != nil {
			return
		}
		switch event.Kind {
		case acp.KindPromptStarted:
			reply.Reset()
		case acp.KindUpdate:
			var update struct {
				SessionUpdate string `json:"sessionUpdate"`
				ToolCallID    string `json:"toolCallId"`
				Content       struct {
					Text string `json:"text"`
				} `json:"content"`
				RawInput json.RawMessage `json:"rawInput"`
			}
			if json.Unmarshal(event.Data, &update) != nil {
				continue
			}
			switch update.SessionUpdate {
			case "agent_message_chunk":
				reply.WriteString(update.Content.Text)
			case "tool_call", "tool_call_update":
				if command := pushCommand(update.RawInput); command != "" && !reported[update.ToolCallID] {
					reported[update.ToolCallID] = true
					r.report(ctx, map[string]any{"event": "push_blocked", "command": command})
				}
			}
		case acp.KindPromptEnded:
			r.afterTurn(ctx, sess, reply.String())
		}
	}
}

// segments splits a shell command line where one command ends and another starts.
var segments = regexp.MustCompile(`&&|\|\||[;|\n&]`)

// pushCommand is the shell command in a tool call's input when it runs `git push` (`git [options] push`).
func pushCommand(raw json.RawMessage) string {
	var input struct {
		Command json.RawMessage `json:"command"`
	}
	if json.Unmarshal(raw, &input) != nil || len(input.Command) == 0 {
		return ""
	}
	var command string
	if json.Unmarshal(input.Command, &command) != nil {
		var argv []string
		if json.Unmarshal(input.Command, &argv) != nil {
			return ""
		}
		command = strings.Join(argv, " ")
	}
	for _, segment := range segments.Split(command, -1) {
		if gitSubcommand(strings.Fields(segment)) == "push" {
			return command
		}
	}
	return ""
}

// gitSubcommand is what a `git …` command runs, past git's own options; "" when it is not git.
func gitSubcommand(words []string) string {
	for i, word := range words {
		if word != "git" && !strings.HasSuffix(word, "/git") {
			continue
		}
		for j := i + 1; j < len(words); j++ {
			arg := words[j]
			switch {
			case arg == "-C" || arg == "-c" || arg == "--git-dir" || arg == "--work-tree" || arg == "--namespace":
				j++ // the option's value
			case strings.HasPrefix(arg, "-"):
			default:
				return arg
			}
		}
		return ""
	}
	return ""
}

// afterTurn commits the turn's work as the owner and pushes the task branch, then tells the control plane.
func (r *Runner) afterTurn(ctx context.Context, sess *chat.Session, reply string) {
	agent := agentNames[r.Task.AgentCLI]
	if agent == "" {
		agent = r.Task.AgentCLI
	}
	committed, err := r.Git.CommitAll(ctx, Author{Name: r.Task.AuthorName, Email: r.Task.AuthorEmail},
		subjectOf(r.Task.Prompt), summaryOf(reply), agent)
	if err != nil {
		r.report(ctx, map[string]any{"event": "failed", "error": "commit the turn's work: " + err.Error()})
		return
	}
	head, err := r.Git.Head(ctx)
	if err != nil {
		r.report(ctx, map[string]any{"event": "failed", "error": err.Error()})
		return
	}
	base, _ := r.Git.MergeBase(ctx, r.Task.BaseBranch)
	event := map[string]any{"event": "turn_ended", "chat_session_id": sess.ID(), "summary": summaryOf(reply), "pushed": false, "head_sha": nil}
	if head != base {
		token, err := r.CP.GitPushToken(ctx)
		if err == nil {
			err = r.Pusher.Push(ctx, r.Task.Branch, token.Token)
		}
		if err != nil {
			r.report(ctx, map[string]any{"event": "failed", "error": "push " + r.Task.Branch + ": " + err.Error()})
			return
		}
		event["pushed"], event["head_sha"] = true, head
	}
	r.Log.Info("task turn ended", "committed", committed, "head", head, "pushed", event["pushed"])
	r.report(ctx, event)
}

func (r *Runner) report(ctx context.Context, event map[string]any) {
	if err := r.CP.Event(ctx, event); err != nil {
		r.Log.Warn("task event not delivered", "event", event["event"], "err", err)
	}
}

// subjectOf is a commit subject from the task's prompt: its first line, at most 72 characters.
func subjectOf(prompt string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(prompt), "\n")
	runes := []rune(strings.TrimSpace(line))
	if len(runes) > 72 {
		return string(runes[:71]) + "…"
	}
	if len(runes) == 0 {
		return "Work on the task"
	}
	return string(runes)
}

// summaryOf is the agent's reply, bounded, for the commit body and the pull request.
func summaryOf(reply string) string {
	runes := []rune(strings.TrimSpace(reply))
	if len(runes) > 4000 {
		return string(runes[:3999]) + "…"
	}
	return string(runes)
}
