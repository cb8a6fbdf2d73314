package target

import (
	"context"
	"log/slog"

	"github.com/rclone/rclone/fs"
)

// SetLogHandler routes rclone's own log messages to h, so they reach the
// journal (or stderr) the way pgarchive's do. rclone logs at NOTICE and
// above (its INFO lines are per-transfer chatter) unless h takes debug
// messages, then everything. rclone's NOTICE arrives as slog.Level(2),
// between Info and Warn. rclone's attributes "object" and "objectType" are
// renamed "rclone_object" and "rclone_object_type": "object" is pgarchive's
// field for the archive object (PGARCHIVE_OBJECT).
//
// Call it once at startup, before any target is opened: rclone keeps the
// handler and the level in process-wide variables.
func SetLogHandler(h slog.Handler) {
	fs.SetLogger(renamingHandler{h})
	level := fs.LogLevelNotice
	if h.Enabled(context.Background(), slog.LevelDebug) {
		level = fs.LogLevelDebug
	}
	fs.GetConfig(context.Background()).LogLevel = level
}

// renamingHandler moves rclone's attribute names out of pgarchive's way.
type renamingHandler struct{ slog.Handler }

var rcloneAttrNames = map[string]string{"object": "rclone_object", "objectType": "rclone_object_type"}

func rename(a slog.Attr) slog.Attr {
	if to, ok := rcloneAttrNames[a.Key]; ok {
		a.Key = to
	}
	return a
}

func (r renamingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(rename(a))
		return true
	})
	return r.Handler.Handle(ctx, out)
}

func (r renamingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	renamed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		renamed[i] = rename(a)
	}
	return renamingHandler{r.Handler.WithAttrs(renamed)}
}

func (r renamingHandler) WithGroup(name string) slog.Handler {
	return renamingHandler{r.Handler.WithGroup(name)}
}
