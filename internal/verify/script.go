package verify

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/pgarchive/pgarchive/internal/dump"
)

// Completion lines: the last comment pg_dump and pg_dumpall write.
const (
	DumpComplete    = "-- PostgreSQL database dump complete"
	ClusterComplete = "-- PostgreSQL database cluster dump complete"
)

// tailSize is how much of a script's end checkScript keeps: the completion
// line and what may follow it (a blank line, "--", and since PostgreSQL
// 17.6/16.10/15.14 "\unrestrict <key>" with a key of up to 64 characters)
// fit many times over.
const tailSize = 4096

// checkScript reads a plain dump or pg_dumpall script to its end and
// checks its last meaningful line is the completion line: a dump cut short
// (pg_dump killed, a truncated file shipped) lacks it.
func checkScript(r io.Reader, format string) error {
	want := DumpComplete
	if format == dump.FormatCluster {
		want = ClusterComplete
	}
	var tail tailBuffer
	if _, err := io.Copy(&tail, r); err != nil {
		return err
	}
	last := lastMeaningfulLine(tail.bytes())
	if last != want {
		if last == "" {
			return fmt.Errorf("%s dump is empty", format)
		}
		return fmt.Errorf("%s dump does not end with %q (cut short?); its last line is %q", format, want, abbreviate(last, 80))
	}
	return nil
}

// lastMeaningfulLine returns the last line of b that is not blank, a bare
// "--" comment, or a psql \unrestrict command.
func lastMeaningfulLine(b []byte) string {
	lines := strings.Split(string(bytes.TrimRight(b, "\r\n")), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimRight(lines[i], "\r \t")
		switch {
		case l == "", l == "--", strings.HasPrefix(l, `\unrestrict `):
			continue
		}
		return l
	}
	return ""
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// tailBuffer keeps the last tailSize bytes written to it.
type tailBuffer struct {
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= tailSize {
		t.buf = append(t.buf[:0], p[len(p)-tailSize:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tailBuffer) bytes() []byte { return t.buf }
