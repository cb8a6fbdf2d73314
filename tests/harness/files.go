package harness

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFile writes content to dir/name, readable by its owner only (the
// tests write keys and secrets with it), and returns the path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ReadFile returns the file's content and fails the test if it cannot.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Snapshot reads every regular file below dir, keyed by its path relative
// to dir: what a test compares to see that a run left a tree alone.
func Snapshot(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out[rel] = ReadFile(t, p)
		}
		return nil
	})
	return out
}

// FakeDump writes <dir>/<db>.sql.gz, as services.postgresqlBackup names a
// dump: a plain pg_dump script of about size bytes that ends as pg_dump
// ends one, gzip-compressed. Push treats it as any dump, for tests about
// what happens around a push.
func FakeDump(t testing.TB, dir, db string, size int) string {
	t.Helper()
	var sql strings.Builder
	fmt.Fprintf(&sql, "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n")
	for i := 0; sql.Len() < size; i++ {
		fmt.Fprintf(&sql, "-- filler line %d of a fake dump of %s\n", i, db)
	}
	sql.WriteString("\n--\n-- PostgreSQL database dump complete\n--\n\n")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, sql.String())
	zw.Close()
	return WriteFile(t, dir, db+".sql.gz", buf.String())
}

// FinalError returns the line a pgarchive run's stderr ended with when it
// is its "pgarchive: error:" line (hints may follow it; the log lines
// before it are the journal's), or "".
func FinalError(stderr string) string {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "pgarchive: hint:") {
			continue
		}
		if strings.HasPrefix(lines[i], "pgarchive: error:") {
			return lines[i]
		}
		break
	}
	return ""
}
