package logging

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestTextHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewText(&buf, slog.LevelInfo))
	log.With(Database, "forge").Info("pushed", Target, "offsite", "duration", 1500*time.Millisecond, "note", "two words")
	log.Debug("hidden")
	want := "pgarchive: info: pushed database=forge target=offsite duration=1.5s note=\"two words\"\n"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}

type captureSink struct {
	fields map[string]string
	msg    string
}

func (c *captureSink) emit(_ slog.Level, msg string, fields map[string]string) error {
	c.msg, c.fields = msg, fields
	return nil
}

func TestJournalFields(t *testing.T) {
	sink := &captureSink{}
	log := slog.New(&handler{sink: sink})
	log.With(Database, "db1").WithGroup("s3").Info("x", Object, "h/db1/o.age", "part-size", 5)
	for k, v := range map[string]string{
		"PGARCHIVE_DATABASE":  "db1",
		"PGARCHIVE_OBJECT":    "h/db1/o.age",
		"PGARCHIVE_PART_SIZE": "5",
	} {
		if sink.fields[k] != v {
			t.Errorf("field %s = %q, want %q (all: %v)", k, sink.fields[k], v, sink.fields)
		}
	}
}

func TestTextLevelNames(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewText(&buf, slog.LevelDebug))
	log.Debug("d")
	log.Log(context.Background(), slog.Level(2), "rclone notice")
	log.Warn("w")
	want := "pgarchive: debug: d\npgarchive: notice: rclone notice\npgarchive: warning: w\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
