package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// --before takes the newest complete archive at or before a time, in every
// form the runbook names; --at takes one second exactly and, missing,
// names the nearest archives.
func TestRestoreBefore(t *testing.T) {
	dumpDir := t.TempDir()
	identity, recipient := keypair(t, false)
	store := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("nas", store))
	stamps := []string{"20261101T011500Z", "20261102T011500Z", "20261103T011500Z"}
	dumps := map[string][]byte{}
	for i, s := range stamps {
		dump := harness.FakeDump(t, dumpDir, "forge", 5_000+1_000*i) // each night's dump differs
		dumps[s] = harness.ReadFile(t, dump)
		mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + s}, "push", "--database", "forge", "--allow-stale")
	}
	// A newer upload that never finished: never chosen.
	if err := os.WriteFile(filepath.Join(store, "db1/forge/forge_20261102T120000Z.sql.gz.age"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	restored := func(args ...string) (result, []byte) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "forge.sql.gz")
		r := pgarchive(t, env, append([]string{"restore", "--database", "forge", "--identity", identity, "--output", out}, args...)...)
		data, _ := os.ReadFile(out)
		return r, data
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--before", "20261102T011500Z"}, stamps[1]},          // exactly at an archive
		{[]string{"--before", "2026-11-02 01:15:00"}, stamps[1]},       // the same, as typed
		{[]string{"--before", "2026-11-02T12:00:00Z"}, stamps[1]},      // between: not the unfinished one
		{[]string{"--before", "2026-11-02 03:14 +02:00"}, stamps[0]},   // 01:14 UTC, a minute before
		{[]string{"--before", "2026-11-02T02:15:00+01:00"}, stamps[1]}, // RFC 3339 with an offset
		{[]string{"--before", "2027-01-01 00:00"}, stamps[2]},          // after all: the latest
		{[]string{"--at", "2026-11-03 01:15:00"}, stamps[2]},           // --at takes the forms too
		{[]string{"--at", "2026-11-01T02:15:00+01:00"}, stamps[0]},
	} {
		r, data := restored(tc.args...)
		if r.code != 0 {
			t.Errorf("%v: %s", tc.args, r)
			continue
		}
		if !bytes.Equal(data, dumps[tc.want]) {
			t.Errorf("%v restored another archive than %s: %s", tc.args, tc.want, r.stderr)
		}
	}

	// Before every archive: nothing, and the error says what there is.
	r, _ := restored("--before", "2026-10-31 00:00")
	if r.code != 1 || !strings.Contains(r.stderr, `no complete archive at or before 20261031T000000Z of database "forge"`) ||
		!strings.Contains(errorLine(t, r), "the nearest are 20261101T011500Z, 20261102T011500Z") {
		t.Errorf("--before every archive: %s", r)
	}
	// --at a second with no archive: the nearest on both sides.
	r, _ = restored("--at", "2026-11-02 12:00")
	if r.code != 1 || !strings.Contains(errorLine(t, r), "the nearest are 20261101T011500Z, 20261102T011500Z, 20261103T011500Z") {
		t.Errorf("--at with no exact match: %s", r)
	}
	for _, bad := range [][]string{
		{"--before", "yesterday"},
		{"--at", "2026-11-02"},
		{"--at", "20261102T011500Z", "--before", "2026-11-03 00:00"},
	} {
		if r, _ := restored(bad...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", bad, r.code, r)
		}
	}
}

// "globals" is kept for the roles: a dump file cannot be pushed under it,
// and restore points at --globals for it.
func TestGlobalsNameIsReserved(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "globals", 1_000)
	_, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("nas", t.TempDir()))
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	if r := pgarchive(t, env, "push", "--database", "globals"); r.code != 2 || !strings.Contains(r.stderr, "push --globals") {
		t.Errorf("push --database globals: %s", r)
	}
	if r := pgarchive(t, env, "push", "--globals", "--database", "forge"); r.code != 2 {
		t.Errorf("push --globals --database: %s", r)
	}
	if r := pgarchive(t, env, "restore", "--database", "globals", "--identity", "x", "--into", "x"); r.code != 2 || !strings.Contains(r.stderr, "--globals") {
		t.Errorf("restore --database globals --into: %s", r)
	}
}

// drill --before drills the newest archive at or before a time, so a
// rehearsal can prove an old night opens.
func TestDrillBefore(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	identity, recipient := keypair(t, false)
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()))
	push := append(pg.Env(), "PGARCHIVE_CONFIG="+base)
	for _, stamp := range []string{"20261101T011500Z", "20261102T011500Z"} {
		pg.Dump(t, "forge", dumpDir, "gzip")
		mustRun(t, append(push, "PGARCHIVE_TEST_NOW="+stamp), "push", "--database", "forge", "--allow-stale")
	}
	cfg := drillConfig(t, base, pg, t.TempDir())
	env := drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20261103T000000Z")
	reps := drillJSON(t, mustRun(t, env, "drill", "--identity", identity, "--json", "--before", "2026-11-01 12:00"))
	if len(reps) != 1 || reps[0].Object != "db1/forge/forge_20261101T011500Z.sql.gz.age" || !reps[0].OK {
		t.Errorf("drill --before took %+v, want the first night's archive", reps)
	}
	r := pgarchive(t, env, "drill", "--identity", identity, "--before", "2026-10-01 00:00")
	if r.code != 1 || !strings.Contains(r.stderr, "no complete archive at or before 20261001T000000Z") {
		t.Errorf("drill --before every archive: %s", r)
	}
}
