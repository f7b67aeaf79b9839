package main

import (
	"context"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"--help"}, nil, &out, &errOut); code != exitOK || !strings.Contains(errOut.String(), "SAM_WORKSPACE_ID") {
		t.Fatalf("--help: code %d, output %q", code, errOut.String())
	}
	errOut.Reset()
	t.Setenv("SAM_WORKSPACE_ID", "")
	if code := run(context.Background(), []string{"--tls", "maybe"}, nil, &out, &errOut); code != exitConfig || !strings.Contains(errOut.String(), "SAM_") {
		t.Fatalf("invalid config: code %d, output %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"git-credential", "store"}, strings.NewReader(""), &out, &errOut); code != exitOK {
		t.Fatalf("git-credential store: code %d", code)
	}
}
