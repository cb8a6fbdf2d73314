package tests

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// errorLine is the one "pgarchive: error: " line of a run; the test fails
// unless there is exactly one.
func errorLine(t *testing.T, r result) string {
	t.Helper()
	lines := grepLines(r.stderr, "pgarchive: error: ")
	if len(lines) != 1 {
		t.Fatalf("want one error line: %s", r)
	}
	return lines[0]
}

// Issue 8, item 5: an archive pushed while the host clock ran a year ahead
// is not "latest" for restore, status or drill; the good archive before it
// is. status warns about it, naming database, target and stamp, and
// restore --at still finds it by name.
func TestFutureStampNeverLatest(t *testing.T) {
	pg := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	identity, recipient := keypair(t, false)
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), s3Target(t, "s3", s3))
	push := append(pg.Env(), "PGARCHIVE_CONFIG="+base)
	const (
		good   = "20260301T011500Z"
		future = "20270301T011500Z" // the clock was a year ahead for this push
		now    = "20260301T021500Z"
	)

	// Two different dumps, so that what restore returns tells them apart.
	goodDump := harness.ReadFile(t, pg.Dump(t, "forge", dumpDir, "gzip"))
	mustRun(t, append(push, "PGARCHIVE_TEST_NOW="+good), "push", "--database", "forge", "--allow-stale")
	pg.Psql(t, "forge", "CREATE TABLE pushed_from_the_future (x int)")
	futureDump := harness.ReadFile(t, pg.Dump(t, "forge", dumpDir, "gzip"))
	if bytes.Equal(goodDump, futureDump) {
		t.Fatal("the two dumps are the same")
	}
	mustRun(t, append(push, "PGARCHIVE_TEST_NOW="+future), "push", "--database", "forge", "--allow-stale")

	env := []string{"PGARCHIVE_CONFIG=" + base, "PGARCHIVE_TEST_NOW=" + now}

	// status: newest is the good archive on both targets, plus a warning each.
	rep, r := statusJSON(t, env)
	if r.code != 1 {
		t.Fatalf("status: want exit 1: %s", r)
	}
	wantWarnings := []string{
		"forge on local: archive " + humanTime(t, future) + " is stamped in the future (364 days ahead; was a host clock wrong?), not counted as newest",
		"forge on s3: archive " + humanTime(t, future) + " is stamped in the future (364 days ahead; was a host clock wrong?), not counted as newest",
	}
	if strings.Join(rep.Warnings, "\n") != strings.Join(wantWarnings, "\n") {
		t.Errorf("status warnings:\n%s\nwant:\n%s", strings.Join(rep.Warnings, "\n"), strings.Join(wantWarnings, "\n"))
	}
	for _, d := range rep.Databases {
		for _, tg := range d.Targets {
			if tg.Newest == nil || *tg.Newest != "2026-03-01T01:15:00Z" || tg.AgeSeconds != 3600 {
				t.Errorf("status: %s on %s: newest %v, age %v; want the good archive", d.Database, tg.Target, tg.Newest, tg.AgeSeconds)
			}
		}
	}
	r = pgarchive(t, env, "status")
	if line := errorLine(t, r); r.code != 1 || line != "pgarchive: error: status: 2 warnings: "+strings.Join(wantWarnings, "; ") {
		t.Errorf("status, text: exit %d, error line %q", r.code, line)
	}

	// restore --at latest: the good archive, with a word about the other.
	out := filepath.Join(t.TempDir(), "latest.sql.gz")
	r = mustRun(t, env, "restore", "--database", "forge", "--identity", identity, "--output", out)
	if !bytes.Equal(harness.ReadFile(t, out), goodDump) {
		t.Error("restore --at latest did not restore the good archive")
	}
	if !strings.Contains(r.stderr, "restore: 1 archive stamped in the future passed over, the newest "+future+"; --at "+future+" restores it") {
		t.Errorf("restore: no word of the archive passed over: %s", r)
	}

	// restore --at <future stamp>: named explicitly, it is found.
	out = filepath.Join(t.TempDir(), "future.sql.gz")
	mustRun(t, env, "restore", "--database", "forge", "--identity", identity, "--at", future, "--output", out)
	if !bytes.Equal(harness.ReadFile(t, out), futureDump) {
		t.Error("restore --at " + future + " did not restore that archive")
	}

	// drill: the good archive.
	cfg := drillConfig(t, base, pg, filepath.Join(t.TempDir(), "state"), "identity_file = "+toml(identity))
	reps := drillJSON(t, mustRun(t, drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW="+now), "drill", "--json"))
	if len(reps) != 1 || reps[0].Object != "db1/forge/forge_"+good+".sql.gz.age" || !reps[0].OK {
		t.Errorf("drill took %+v, want the good archive", reps)
	}

	// A month before either push, both are in the future: nothing is
	// latest, and the one line says what was passed over and how to get it.
	before := []string{"PGARCHIVE_CONFIG=" + base, "PGARCHIVE_TEST_NOW=20260201T000000Z"}
	r = pgarchive(t, before, "restore", "--database", "forge", "--identity", identity, "--output", filepath.Join(t.TempDir(), "x"))
	if line := errorLine(t, r); r.code != 1 || line != `pgarchive: error: no complete archive of database "forge" from host "db1" on any target: 2 stamped in the future passed over (the newest `+future+`; restore it with --at `+future+`)` {
		t.Errorf("restore with every archive in the future: exit %d, %q", r.code, line)
	}
	r = pgarchive(t, drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260201T000000Z"), "drill")
	if line := errorLine(t, r); r.code != 1 || line != `pgarchive: error: drill: no complete archive of database "forge" from host "db1" on any target: 2 stamped in the future passed over (the newest `+future+`)` {
		t.Errorf("drill with every archive in the future: exit %d, %q", r.code, line)
	}
	if s := drillScratchDatabases(t, pg); s != "" {
		t.Errorf("scratch databases left: %s", s)
	}
}
