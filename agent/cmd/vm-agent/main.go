// Command vm-agent runs on a workspace VM and serves its terminals.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/simple-agent-manager/sam/agent/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vm-agent:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, _ []string) error {
	fmt.Println("vm-agent", version.String())
	return nil
}
