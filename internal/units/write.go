package units

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pgarchive/pgarchive/internal/atomicfile"
)

// What Write did to a file.
const (
	Written   = "written"
	Unchanged = "unchanged"
	Removed   = "removed"
)

// Change is what Write did to one file.
type Change struct {
	// Action is Written, Unchanged or Removed.
	Action string
	// Path is the file's path in the directory written to.
	Path string
}

// Write puts files in dir (which must exist): a file whose content is
// already there is left alone, so a re-run changes nothing and systemd
// sees no new mtime; others are replaced atomically, mode 0644 (they name
// paths, never a secret). A generated file of an earlier run that files
// no longer holds (a database dropped from --databases, a job the
// configuration no longer asks for) is removed; a file is taken for
// generated only when it starts with Header. Changes come in the order of
// files, removals last.
func Write(dir string, files []File) ([]Change, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("output directory %q is not a directory", dir)
	}
	var changes []Change
	keep := map[string]bool{}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		keep[f.Name] = true
		old, err := os.ReadFile(p)
		switch {
		case err == nil && bytes.Equal(old, f.Content):
			changes = append(changes, Change{Unchanged, p})
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return changes, fmt.Errorf("read %s: %w", p, err)
		}
		if err := atomicfile.WriteBytes(p, 0o644, f.Content); err != nil {
			return changes, fmt.Errorf("write %s: %w", p, err)
		}
		changes = append(changes, Change{Written, p})
	}
	stale, err := generatedFiles(dir)
	if err != nil {
		return changes, err
	}
	for _, name := range stale {
		if keep[name] {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil {
			return changes, fmt.Errorf("remove %s: %w", p, err)
		}
		changes = append(changes, Change{Removed, p})
	}
	return changes, nil
}

// generatedFiles lists the files in dir that an earlier run wrote: named
// pgarchive-*.service or .timer and starting with Header.
func generatedFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, "pgarchive-") ||
			!(strings.HasSuffix(name, ".service") || strings.HasSuffix(name, ".timer")) {
			continue
		}
		head := make([]byte, len(Header))
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		n, _ := io.ReadFull(f, head)
		f.Close()
		if n == len(head) && string(head) == Header {
			out = append(out, name)
		}
	}
	return out, nil
}
