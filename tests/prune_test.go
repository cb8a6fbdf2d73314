package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// pruneGFS is the policy of the example: 7 daily, 4 weekly, 6 monthly.
const pruneGFS = "[retention]\ndaily = 7\nweekly = 4\nmonthly = 6\n"

// pruneStamps returns 01:15:00Z of every day from first to last (YYYYMMDD),
// inclusive.
func pruneStamps(t *testing.T, first, last string) []string {
	t.Helper()
	from, err1 := time.Parse("20060102", first)
	to, err2 := time.Parse("20060102", last)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad dates %q %q", first, last)
	}
	var out []string
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format("20060102")+"T011500Z")
	}
	return out
}

// prunePushAt pushes the current dump of db once per stamp, each with the
// clock set to that stamp, as the nightly runs would have.
func prunePushAt(t *testing.T, env []string, db string, stamps ...string) {
	t.Helper()
	for _, s := range stamps {
		mustRun(t, append(env, "PGARCHIVE_TEST_NOW="+s), "push", "--database", db, "--allow-stale")
	}
}

// pruneConfigWith writes a copy of the config at path with top-level keys
// put before its first table and tables appended.
func pruneConfigWith(t *testing.T, path, top, tables string) string {
	t.Helper()
	return harness.WriteFile(t, t.TempDir(), "config.toml", top+"\n"+string(harness.ReadFile(t, path))+"\n"+tables)
}

type pruneRowJSON struct {
	Target   string   `json:"target"`
	Database string   `json:"database"`
	Object   string   `json:"object"`
	Status   string   `json:"status"`
	Action   string   `json:"action"`
	Reasons  []string `json:"reasons"`
	Error    string   `json:"error"`
}

func pruneJSON(t *testing.T, r result) []pruneRowJSON {
	t.Helper()
	var doc struct {
		Schema   int            `json:"schema"`
		Archives []pruneRowJSON `json:"archives"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Schema != 1 || doc.Archives == nil {
		t.Fatalf("prune --json: schema %d, %v\n%s", doc.Schema, err, r)
	}
	return doc.Archives
}

// pruneArchives returns the stamps of the archives of db in a local
// target, and of those with a manifest.
func pruneArchives(t *testing.T, dir, db string) (objects, complete []string) {
	t.Helper()
	for name := range harness.Snapshot(t, dir) {
		base := filepath.Base(name)
		if !strings.HasPrefix(base, db+"_") {
			continue
		}
		stamp := strings.TrimPrefix(base, db+"_")[:16]
		if strings.HasSuffix(base, ".age") {
			objects = append(objects, stamp)
		} else if strings.HasSuffix(base, ".age.json") {
			complete = append(complete, stamp)
		}
	}
	slices.Sort(objects)
	slices.Sort(complete)
	return objects, complete
}

// pruneS3Stamps returns the stamps of the objects and manifests of db on S3.
func pruneS3Stamps(t *testing.T, s3 *harness.S3, db string) (objects, manifests []string) {
	t.Helper()
	for _, k := range s3.Keys(t, "databases/db1/"+db+"/") {
		base := filepath.Base(k)
		stamp := strings.TrimPrefix(base, db+"_")[:16]
		if strings.HasSuffix(k, ".json") {
			manifests = append(manifests, stamp)
		} else {
			objects = append(objects, stamp)
		}
	}
	slices.Sort(objects)
	slices.Sort(manifests)
	return objects, manifests
}

// Issue 5: 60 days of nightly archives, pushed for real to a local
// directory and to MinIO, pruned by 7 daily / 4 weekly / 6 monthly.
//
// The pushes run from 2026-01-01 (a Thursday) to 2026-03-01 (a Sunday) at
// 01:15Z, and prune runs at 2026-03-01T12:00Z. Worked out by hand:
//
//	daily 7     03-01 02-28 02-27 02-26 02-25 02-24 02-23
//	weekly 4    W09 (02-23..03-01): 03-01   W08 (02-16..02-22): 02-22
//	            W07 (02-09..02-15): 02-15   W06 (02-02..02-08): 02-08
//	monthly 6   2026-03: 03-01   2026-02: 02-28   2026-01: 01-31 (only 3 months hold archives)
//
// so 11 archives stay and 49 go.
func TestPruneGFSSixtyDays(t *testing.T) {
	pg := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	pg.CreateDB(t, "forge")
	pg.Psql(t, "forge", "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	_, recipient := keypair(t, false)
	local := t.TempDir()
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local), s3Target(t, "s3", s3))
	cfg := pruneConfigWith(t, base, "", pruneGFS)
	env := []string{"PGARCHIVE_CONFIG=" + cfg}

	start := time.Now()
	prunePushAt(t, env, "forge", pruneStamps(t, "20260101", "20260301")...)
	t.Logf("60 pushes to two targets took %v", time.Since(start).Round(time.Millisecond))

	wantKept := []string{
		"20260131T011500Z", // monthly 2026-01
		"20260208T011500Z", // weekly 2026-W06
		"20260215T011500Z", // weekly 2026-W07
		"20260222T011500Z", // weekly 2026-W08
		"20260223T011500Z", "20260224T011500Z", "20260225T011500Z", "20260226T011500Z",
		"20260227T011500Z", "20260228T011500Z", "20260301T011500Z", // daily
	}
	now := []string{"PGARCHIVE_TEST_NOW=20260301T120000Z"}

	t.Run("dry run prints the plan and deletes nothing", func(t *testing.T) {
		before := harness.Snapshot(t, local)
		s3Before := s3.Keys(t, "")
		rows := pruneJSON(t, mustRun(t, append(env, now...), "prune", "--dry-run", "--json"))
		if len(rows) != 120 {
			t.Fatalf("dry run planned %d archives, want 60 on each of 2 targets", len(rows))
		}
		for _, target := range []string{"local", "s3"} {
			var kept []string
			for _, r := range rows {
				if r.Target != target {
					continue
				}
				if r.Action != "keep" && r.Action != "delete" {
					t.Errorf("dry run action %q", r.Action)
				}
				if r.Action == "keep" {
					kept = append(kept, strings.TrimPrefix(filepath.Base(r.Object), "forge_")[:16])
				}
				if len(r.Reasons) == 0 {
					t.Errorf("%s: no reason given", r.Object)
				}
			}
			slices.Sort(kept)
			if !slices.Equal(kept, wantKept) {
				t.Errorf("%s: dry run keeps\n%q\nwant\n%q", target, kept, wantKept)
			}
		}
		text := squeeze(mustRun(t, append(env, now...), "prune", "--dry-run", "--target", "local").stdout)
		for stamp, want := range map[string]string{
			"20260301T011500Z": " complete keep daily 2026-03-01, weekly 2026-W09, monthly 2026-03, newest complete",
			"20260222T011500Z": " complete keep weekly 2026-W08",
			"20260131T011500Z": " complete keep monthly 2026-01",
			"20260221T011500Z": " complete delete not kept by policy",
		} {
			if row := tableRow(t, text, "forge local "+humanTime(t, stamp)+" "); !strings.HasSuffix(row, want) {
				t.Errorf("dry run row %q does not end in %q", row, want)
			}
		}
		// One header, every table's columns, newest first.
		if lines := tableLines(text); lines[0] != "DATABASE TARGET TIME SIZE STATUS ACTION WHY" ||
			!strings.HasPrefix(lines[1], "forge local 2026-03-01 01:15:00Z ") || lines[len(lines)-1] != "dry run: nothing was deleted" {
			t.Errorf("dry run table:\n%s", text)
		}
		if !equalSnapshots(harness.Snapshot(t, local), before) || !slices.Equal(s3.Keys(t, ""), s3Before) {
			t.Error("the dry run changed a target")
		}
	})

	t.Run("a target that cannot be listed is left alone", func(t *testing.T) {
		// Wrong S3 credentials: the listing fails (403). The local target
		// is pruned all the same; S3 keeps all 120 objects.
		badKey := harness.WriteFile(t, t.TempDir(), "s3-key", "not-the-secret-key\n")
		wrong := replaceSecretKey(t, string(harness.ReadFile(t, cfg)), badKey)
		bad := harness.WriteFile(t, t.TempDir(), "config.toml", wrong)
		r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + bad, now[0]}, "prune")
		if r.code != 1 {
			t.Fatalf("want exit 1 with a target that cannot be listed: %s", r)
		}
		last := lastLines(r.stderr, 1)
		if !strings.HasPrefix(last, "pgarchive: error: prune: list db1 on s3:") || !strings.HasSuffix(last, "nothing deleted there") {
			t.Errorf("error does not name the unlisted target:\n%s", r.stderr)
		}
		if n := len(s3.Keys(t, "databases/")); n != 120 {
			t.Errorf("S3 holds %d objects after a failed listing, want all 120", n)
		}
		objects, complete := pruneArchives(t, local, "forge")
		if !slices.Equal(objects, wantKept) || !slices.Equal(complete, wantKept) {
			t.Errorf("local target holds\n%q\n%q\nwant\n%q", objects, complete, wantKept)
		}
	})

	t.Run("prune keeps exactly the policy on both targets", func(t *testing.T) {
		r := mustRun(t, append(env, now...), "prune")
		if c := strings.Count(squeeze(r.stdout), " deleted not kept by policy"); c != 49 {
			t.Errorf("output shows %d deletions, want 49 on s3 (local was pruned already):\n%s", c, r.stdout)
		}
		objects, manifests := pruneS3Stamps(t, s3, "forge")
		if !slices.Equal(objects, wantKept) || !slices.Equal(manifests, wantKept) {
			t.Errorf("S3 holds\n%q\n%q\nwant\n%q", objects, manifests, wantKept)
		}
		objects, complete := pruneArchives(t, local, "forge")
		if !slices.Equal(objects, wantKept) || !slices.Equal(complete, wantKept) {
			t.Errorf("local target holds\n%q\n%q\nwant\n%q", objects, complete, wantKept)
		}
		rows := listJSON(t, env)
		if len(rows) != 22 {
			t.Errorf("list shows %d archives, want 11 on each target", len(rows))
		}
	})

	t.Run("a week without pushes prunes nothing", func(t *testing.T) {
		before := harness.Snapshot(t, local)
		r := mustRun(t, append(env, "PGARCHIVE_TEST_NOW=20260308T120000Z"), "prune")
		if strings.Contains(r.stdout, " deleted ") {
			t.Errorf("prune deleted after a week of failed pushes:\n%s", r.stdout)
		}
		if !equalSnapshots(harness.Snapshot(t, local), before) {
			t.Error("local target changed")
		}
		if objects, _ := pruneS3Stamps(t, s3, "forge"); !slices.Equal(objects, wantKept) {
			t.Errorf("S3 holds %q", objects)
		}
	})

	t.Run("an incomplete archive goes only after the grace period", func(t *testing.T) {
		localOnly := pruneConfigWith(t, configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local)), "", pruneGFS)
		lenv := []string{"PGARCHIVE_CONFIG=" + localOnly}
		prunePushAt(t, lenv, "forge", "20260308T110000Z")
		manifest := filepath.Join(local, "db1/forge/forge_20260308T110000Z.sql.gz.age.json")
		if err := os.Remove(manifest); err != nil {
			t.Fatal(err)
		}
		// An hour old: an upload that may still be running.
		r := mustRun(t, append(lenv, "PGARCHIVE_TEST_NOW=20260308T120000Z"), "prune")
		if row := tableRow(t, r.stdout, "forge local 2026-03-08 11:00:00Z "); !strings.HasSuffix(row, " incomplete keep incomplete, within grace") {
			t.Errorf("young incomplete archive:\n%s", r.stdout)
		}
		objects, _ := pruneArchives(t, local, "forge")
		if !slices.Contains(objects, "20260308T110000Z") || len(objects) != 12 {
			t.Fatalf("local holds %q", objects)
		}
		// 23 hours later, still within the 24h grace.
		mustRun(t, append(lenv, "PGARCHIVE_TEST_NOW=20260309T100000Z"), "prune")
		if objects, _ := pruneArchives(t, local, "forge"); len(objects) != 12 {
			t.Fatalf("removed before the grace period ended: %q", objects)
		}
		// Past the grace period: removed, and nothing else.
		r = mustRun(t, append(lenv, "PGARCHIVE_TEST_NOW=20260309T110001Z"), "prune")
		if row := tableRow(t, r.stdout, "forge local 2026-03-08 11:00:00Z "); !strings.HasSuffix(row, " incomplete deleted incomplete, older than grace") {
			t.Errorf("old incomplete archive:\n%s", r.stdout)
		}
		objects, complete := pruneArchives(t, local, "forge")
		if !slices.Equal(objects, wantKept) || !slices.Equal(complete, wantKept) {
			t.Errorf("local holds\n%q\n%q\nwant\n%q", objects, complete, wantKept)
		}
	})
}

// squeeze collapses the runs of spaces tabwriter puts between columns.
func squeeze(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// replaceSecretKey points the config's secret_access_key at path.
func replaceSecretKey(t *testing.T, cfg, path string) string {
	t.Helper()
	i := strings.Index(cfg, "secret_access_key = ")
	if i < 0 {
		t.Fatalf("no secret_access_key in config:\n%s", cfg)
	}
	end := strings.Index(cfg[i:], " }")
	return cfg[:i] + "secret_access_key = " + toml(path) + cfg[i+end:]
}

// Issue 5: prune_on_host = false refuses (exit 2) but still allows
// --dry-run; a config without a policy is refused too.
func TestPruneRefusals(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Psql(t, "forge", "CREATE TABLE t (x int)")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	_, recipient := keypair(t, false)
	local := t.TempDir()
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local))
	prunePushAt(t, []string{"PGARCHIVE_CONFIG=" + base}, "forge", pruneStamps(t, "20260101", "20260110")...)
	now := "PGARCHIVE_TEST_NOW=20260110T120000Z"
	before := harness.Snapshot(t, local)

	appendOnly := pruneConfigWith(t, base, "prune_on_host = false", "[retention]\nkeep_last = 2\n")
	r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + appendOnly, now}, "prune")
	if r.code != 2 || !strings.Contains(r.stderr, "prune_on_host = false") || !strings.Contains(r.stderr, "prune runs elsewhere") {
		t.Errorf("prune_on_host = false: %s", r)
	}
	dry := mustRun(t, []string{"PGARCHIVE_CONFIG=" + appendOnly, now}, "prune", "--dry-run")
	if out := squeeze(dry.stdout); strings.Count(out, " complete delete ") != 8 || strings.Count(out, " complete keep ") != 2 {
		t.Errorf("dry run with prune_on_host = false:\n%s", dry.stdout)
	}

	r = pgarchive(t, []string{"PGARCHIVE_CONFIG=" + base, now}, "prune")
	if r.code != 2 || !strings.Contains(r.stderr, "config: retention: no retention policy") {
		t.Errorf("prune without a policy: %s", r)
	}
	withPolicy := pruneConfigWith(t, base, "", "[retention]\nkeep_last = 2\n")
	for _, args := range [][]string{
		{"prune", "--target", "nosuch"},
		{"prune", "--database", "../x"},
	} {
		if r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + withPolicy, now}, args...); r.code != 2 {
			t.Errorf("%v: %s", args, r)
		}
	}
	if !equalSnapshots(harness.Snapshot(t, local), before) {
		t.Error("a refused prune changed the target")
	}

	// The same config with prune allowed deletes, and never the newest
	// complete archive, even with its manifest the last one standing.
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + withPolicy, now}, "prune")
	objects, complete := pruneArchives(t, local, "forge")
	if want := []string{"20260109T011500Z", "20260110T011500Z"}; !slices.Equal(objects, want) || !slices.Equal(complete, want) {
		t.Errorf("keep_last = 2 left %q %q", objects, complete)
	}
}
