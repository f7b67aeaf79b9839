package task

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Limits of one changes answer: a task that touched thousands of files is shown in part, and says so.
const (
	maxFiles      = 300
	maxPatchBytes = 64 << 10
)

// File is one changed file against the base.
type File struct {
	Path      string `json:"path"`
	Status    string `json:"status"` // added, modified, deleted
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
	Binary    bool   `json:"binary"`
	Patch     string `json:"patch"`
	// Truncated: the patch was longer than the answer carries.
	Truncated bool `json:"truncated"`
}

// Changes is the diff of the task branch (committed or not) against where it left the base branch.
type Changes struct {
	Base    string `json:"base"`
	Branch  string `json:"branch"`
	HeadSHA string `json:"head_sha"`
	Files   []File `json:"files"`
	// More is how many changed files were left out past maxFiles.
	More int `json:"more"`
}

// Changes lists what the branch changes against base: every commit since it left the base, the working
// tree's uncommitted changes and new files.
func (g Git) Changes(ctx context.Context, branch, base string) (Changes, error) {
	out := Changes{Base: base, Branch: branch, Files: []File{}}
	from, err := g.MergeBase(ctx, base)
	if err != nil {
		return out, fmt.Errorf("where the branch left %s: %w", base, err)
	}
	if out.HeadSHA, err = g.Head(ctx); err != nil {
		return out, err
	}
	// Untracked files enter the diff as intent-to-add in a throwaway index, leaving the user's index alone.
	index, err := g.run(ctx, nil, "rev-parse", "--git-path", "sam-changes-index")
	if err != nil {
		return out, err
	}
	indexPath := strings.TrimSpace(index)
	if !strings.HasPrefix(indexPath, "/") {
		indexPath = g.Dir + "/" + indexPath
	}
	defer os.Remove(indexPath)
	indexEnv := []string{"GIT_INDEX_FILE=" + indexPath}
	if _, err := g.run(ctx, indexEnv, "read-tree", "HEAD"); err != nil {
		return out, err
	}
	if _, err := g.run(ctx, indexEnv, "add", "--all", "--intent-to-add"); err != nil {
		return out, err
	}
	numstat, err := g.run(ctx, indexEnv, "diff", "--no-color", "--no-ext-diff", "--no-renames", "--numstat", "-z", from)
	if err != nil {
		return out, err
	}
	statuses, err := g.run(ctx, indexEnv, "diff", "--no-color", "--no-ext-diff", "--no-renames", "--name-status", "-z", from)
	if err != nil {
		return out, err
	}
	status := map[string]string{}
	fields := strings.Split(strings.TrimSuffix(statuses, "\x00"), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		status[fields[i+1]] = map[string]string{"A": "added", "D": "deleted"}[fields[i]]
		if status[fields[i+1]] == "" {
			status[fields[i+1]] = "modified"
		}
	}
	for _, entry := range strings.Split(strings.TrimSuffix(numstat, "\x00"), "\x00") {
		parts := strings.SplitN(entry, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		if len(out.Files) == maxFiles {
			out.More++
			continue
		}
		file := File{Path: parts[2], Status: status[parts[2]]}
		if parts[0] == "-" {
			file.Binary = true
		} else {
			file.Additions, _ = strconv.Atoi(parts[0])
			file.Deletions, _ = strconv.Atoi(parts[1])
			patch, err := g.run(ctx, indexEnv, "diff", "--no-color", "--no-ext-diff", "--no-renames", from, "--", parts[2])
			if err != nil {
				return out, err
			}
			if len(patch) > maxPatchBytes {
				patch, file.Truncated = patch[:maxPatchBytes], true
			}
			file.Patch = patch
		}
		out.Files = append(out.Files, file)
	}
	return out, nil
}
