// Package logging sends pgarchive's diagnostics to journald with structured
// fields, or to stderr as plain lines when journald is not there.
//
// Under systemd, stderr of the dump unit already lands in the journal, but
// only as text. Writing natively instead adds the fields operators filter
// on: `journalctl -u postgresqlBackup-db1 PGARCHIVE_TARGET=offsite`. The slog
// attributes Database, Target and Object map to PGARCHIVE_DATABASE,
// PGARCHIVE_TARGET and PGARCHIVE_OBJECT; any other attribute becomes
// PGARCHIVE_<KEY>. Every attribute is also appended to the message text as
// key=value, so `journalctl` without -o verbose still shows it.
//
// Nothing secret may be passed as an attribute: log lines are world-readable
// to anyone in the systemd-journal group.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// Attribute keys with a journald field of their own.
const (
	Database = "database"
	Target   = "target"
	Object   = "object"
)

// FieldPrefix starts every journald field pgarchive writes.
const FieldPrefix = "PGARCHIVE_"

// New returns the handler for this process: journald when stderr is
// connected to the journal (as in a systemd unit) and the journal socket is
// reachable, else text on stderr. PGARCHIVE_LOG=stderr forces stderr.
func New(level slog.Leveler) slog.Handler {
	if os.Getenv("PGARCHIVE_LOG") != "stderr" && journal.Enabled() {
		if ok, err := journal.StderrIsJournalStream(); err == nil && ok {
			return &handler{level: level, sink: journalSink{}}
		}
	}
	return NewText(os.Stderr, level)
}

// NewText returns a handler writing one plain line per record to w.
func NewText(w io.Writer, level slog.Leveler) slog.Handler {
	return &handler{level: level, sink: &textSink{w: w}}
}

type sink interface {
	emit(level slog.Level, msg string, fields map[string]string) error
}

type handler struct {
	level slog.Leveler
	sink  sink
	attrs []slog.Attr
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelInfo
	if h.level != nil {
		min = h.level.Level()
	}
	return l >= min
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var text strings.Builder
	text.WriteString(r.Message)
	fields := map[string]string{}
	add := func(a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		key := a.Key
		val := a.Value.String()
		if a.Value.Kind() == slog.KindDuration {
			val = a.Value.Duration().Round(time.Millisecond).String()
		}
		fmt.Fprintf(&text, " %s=%s", key, quoteIfNeeded(val))
		fields[FieldPrefix+fieldName(key)] = val
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	return h.sink.emit(r.Level, text.String(), fields)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

// WithGroup flattens groups: journald fields have no nesting, and the
// fixed fields (PGARCHIVE_TARGET...) must keep their names wherever they are
// added.
func (h *handler) WithGroup(string) slog.Handler { return h }

// fieldName turns an attribute key into a valid journald field name:
// uppercase letters, digits and underscores.
func fieldName(key string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(key) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

type journalSink struct{}

func (journalSink) emit(level slog.Level, msg string, fields map[string]string) error {
	fields["SYSLOG_IDENTIFIER"] = "pgarchive"
	return journal.Send(msg, priority(level), fields)
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}

type textSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *textSink) emit(level slog.Level, msg string, _ map[string]string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := fmt.Fprintf(t.w, "pgarchive: %s: %s\n", levelName(level), msg)
	return err
}

// levelName names slog levels the way syslog does, so rclone's NOTICE
// (slog.Level(2)) reads "notice", not "info+2".
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l > slog.LevelInfo:
		return "notice"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}
