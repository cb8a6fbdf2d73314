package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// statusReport is the part of `status --json` the tests read.
type statusReport struct {
	Schema        int      `json:"schema"`
	Host          string   `json:"host"`
	MaxAgeSeconds float64  `json:"max_age_seconds"`
	Warnings      []string `json:"warnings"`
	Databases     []struct {
		Database string `json:"database"`
		Targets  []struct {
			Target     string   `json:"target"`
			Newest     *string  `json:"time"`
			AgeSeconds float64  `json:"age_seconds"`
			Warnings   []string `json:"warnings"`
		} `json:"targets"`
	} `json:"databases"`
	Unreadable []struct {
		Target string `json:"target"`
		Error  string `json:"error"`
	} `json:"unreadable"`
}

func statusJSON(t *testing.T, env []string) (statusReport, result) {
	t.Helper()
	r := pgarchive(t, env, "status", "--json")
	var rep statusReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Schema != 1 || rep.Unreadable == nil {
		t.Fatalf("status --json: %v\n%s", err, r)
	}
	return rep, r
}

// Issue 4, status: fresh, stale and lagging-target cases, with back-dated
// pushes through the real push path.
func TestStatusFreshStaleLagging(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 20_000)
	harness.FakeDump(t, dumpDir, "matrix", 20_000)
	_, recipient := keypair(t, false)
	local := localTarget("local", t.TempDir())
	nasDir := t.TempDir()
	good := configFile(t, dumpDir, "gzip", ageRecipients(recipient), local, localTarget("nas", nasDir))
	nasDown := configFile(t, dumpDir, "gzip", ageRecipients(recipient), local, brokenTarget(t, "nas"))
	at := func(cfg, stamp string) []string {
		return []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + stamp}
	}
	for _, db := range []string{"forge", "matrix"} {
		mustRun(t, at(good, "20261121T011500Z"), "push", "--database", db, "--allow-stale")
	}

	// Fresh: an hour later, both databases on both targets.
	rep, r := statusJSON(t, at(good, "20261121T021500Z"))
	if r.code != 0 || len(rep.Warnings) != 0 || len(rep.Databases) != 2 {
		t.Fatalf("fresh: %s", r)
	}
	for _, d := range rep.Databases {
		for _, tg := range d.Targets {
			if tg.Newest == nil || *tg.Newest != "2026-11-21T01:15:00Z" || tg.AgeSeconds != 3600 {
				t.Errorf("fresh: %s on %s: newest %v, age %v", d.Database, tg.Target, tg.Newest, tg.AgeSeconds)
			}
		}
	}
	text := mustRun(t, at(good, "20261121T021500Z"), "status").stdout
	if tableLines(text)[0] != "DATABASE TARGET TIME AGE STATUS" || strings.Count(text, " ok\n") != 4 ||
		len(tableRowsWith(text, " 2026-11-21 01:15:00Z 1 hour ago ok")) != 4 || !strings.HasPrefix(tableLines(text)[1], "forge local ") {
		t.Errorf("fresh, text:\n%s", text)
	}

	// Stale: 30 hours on, past the default max_age of 25h.
	rep, r = statusJSON(t, at(good, "20261122T071500Z"))
	if r.code != 1 || len(rep.Warnings) != 4 {
		t.Fatalf("stale: want exit 1 and 4 warnings: %s", r)
	}
	for _, w := range rep.Warnings {
		if !strings.Contains(w, "newest archive is 30 hours old, more than max_age 25 hours") {
			t.Errorf("stale warning: %q", w)
		}
	}
	if !strings.Contains(r.stderr, "pgarchive: error: status: 4 warnings: ") {
		t.Errorf("stale: stderr\n%s", r.stderr)
	}

	// A shorter max_age from the config applies.
	short := configFile(t, dumpDir, "gzip", ageRecipients(recipient), local, localTarget("nas", nasDir), "[status]\nmax_age = \"30m\"\n")
	if rep, r := statusJSON(t, at(short, "20261121T021500Z")); r.code != 1 || rep.MaxAgeSeconds != 1800 || len(rep.Warnings) != 4 {
		t.Errorf("max_age 30m: %s", r)
	}

	// Lagging: the next day nas is down for forge's push; forge on nas
	// now lags local, though it is within max_age. matrix is fine.
	if r := pgarchive(t, at(nasDown, "20261122T011500Z"), "push", "--database", "forge", "--allow-stale"); r.code != 1 {
		t.Fatalf("push with nas down: %s", r)
	}
	mustRun(t, at(good, "20261122T011500Z"), "push", "--database", "matrix", "--allow-stale")
	rep, r = statusJSON(t, at(good, "20261122T021500Z"))
	if r.code != 1 || len(rep.Warnings) != 1 ||
		rep.Warnings[0] != "forge on nas: lags local: newest is 2026-11-21 01:15:00Z, local has 2026-11-22 01:15:00Z" {
		t.Fatalf("lagging: %s", r)
	}
	text = pgarchive(t, at(good, "20261122T021500Z"), "status").stdout
	if !strings.Contains(text, "WARNING: lags local") || strings.Count(text, " ok\n") != 3 {
		t.Errorf("lagging, text:\n%s", text)
	}

	// A target that cannot be read is a warning of its own.
	nasGone := configFile(t, dumpDir, "gzip", ageRecipients(recipient), local, deadSFTPTarget(t, "nas", ""))
	if rep, r := statusJSON(t, at(nasGone, "20261122T021500Z")); r.code != 1 || !strings.Contains(r.stderr, "target nas could not be listed") ||
		len(rep.Unreadable) != 1 || rep.Unreadable[0].Target != "nas" || rep.Unreadable[0].Error == "" {
		t.Errorf("unreadable target: %s", r)
	}
}

// status of a host with no archives at all warns rather than calls it fine.
func TestStatusNothingStored(t *testing.T) {
	_, recipient := keypair(t, false)
	cfg := configFile(t, t.TempDir(), "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()))
	r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "status")
	if r.code != 1 || errorLine(t, r) != `pgarchive: error: status: 1 warning: no archives of host "db1" on any target (the targets hold no archives at all)` {
		t.Errorf("%s", r)
	}
}
