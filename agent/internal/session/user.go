package session

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// User is who a session's processes run as: the VM's unprivileged `sam` user, never the agent's own root.
type User struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
	Home   string
}

// ErrRootUser means the configured session user is root, which would hand every terminal the agent's secrets.
var ErrRootUser = errors.New("the session user must not be root")

// LookupUser resolves SAM_SESSION_USER: a user name from /etc/passwd (`sam` on a VM) or a numeric `uid:gid`
// (the local cloud, where no such user exists on the host). home overrides the passwd entry's home and is
// required for a numeric user.
func LookupUser(spec, home string) (*User, error) {
	if uidText, gidText, numeric := strings.Cut(spec, ":"); numeric {
		uid, uerr := strconv.ParseUint(uidText, 10, 32)
		gid, gerr := strconv.ParseUint(gidText, 10, 32)
		if uerr != nil || gerr != nil {
			return nil, fmt.Errorf("session user %q: want a user name or uid:gid", spec)
		}
		if !filepath.IsAbs(home) {
			return nil, fmt.Errorf("session user %q: a numeric user needs an absolute home directory", spec)
		}
		u := &User{Name: "sam", UID: uint32(uid), GID: uint32(gid), Groups: []uint32{uint32(gid)}, Home: home}
		if known, err := user.LookupId(uidText); err == nil {
			u.Name = known.Username
		}
		return u.checked()
	}
	found, err := user.Lookup(spec)
	if err != nil {
		return nil, fmt.Errorf("session user %q: %w (cloud-init creates it; is this a SAM workspace VM?)", spec, err)
	}
	uid, _ := strconv.ParseUint(found.Uid, 10, 32)
	gid, _ := strconv.ParseUint(found.Gid, 10, 32)
	u := &User{Name: found.Username, UID: uint32(uid), GID: uint32(gid), Home: found.HomeDir}
	if home != "" {
		u.Home = home
	}
	groups, err := found.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("session user %q: groups: %w", spec, err)
	}
	for _, g := range groups {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			u.Groups = append(u.Groups, uint32(n))
		}
	}
	return u.checked()
}

func (u *User) checked() (*User, error) {
	if u.UID == 0 || u.GID == 0 {
		return nil, fmt.Errorf("%w (uid %d, gid %d)", ErrRootUser, u.UID, u.GID)
	}
	return u, nil
}

// Credential is what the kernel needs to start a process as u.
func (u *User) Credential() *syscall.Credential {
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
}

// passThrough are the agent's settings a session keeps: locale, time zone and the way out to the network
// (proxy, npm registry and CA file). Everything else, the agent's own SAM_* settings above all, stays behind.
var passThrough = []string{
	"LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ",
	"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"npm_config_registry", "npm_config_cafile", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE",
}

// Environment is the whole environment a session starts with: the user's identity and home, a PATH with the
// root-owned tools prefix (Node and the coding-agent CLIs) in front of the system's, and the pass-through
// settings found in agentEnv. With u nil (tests, benchmarks) the agent's own HOME and USER are kept.
func Environment(u *User, shell, toolsDir string, agentEnv []string) []string {
	agent := map[string]string{}
	for _, kv := range agentEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			agent[k] = v
		}
	}
	path := agent["PATH"]
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	if toolsDir != "" {
		path = ToolsPath(toolsDir) + ":" + path
	}
	env := []string{"PATH=" + path, "SHELL=" + shell}
	if u != nil {
		env = append(env, "HOME="+u.Home, "USER="+u.Name, "LOGNAME="+u.Name)
	} else {
		for _, k := range []string{"HOME", "USER", "LOGNAME"} {
			if v, ok := agent[k]; ok {
				env = append(env, k+"="+v)
			}
		}
	}
	if _, ok := agent["LANG"]; !ok {
		env = append(env, "LANG=C.UTF-8")
	}
	for _, k := range passThrough {
		if v, ok := agent[k]; ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// ToolsPath is the PATH entries of the tools prefix: the CLIs npm installed, then Node and npm.
func ToolsPath(toolsDir string) string {
	return toolsDir + "/bin:" + toolsDir + "/node/bin"
}

// lookPath finds name on the PATH in env, as the session's own shell would, not on the agent's.
func lookPath(name string, env []string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(path) {
				candidate := filepath.Join(dir, name)
				if st, err := os.Stat(candidate); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
					return candidate
				}
			}
		}
	}
	return name
}
