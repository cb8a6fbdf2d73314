package fault

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// A push runs while prune deletes hundreds of archives of the same
// database on the same targets. Both end well: prune deletes only what its
// policy gave up, the new archive is complete everywhere, and the archive
// prune kept as the newest good one is still there.
func TestPushDuringPrune(t *testing.T) {
	t.Parallel()
	s3 := harness.StartMinIO(t)
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "shop", 20_000)
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", "", ageRecipients(recipient),
		localTarget("local", local), s3Target(t, "offsite", s3, s3.Endpoint, "databases"),
		"[retention]\nkeep_last = 1\n")
	env := func(now string) []string { return []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + now} }

	// One archive pushed for real, then copies of it under older names:
	// the same bytes, each with a manifest of its own, as a year of
	// hourly pushes would have left.
	const n = 300
	base := time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC)
	stamp := func(i int) string { return base.Add(time.Duration(i) * time.Hour).Format("20060102T150405Z") }
	newest, pushed := stamp(n), stamp(n+1)
	mustRun(t, env(newest), "push", "-d", "shop", "--allow-stale")
	name := func(s string) string { return "db1/shop/shop_" + s + ".sql.gz.age" }
	object := harness.ReadFile(t, filepath.Join(local, name(newest)))
	var manifest map[string]any
	if err := json.Unmarshal(harness.ReadFile(t, filepath.Join(local, name(newest))+".json"), &manifest); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s := stamp(i)
		at, _ := time.Parse("20060102T150405Z", s)
		manifest["time"] = at.Format(time.RFC3339)
		manifest["object"] = filepath.Base(name(s))
		m, _ := json.MarshalIndent(manifest, "", "  ")
		harness.WriteFile(t, filepath.Join(local, "db1", "shop"), filepath.Base(name(s)), string(object))
		harness.WriteFile(t, filepath.Join(local, "db1", "shop"), filepath.Base(name(s))+".json", string(m))
		s3.Put(t, "databases/"+name(s), object)
		s3.Put(t, "databases/"+name(s)+".json", m)
	}
	dir := filepath.Join(local, "db1", "shop")
	count := func() int { entries, _ := os.ReadDir(dir); return len(entries) }
	before := count()

	// prune first; the push as soon as prune has deleted something.
	now := stamp(n + 2)
	pruned := goPgarchive(t, env(now), "prune", "--json")
	deadline := time.Now().Add(time.Minute)
	for count() == before && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	push := pgarchive(t, env(pushed), "push", "-d", "shop", "--allow-stale")
	select {
	case r := <-pruned:
		t.Fatalf("prune ended before the push did, so they did not overlap (more archives needed?): %s", r)
	default:
	}
	prune := <-pruned
	if push.code != 0 {
		t.Fatalf("push during prune: %s", push)
	}
	if prune.code != 0 {
		t.Fatalf("prune during push: %s", prune)
	}

	// What prune decided holds: its keeps are there, its deletes gone;
	// the archive it kept as newest complete on each target survives.
	decisions := pruneJSON(t, prune)
	for _, target := range []string{"local", "offsite"} {
		var newestKept []string
		deleted := 0
		for _, d := range decisions {
			if d.Target != target {
				continue
			}
			switch {
			case d.Action == "keep":
				if slices.Contains(d.Reasons, "newest complete") {
					newestKept = append(newestKept, stampOf(d.Object))
				}
			case d.Action == "deleted":
				deleted++
			default:
				t.Errorf("prune on %s: %+v", target, d)
			}
		}
		if len(newestKept) != 1 || (newestKept[0] != newest && newestKept[0] != pushed) {
			t.Errorf("prune on %s kept %q as newest complete, want %s or %s", target, newestKept, newest, pushed)
		}
		if deleted < n {
			t.Errorf("prune on %s deleted %d archives, want at least %d", target, deleted, n)
		}
		// Left: what prune kept, with the new archive complete.
		want := slices.Clone(newestKept)
		if !slices.Contains(want, pushed) {
			want = append(want, pushed)
		}
		slices.Sort(want)
		mustHold(t, env(now), identity, target, want...)
		if left := incomplete(t, env(now), target); len(left) != 0 {
			t.Errorf("%s holds incomplete objects: %q", target, left)
		}
	}
	if _, err := os.Stat(filepath.Join(local, name(pushed)+".json")); err != nil {
		t.Errorf("the new archive's manifest: %v", err)
	}
	record(t, "push-during-prune", row{
		Fault: "A push while prune deletes 300 archives of the same database (keep_last = 1, local and S3)",
		Did:   "both exit 0; prune deletes only what its policy gave up and keeps the newest complete archive it saw",
		Kept:  "both targets: the new archive, complete and verified, and the archive prune kept as newest; no incomplete object",
	})
}

// The newest archive's manifest names another archive (copied over it by
// hand or by a broken tool): restore refuses that archive, so prune must
// not keep it as the newest good one and delete the good ones below it.
func TestPruneNewestManifestNamesAnother(t *testing.T) {
	t.Parallel()
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "shop", 20_000)
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", "", ageRecipients(recipient), localTarget("local", local),
		"[retention]\nkeep_last = 1\n")
	env := func(now string) []string { return []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + now} }
	for _, s := range []string{"20260301T011500Z", "20260302T011500Z", "20260303T011500Z"} {
		mustRun(t, env(s), "push", "-d", "shop", "--allow-stale")
	}
	name := func(s string) string { return filepath.Join(local, "db1", "shop", "shop_"+s+".sql.gz.age") }
	harness.WriteFile(t, filepath.Dir(name("x")), filepath.Base(name("20260303T011500Z"))+".json",
		string(harness.ReadFile(t, name("20260302T011500Z")+".json")))

	mustRun(t, env("20260304T011500Z"), "prune")
	if _, err := os.Stat(name("20260302T011500Z") + ".json"); err != nil {
		t.Fatalf("prune deleted the newest archive restore accepts: %v", err)
	}
	out := filepath.Join(t.TempDir(), "shop.sql.gz")
	mustRun(t, env("20260304T011500Z"), "restore", "-d", "shop", "--at", "20260302T011500Z", "--identity", identity, "--output", out)
	if got, want := harness.ReadFile(t, out), harness.ReadFile(t, filepath.Join(dumpDir, "shop.sql.gz")); string(got) != string(want) {
		t.Error("restore after prune did not give the dump back")
	}
	record(t, "prune-newest-manifest-names-another", row{
		Fault: "The newest archive's manifest replaced by another archive's (keep_last = 1)",
		Did:   "prune counts that archive as incomplete (restore refuses it), keeps the newest one whose manifest vouches for it, deletes the older; exits 0",
		Kept:  "the newest archive restore accepts, restored byte for byte; the archive with the foreign manifest until incomplete_grace",
	})
}
