package acp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxTextFileBytes bounds what an fs/read_text_file answer may carry: this is for source files.
const maxTextFileBytes = 16 << 20

// workspaceFS serves the adapter's file requests inside the repository only. The VM agent does the work
// with its own rights, so the confinement is os.Root's: no "..", no symlink leading out of the tree, even
// one swapped in between a check and the open.
type workspaceFS struct {
	dir   string
	owner *syscall.Credential
}

func newWorkspaceFS(dir string, owner *syscall.Credential) (*workspaceFS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("workspace directory: %w", err)
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("workspace directory %s does not exist", abs)
	}
	return &workspaceFS{dir: abs, owner: owner}, nil
}

// relative turns the adapter's absolute path into one inside the workspace, refusing anything else.
func (w *workspaceFS) relative(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("path %q is not absolute, as the protocol requires", path)
	}
	rel, err := filepath.Rel(w.dir, filepath.Clean(path))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("path %s is outside the workspace %s", path, w.dir)
	}
	return rel, nil
}

func (w *workspaceFS) read(path string, line, limit *int) (string, error) {
	rel, err := w.relative(path)
	if err != nil {
		return "", err
	}
	root, err := os.OpenRoot(w.dir)
	if err != nil {
		return "", fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	file, err := root.Open(rel)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxTextFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxTextFileBytes {
		return "", fmt.Errorf("%s is larger than 16 MB; read it in parts with the shell", path)
	}
	content := string(data)
	if line == nil && limit == nil {
		return content, nil
	}
	lines := strings.SplitAfter(content, "\n")
	start := 0
	if line != nil && *line > 1 {
		start = min(*line-1, len(lines))
	}
	end := len(lines)
	if limit != nil && *limit >= 0 && start+*limit < end {
		end = start + *limit
	}
	return strings.Join(lines[start:end], ""), nil
}

func (w *workspaceFS) write(path, content string) error {
	rel, err := w.relative(path)
	if err != nil {
		return err
	}
	if rel == "." {
		return fmt.Errorf("%s is the workspace directory, not a file", path)
	}
	root, err := os.OpenRoot(w.dir)
	if err != nil {
		return fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	if err := w.makeParents(root, filepath.Dir(rel)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	mode := os.FileMode(0o644)
	if info, err := root.Stat(rel); err == nil {
		mode = info.Mode().Perm()
	}
	file, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := io.WriteString(file, content); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return w.chown(root, rel)
}

// makeParents creates the missing directories above a new file, owned like the file will be.
func (w *workspaceFS) makeParents(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	if _, err := root.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := w.makeParents(root, filepath.Dir(dir)); err != nil {
		return err
	}
	if err := root.Mkdir(dir, 0o755); err != nil {
		return err
	}
	return w.chown(root, dir)
}

// chown gives what the agent wrote to the workspace user, as if the adapter had written it itself.
func (w *workspaceFS) chown(root *os.Root, rel string) error {
	if w.owner == nil {
		return nil
	}
	if err := root.Chown(rel, int(w.owner.Uid), int(w.owner.Gid)); err != nil {
		return fmt.Errorf("give %s to the workspace user: %w", rel, err)
	}
	return nil
}
