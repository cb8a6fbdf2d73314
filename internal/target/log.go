package target

import (
	"context"
	"log/slog"

	"github.com/rclone/rclone/fs"
)

// SetLogHandler routes rclone's own log messages to h, so they reach the
// journal (or stderr) the way pgarchive's do. rclone's level follows the
// most verbose level h is enabled for; rclone's NOTICE arrives as
// slog.Level(2), between Info and Warn. Messages carry rclone's attributes
// "object" (the file or backend concerned) and "objectType".
//
// Call it once at startup, before any target is opened: rclone keeps the
// handler and the level in process-wide variables.
func SetLogHandler(h slog.Handler) {
	fs.SetLogger(h)
	ctx := context.Background()
	level := fs.LogLevelError
	for _, l := range []fs.LogLevel{fs.LogLevelDebug, fs.LogLevelInfo, fs.LogLevelNotice, fs.LogLevelWarning} {
		if h.Enabled(ctx, fs.LogLevelToSlog(l)) {
			level = l
			break
		}
	}
	fs.GetConfig(ctx).LogLevel = level
}
