package volume

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/simple-agent-manager/sam/agent/internal/session"
	"github.com/simple-agent-manager/sam/agent/internal/state"
)

// maxSeedFiles bounds the walk of the home a new volume is seeded from: a fresh home holds a few dotfiles.
const maxSeedFiles = 2000

// prepareHome makes the home on the volume. A new one is seeded from the user's current home (on a VM a
// fresh copy of /etc/skel made by cloud-init; in the local cloud the server's stand-in profile), or from
// SkelDir when that is empty. Later starts bring in dotfiles the server's home gained or changed, but only
// where the user left the volume's copy as it was seeded (home-seed.json keeps what was seeded), so a newer
// server's profile reaches an old volume and the user's own edits always win.
func (o *Options) prepareHome(l Layout, home string) error {
	base := o.User.Home
	if sameFile(base, home) {
		return nil // already bound by an earlier run of the agent on this server
	}
	_, err := os.Stat(home)
	fresh := errors.Is(err, fs.ErrNotExist)
	if err != nil && !fresh {
		return fmt.Errorf("volume home: %w", err)
	}
	if err := makeDir(home, 0o755, o.User); err != nil {
		return err
	}
	source := base
	if entries, err := os.ReadDir(base); err != nil || len(entries) == 0 {
		if !fresh {
			return nil
		}
		source = o.SkelDir
	}
	seeded := map[string]string{}
	if raw, err := os.ReadFile(l.homeSeedPath()); err == nil {
		_ = json.Unmarshal(raw, &seeded)
	}
	changed, err := seedHome(source, home, seeded, o.User)
	if err != nil {
		return err
	}
	if fresh {
		o.Log.Info("seeded the workspace user's home on the volume", "from", source, "files", changed)
	} else if changed > 0 {
		o.Log.Info("updated dotfiles the user had not changed", "from", source, "files", changed)
	}
	raw, _ := json.Marshal(seeded)
	return state.WriteFileAtomic(l.homeSeedPath(), raw)
}

// seedHome copies what source holds into home where home has no file yet (and never had one seeded) or still
// has the copy seeded earlier; seeded (relative path → SHA-256) is updated. It returns how many files it wrote.
func seedHome(source, home string, seeded map[string]string, user *session.User) (int, error) {
	written, seen := 0, 0
	err := filepath.WalkDir(source, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable part of the source is left out
		}
		rel, _ := filepath.Rel(source, path)
		if rel == "." {
			return nil
		}
		if seen++; seen > maxSeedFiles {
			return filepath.SkipAll
		}
		target := filepath.Join(home, rel)
		info, err := d.Info()
		if err != nil {
			return nil
		}
		switch {
		case d.IsDir():
			if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
				if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
					return fmt.Errorf("seed home: %w", err)
				}
				return chown(target, user)
			}
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
				dest, err := os.Readlink(path)
				if err == nil && os.Symlink(dest, target) == nil {
					return chown(target, user)
				}
			}
			return nil
		case !info.Mode().IsRegular():
			return nil
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		want := digest(content)
		current, err := os.ReadFile(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if _, before := seeded[rel]; before {
				return nil // the user deleted it
			}
		case err != nil:
			return nil
		case digest(current) == want:
			seeded[rel] = want
			return nil
		case seeded[rel] != digest(current):
			return nil // the user's own version
		}
		if err := state.WriteFileAtomic(target, content); err != nil {
			return fmt.Errorf("seed home: %w", err)
		}
		if err := os.Chmod(target, info.Mode().Perm()); err != nil {
			return fmt.Errorf("seed home: %w", err)
		}
		seeded[rel] = want
		written++
		return chown(target, user)
	})
	return written, err
}

func chown(path string, user *session.User) error {
	if user == nil {
		return nil
	}
	if err := os.Lchown(path, int(user.UID), int(user.GID)); err != nil {
		return fmt.Errorf("seed home: %w", err)
	}
	return nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
