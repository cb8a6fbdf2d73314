package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 12: a time as the tables write it ("2026-03-01 01:15:00Z") is
// taken back by restore --at and --before, so a row of list can be pasted;
// list sorts by database, target, then time, newest first.
func TestTableTimeIsAcceptedBack(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 20_000)
	harness.FakeDump(t, dumpDir, "alpha", 20_000)
	identity, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), localTarget("nas", t.TempDir()))
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	prunePushAt(t, env, "forge", "20260301T011500Z", "20260302T011500Z")
	prunePushAt(t, env, "alpha", "20260301T011500Z")

	lines := tableLines(mustRun(t, env, "list").stdout)
	want := []string{
		"DATABASE TARGET TIME SIZE STATUS",
		"alpha local 2026-03-01 01:15:00Z",
		"alpha nas 2026-03-01 01:15:00Z",
		"forge local 2026-03-02 01:15:00Z",
		"forge local 2026-03-01 01:15:00Z",
		"forge nas 2026-03-02 01:15:00Z",
		"forge nas 2026-03-01 01:15:00Z",
	}
	if len(lines) != len(want) {
		t.Fatalf("list:\n%s", strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("list row %d: %q, want it to start with %q", i, lines[i], w)
		}
	}
	// The TIME cell of the older forge row, pasted.
	cells := strings.Fields(lines[4])
	pasted := cells[2] + " " + cells[3]
	for _, flag := range []string{"--at", "--before"} {
		out := filepath.Join(t.TempDir(), "forge.sql.gz")
		r := mustRun(t, env, "restore", "--database", "forge", "--identity", identity, "--output", out, flag, pasted)
		if !strings.Contains(r.stderr, "forge_20260301T011500Z") || strings.Contains(r.stderr, "forge_20260302T011500Z") {
			t.Errorf("restore %s %q did not take 20260301T011500Z: %s", flag, pasted, r)
		}
	}
}
