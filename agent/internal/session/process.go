package session

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/creack/pty"
)

// Process is what a session runs: a PTY's master side plus the process on its slave side.
type Process interface {
	io.ReadWriteCloser
	Resize(cols, rows int) error
	// Wait blocks until the process exits and returns its exit code (128+signal when killed by a signal).
	Wait() (int, error)
	// Kill ends the process and everything else in its session.
	Kill() error
}

// Spec describes a process to start on a new PTY.
type Spec struct {
	Command    []string
	Dir        string
	Env        []string
	Cols, Rows int
	// User, when set, is who the process runs as; the PTY's slave side is handed to it too.
	User *User
}

// Starter starts processes; tests substitute fakes.
type Starter func(spec Spec) (Process, error)

// StartPTY runs spec.Command on a new PTY in its own session (setsid), so it has a controlling terminal and
// can be killed as a group. The command is found on the PATH of spec.Env, not the agent's.
func StartPTY(spec Spec) (Process, error) {
	if len(spec.Command) == 0 {
		return nil, errors.New("start pty: empty command")
	}
	cmd := exec.Command(lookPath(spec.Command[0], spec.Env), spec.Command[1:]...)
	cmd.Args[0] = spec.Command[0]
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	attrs := &syscall.SysProcAttr{Setsid: true, Setctty: true}
	master, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("start pty: %w", err)
	}
	defer tty.Close()
	if spec.User != nil {
		attrs.Credential = spec.User.Credential()
		// Programs that reopen their terminal by name (ssh, gpg, script) need to own it, as after a login.
		if err := os.Chown(tty.Name(), int(spec.User.UID), int(spec.User.GID)); err != nil {
			master.Close()
			return nil, fmt.Errorf("start pty: hand the terminal to uid %d: %w", spec.User.UID, err)
		}
	}
	if err := pty.Setsize(master, &pty.Winsize{Cols: uint16(spec.Cols), Rows: uint16(spec.Rows)}); err != nil {
		master.Close()
		return nil, fmt.Errorf("start pty: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = attrs
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, fmt.Errorf("start pty: %w", err)
	}
	return &ptyProcess{f: master, cmd: cmd}, nil
}

type ptyProcess struct {
	f   *os.File
	cmd *exec.Cmd
}

func (p *ptyProcess) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil && errors.Is(err, syscall.EIO) {
		// Linux reports EIO on the master once every slave side is closed: the normal end.
		err = io.EOF
	}
	return n, err
}

func (p *ptyProcess) Write(b []byte) (int, error) { return p.f.Write(b) }
func (p *ptyProcess) Close() error                { return p.f.Close() }

func (p *ptyProcess) Resize(cols, rows int) error {
	if err := pty.Setsize(p.f, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		return fmt.Errorf("resize pty: %w", err)
	}
	return nil
}

func (p *ptyProcess) Wait() (int, error) {
	err := p.cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	default:
		return -1, fmt.Errorf("wait: %w", err)
	}
}

// hanger is a Process that can be hung up (the PTY's): the polite end before Kill.
type hanger interface {
	Hangup() error
}

// pider is a Process whose pid is known, for reading its current directory.
type pider interface {
	Pid() int
}

// Pid is the pid of the process started on the PTY (the shell).
func (p *ptyProcess) Pid() int { return p.cmd.Process.Pid }

// Hangup sends SIGHUP to the process group and the rest of the PTY's session, as a closing terminal would.
func (p *ptyProcess) Hangup() error {
	pid := p.cmd.Process.Pid
	err := syscall.Kill(-pid, syscall.SIGHUP)
	for _, other := range sessionMembers(pid) {
		_ = syscall.Kill(other, syscall.SIGHUP)
	}
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("hang up process group %d: %w", pid, err)
	}
	return nil
}

// Kill signals the process group and then every process left in the PTY's session: an interactive shell puts
// each job in its own process group, so the group alone would miss them.
func (p *ptyProcess) Kill() error {
	pid := p.cmd.Process.Pid
	err := syscall.Kill(-pid, syscall.SIGKILL)
	for _, other := range sessionMembers(pid) {
		_ = syscall.Kill(other, syscall.SIGKILL)
	}
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pid, err)
	}
	return nil
}

// sessionMembers lists processes whose session id is sid, from /proc.
func sessionMembers(sid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may contain spaces.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		// state ppid pgrp session ...
		if len(fields) > 3 {
			if s, err := strconv.Atoi(fields[3]); err == nil && s == sid {
				out = append(out, pid)
			}
		}
	}
	return out
}
