package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
)

// PushGlobals archives the cluster's roles and tablespaces as the database
// archive.Globals: it runs `pg_dumpall --globals-only` (connecting as
// libpq's PG* environment says, as drill does), compresses the script as
// the config's compression says into a private temporary file, and pushes
// that file like any dump, content check, manifest and all. The file is
// removed afterwards.
func PushGlobals(ctx context.Context, opts PushOptions) (*archive.PushResult, error) {
	dir, err := os.MkdirTemp("", "pgarchive-globals-*")
	if err != nil {
		return nil, fmt.Errorf("push globals: %w", err)
	}
	defer os.RemoveAll(dir)
	suffix, _ := config.DumpSuffix(opts.Config.Compression)
	path := filepath.Join(dir, archive.Globals+".sql"+suffix)
	if err := dumpGlobals(ctx, path, opts.Config.Compression); err != nil {
		run := Start(ctx, opts.Config, "push", archive.Globals)
		err = fmt.Errorf("push %s: %w", archive.Globals, err)
		run.Finish(Report{Database: archive.Globals, Err: err})
		return nil, err
	}
	opts.Database = archive.Globals
	opts.File = path
	return Push(ctx, opts)
}

// dumpGlobals writes pg_dumpall --globals-only, compressed, to path.
func dumpGlobals(ctx context.Context, path, compression string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.WriteCloser
	switch compression {
	case "gzip":
		w = gzip.NewWriter(f)
	case "zstd":
		if w, err = zstd.NewWriter(f); err != nil {
			return err
		}
	default:
		w = nopCloser{f}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pg_dumpall", "--globals-only")
	cmd.Stdout = w
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var notFound *exec.Error
		if errors.As(err, &notFound) {
			return fmt.Errorf("pg_dumpall not found: is the PostgreSQL client installed? %w", err)
		}
		msg := strings.Join(strings.Fields(strings.TrimSpace(stderr.String())), " ")
		return fmt.Errorf("pg_dumpall --globals-only: %v: %s", err, msg)
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Close()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
