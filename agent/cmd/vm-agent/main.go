// Command vm-agent runs on a workspace VM and serves its terminals. `vm-agent git-credential get` is the git
// credential helper it configures for the cloned repository.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/simple-agent-manager/sam/agent/internal/agent"
	"github.com/simple-agent-manager/sam/agent/internal/bootstrap"
	"github.com/simple-agent-manager/sam/agent/internal/config"
	"github.com/simple-agent-manager/sam/agent/internal/credential"
	"github.com/simple-agent-manager/sam/agent/internal/version"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // runtime failure
	exitConfig   = 2 // invalid configuration or usage
	exitRejected = 3 // the control plane rejected the bootstrap token (used, expired or unknown)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts the drain, restore the default so a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "git-credential":
			if err := credential.RunHelper(args[1:], stdin, stdout); err != nil {
				fmt.Fprintln(stderr, "vm-agent:", err)
				return exitFailure
			}
			return exitOK
		case "version", "--version":
			fmt.Fprintln(stdout, version.String())
			return exitOK
		}
	}
	cfg, err := config.Load(args, os.Getenv, stderr)
	if errors.Is(err, config.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "vm-agent:", err)
		return exitConfig
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	slog.SetDefault(log) // libraries that log through the default logger use the same handler
	exe, err := os.Executable()
	if err != nil {
		exe = "vm-agent"
	}
	err = agent.Run(ctx, cfg, agent.Options{Executable: exe, Logger: log})
	switch {
	case err == nil, ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitOK // a signal during bootstrap is a normal stop
	case errors.Is(err, bootstrap.ErrRejected):
		log.Error("bootstrap rejected", "err", err)
		return exitRejected
	default:
		log.Error("agent failed", "err", err)
		return exitFailure
	}
}
