package tests

import (
	"strings"
	"testing"
	"time"
)

// humanTime is an archive stamp as tables write it: 20260301T010000Z is
// "2026-03-01 01:00:00Z".
func humanTime(t *testing.T, stamp string) string {
	t.Helper()
	tm, err := time.Parse("20060102T150405Z", stamp)
	if err != nil {
		t.Fatalf("stamp %q: %v", stamp, err)
	}
	return tm.Format("2006-01-02 15:04:05Z")
}

// tableLines are the lines of a table with their columns joined by one
// space, so a test can look for "forge local 2026-03-01 01:00:00Z".
func tableLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

// tableRowsWith returns the lines of tableLines(out) that contain want.
func tableRowsWith(out, want string) []string {
	var rows []string
	for _, l := range tableLines(out) {
		if strings.Contains(l, want) {
			rows = append(rows, l)
		}
	}
	return rows
}

// tableRow returns the one row of out that contains want, failing the
// test when there is none or more than one.
func tableRow(t *testing.T, out, want string) string {
	t.Helper()
	rows := tableRowsWith(out, want)
	if len(rows) != 1 {
		t.Fatalf("%d rows with %q, want 1:\n%s", len(rows), want, out)
	}
	return rows[0]
}
