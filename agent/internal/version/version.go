// Package version holds the build version of the agent, set at link time.
package version

// Version is overwritten by the linker: -X github.com/simple-agent-manager/sam/agent/internal/version.Version=v1.2.3
var Version = "dev"

// String returns the version, never empty.
func String() string {
	if Version == "" {
		return "dev"
	}
	return Version
}
