package target

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"

	rfs "github.com/rclone/rclone/fs"
)

// recorder is a slog.Handler that keeps messages at or above a level.
type recorder struct {
	level slog.Level
	mu    sync.Mutex
	msgs  []string
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
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
	if ci.LogLevel != rfs.LogLevelInfo {
		t.Errorf("rclone log level = %v, want INFO", ci.LogLevel)
	}
	rfs.Debugf(nil, "debug message")
	rfs.Infof(nil, "info message")
	rfs.Errorf(nil, "error message")
	rec.mu.Lock()
	got := rec.msgs
	rec.mu.Unlock()
	if len(got) != 2 || got[0] != "info message" || got[1] != "error message" {
		t.Errorf("handler got %q, want the info and error messages", got)
	}

	SetLogHandler(&recorder{level: slog.LevelWarn})
	if ci.LogLevel != rfs.LogLevelWarning {
		t.Errorf("rclone log level = %v, want WARNING", ci.LogLevel)
	}
}
