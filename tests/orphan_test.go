package tests

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// orphanListRow is a row of list --json with the fields of its status.
type orphanListRow struct {
	Target string `json:"target"`
	Object string `json:"object"`
	Status string `json:"status"`
}

// Issue 8, item 6: verify that matches nothing has checked nothing, and
// says so with exit 1 and one line, naming what is there instead.
func TestVerifyNothingMatched(t *testing.T) {
	s3 := harness.StartMinIO(t)
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 20_000)
	_, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), s3Target(t, "s3", s3))
	env := []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=20260301T011500Z"}

	// Nothing pushed yet: the targets are empty.
	r := pgarchive(t, env, "verify")
	if line := errorLine(t, r); r.code != 1 || line != `pgarchive: error: verify: no archives of host "db1" on any target (the targets hold no archives at all)` {
		t.Errorf("verify of empty targets: exit %d, %q", r.code, line)
	}

	mustRun(t, env, "push", "--database", "forge", "--allow-stale")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--host", "nosuchhost"}, `no archives of host "nosuchhost" on any target (targets hold hosts: db1)`},
		{[]string{"--host", "nosuchhost", "--target", "s3"}, `no archives of host "nosuchhost" on target "s3" (targets hold hosts: db1)`},
		{[]string{"--database", "forgee"}, `no archives of database "forgee" of host "db1" on any target (host "db1" has databases: forge)`},
	} {
		r := pgarchive(t, env, append([]string{"verify"}, tt.args...)...)
		if line := errorLine(t, r); r.code != 1 || line != "pgarchive: error: verify: "+tt.want || r.stdout != "" {
			t.Errorf("verify %s: exit %d, %q, stdout %q", strings.Join(tt.args, " "), r.code, line, r.stdout)
		}
	}
	// list and status say the same of a host with nothing there.
	const nothing = `no archives of host "nosuchhost" on any target (targets hold hosts: db1)`
	if r := mustRun(t, env, "list", "--host", "nosuchhost"); !strings.Contains(r.stderr, nothing) || tableLines(r.stdout)[0] != "DATABASE TARGET TIME SIZE STATUS" || len(tableLines(r.stdout)) != 1 {
		t.Errorf("list --host nosuchhost: %s", r)
	}
	if r := pgarchive(t, env, "status", "--host", "nosuchhost"); r.code != 1 || errorLine(t, r) != "pgarchive: error: status: 1 warning: "+nothing {
		t.Errorf("status --host nosuchhost: %s", r)
	}
	if rows := verifyJSON(t, pgarchive(t, env, "verify", "--host", "nosuchhost", "--json")); len(rows) != 0 {
		t.Errorf("verify --json of nothing: %+v", rows)
	}
	if r := mustRun(t, env, "verify"); !strings.Contains(r.stdout, "verified 2 archives, 0 bad") {
		t.Errorf("verify of what is there: %s", r)
	}
}

// Issue 8, item 6: an object deleted under its manifest is shown by list
// (text and --json), makes verify exit 1 naming it and status warn; restore,
// drill and prune pass it over and prune deletes no good archive's manifest.
func TestObjectDeletedUnderManifest(t *testing.T) {
	pg := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), s3Target(t, "s3", s3))
	prunePushAt(t, append(pg.Env(), "PGARCHIVE_CONFIG="+base), "forge", "20260301T011500Z", "20260302T011500Z", "20260303T011500Z")

	const gone = "db1/forge/forge_20260303T011500Z.sql.gz.age"
	if _, err := s3.Client().DeleteObject(context.Background(), &s3api.DeleteObjectInput{
		Bucket: aws.String(s3.Bucket), Key: aws.String("databases/" + gone),
	}); err != nil {
		t.Fatal(err)
	}
	env := []string{"PGARCHIVE_CONFIG=" + base, "PGARCHIVE_TEST_NOW=20260303T021500Z"}

	// list, text: its own status; exit 0 (list shows, it does not judge).
	r := mustRun(t, env, "list")
	if row := tableRow(t, r.stdout, "forge s3 2026-03-03 01:15:00Z"); row != "forge s3 2026-03-03 01:15:00Z - missing: manifest without object" {
		t.Errorf("list row %q:\n%s", row, r.stdout)
	}
	if strings.Count(r.stdout, " complete\n") != 5 {
		t.Errorf("list: want 5 complete rows:\n%s", r.stdout)
	}

	// list --json: a field of its own.
	var doc struct {
		Archives []orphanListRow `json:"archives"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "list", "--json").stdout), &doc); err != nil {
		t.Fatal(err)
	}
	rows := doc.Archives
	var missing []orphanListRow
	for _, r := range rows {
		if r.Status != "complete" {
			missing = append(missing, r)
		}
	}
	if len(rows) != 6 || len(missing) != 1 || missing[0] != (orphanListRow{Target: "s3", Object: gone, Status: "missing"}) {
		t.Errorf("list --json: %+v", rows)
	}

	// verify: bad, named, exit 1; with --sample too, since it costs nothing.
	const bad = "manifest without object: the object is gone, nothing to restore"
	r = pgarchive(t, env, "verify")
	if line := errorLine(t, r); r.code != 1 || line != "pgarchive: error: verify: 1 of 6 archives bad: "+gone+" on s3" {
		t.Errorf("verify: exit %d, %q", r.code, line)
	}
	if row := tableRow(t, r.stdout, "forge s3 2026-03-03 01:15:00Z"); row != "forge s3 2026-03-03 01:15:00Z - listing BAD: "+bad || !strings.Contains(r.stdout, "verified 6 archives, 1 bad") {
		t.Errorf("verify, stdout:\n%s", r.stdout)
	}
	r = pgarchive(t, env, "verify", "--sample", "1", "--json")
	vrows := verifyJSON(t, r)
	if r.code != 1 || !slices.ContainsFunc(vrows, func(v verifyRowJSON) bool {
		return v.Object == gone && v.Target == "s3" && v.Status == "missing" && !v.OK && v.Error == bad
	}) {
		t.Errorf("verify --sample 1 --json: %s", r)
	}

	// status: a warning of its own (and s3 now lags local).
	rep, r := statusJSON(t, env)
	want := []string{
		"forge on s3: lags local: newest is 2026-03-02 01:15:00Z, local has 2026-03-03 01:15:00Z",
		"forge on s3: archive 2026-03-03 01:15:00Z: manifest without object (forge_20260303T011500Z.sql.gz.age is gone)",
	}
	if r.code != 1 || !slices.Equal(rep.Warnings, want) {
		t.Errorf("status: exit %d, warnings %q, want %q", r.code, rep.Warnings, want)
	}
	r = pgarchive(t, env, "status")
	if line := errorLine(t, r); r.code != 1 || line != "pgarchive: error: status: 2 warnings: "+strings.Join(want, "; ") {
		t.Errorf("status, text: exit %d, %q", r.code, line)
	}

	// restore from s3: the newest archive still there; by name, one line.
	out := filepath.Join(t.TempDir(), "forge.sql.gz")
	r = mustRun(t, env, "restore", "--database", "forge", "--target", "s3", "--identity", identity, "--output", out)
	if !strings.Contains(r.stderr, "forge_20260302T011500Z") {
		t.Errorf("restore from s3 did not take 20260302T011500Z: %s", r)
	}
	r = pgarchive(t, env, "restore", "--database", "forge", "--target", "s3", "--at", "20260303T011500Z", "--identity", identity, "--output", out+"2")
	if line := errorLine(t, r); r.code != 1 || line != `pgarchive: error: no complete archive at 20260303T011500Z of database "forge" from host "db1" on any target: on s3 only its manifest is left, the object is gone` {
		t.Errorf("restore --at the missing one: exit %d, %q", r.code, line)
	}

	// drill on s3: the newest archive still there.
	cfg := drillConfig(t, base, pg, filepath.Join(t.TempDir(), "state"), "identity_file = "+toml(identity))
	reps := drillJSON(t, mustRun(t, drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260303T021500Z"), "drill", "--target", "s3", "--json"))
	if len(reps) != 1 || reps[0].Object != "db1/forge/forge_20260302T011500Z.sql.gz.age" || !reps[0].OK {
		t.Errorf("drill on s3 took %+v", reps)
	}

	// prune keep_last = 1 on s3: keeps 03-02 (the newest there), deletes
	// 03-01, and leaves the lone manifest alone.
	pcfg := pruneConfigWith(t, base, "", "[retention]\nkeep_last = 1\n")
	prows := pruneJSON(t, mustRun(t, []string{"PGARCHIVE_CONFIG=" + pcfg, "PGARCHIVE_TEST_NOW=20260303T021500Z"}, "prune", "--target", "s3", "--json"))
	var actions []string
	for _, p := range prows {
		actions = append(actions, filepath.Base(p.Object)+" "+p.Action)
	}
	if !slices.Equal(actions, []string{"forge_20260302T011500Z.sql.gz.age keep", "forge_20260301T011500Z.sql.gz.age deleted"}) {
		t.Errorf("prune: %q", actions)
	}
	objects, manifests := pruneS3Stamps(t, s3, "forge")
	if !slices.Equal(objects, []string{"20260302T011500Z"}) || !slices.Equal(manifests, []string{"20260302T011500Z", "20260303T011500Z"}) {
		t.Errorf("left on s3: objects %q, manifests %q", objects, manifests)
	}
}
