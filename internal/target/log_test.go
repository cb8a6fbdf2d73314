package target

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"

	rfs "github.com/rclone/rclone/fs"
)

// recorder is a slog.Handler that keeps messages and attribute keys at or
// above a level.
type recorder struct {
	level slog.Level
	mu    sync.Mutex
	msgs  []string
	keys  []string
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	rec.Attrs(func(a slog.Attr) bool { r.keys = append(r.keys, a.Key); return true })
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func TestSetLogHandler(t *testing.T) {
	ci := rfs.GetConfig(context.Background())
	defer func(level rfs.LogLevel) {
		SetLogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: rfs.SlogLevelNotice}))
		ci.LogLevel = level
	}(ci.LogLevel)

	rec := &recorder{level: slog.LevelInfo}
	SetLogHandler(rec)
	if ci.LogLevel != rfs.LogLevelNotice {
		t.Errorf("rclone log level = %v, want NOTICE at pgarchive's info level", ci.LogLevel)
	}
	rfs.Debugf(nil, "debug message")
	rfs.Infof(nil, "info message")
	rfs.Logf("some/file", "notice message")
	rfs.Errorf(nil, "error message")
	rec.mu.Lock()
	got, keys := rec.msgs, rec.keys
	rec.mu.Unlock()
	if len(got) != 2 || got[0] != "notice message" || got[1] != "error message" {
		t.Errorf("handler got %q, want the notice and error messages", got)
	}
	renamed := false
	for _, k := range keys {
		renamed = renamed || k == "rclone_object"
		if k == "object" {
			t.Errorf("rclone's \"object\" attribute reached the handler (keys %q): it would land in PGARCHIVE_OBJECT", keys)
		}
	}

	if !renamed {
		t.Errorf("no rclone_object attribute in %q", keys)
	}

	SetLogHandler(&recorder{level: slog.LevelDebug})
	if ci.LogLevel != rfs.LogLevelDebug {
		t.Errorf("rclone log level = %v, want DEBUG with --verbose", ci.LogLevel)
	}
}
