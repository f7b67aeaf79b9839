package version

import "testing"

func TestStringNeverEmpty(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = ""
	if got := String(); got != "dev" {
		t.Fatalf("String() = %q, want dev", got)
	}
	Version = "v1.0.0"
	if got := String(); got != "v1.0.0" {
		t.Fatalf("String() = %q, want v1.0.0", got)
	}
}
