package tests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// drillEnv runs pgarchive with the PostgreSQL tools in PATH but without
// pg.Env()'s PGHOST, PGPORT and PGUSER: the drill must reach the server
// through [drill] connection.
func drillEnv(pg *harness.Postgres, cfg string, extra ...string) []string {
	env := []string{"PATH=" + pg.BinDir + string(os.PathListSeparator) + os.Getenv("PATH"), "PGARCHIVE_CONFIG=" + cfg}
	return append(env, extra...)
}

// drillConfig adds a [drill] table to the config at base: the server as a
// libpq keyword string, a state directory, and the lines in extra.
func drillConfig(t *testing.T, base string, pg *harness.Postgres, stateDir string, extra ...string) string {
	t.Helper()
	conn := fmt.Sprintf("host=%s port=%d user=%s", pg.SocketDir, pg.Port, pg.User)
	table := "[drill]\nconnection = " + toml(conn) + "\nstate_dir = " + toml(stateDir) + "\n" + strings.Join(extra, "\n") + "\n"
	return pruneConfigWith(t, base, "", table)
}

// drillScratchDatabases lists the scratch databases on the server.
func drillScratchDatabases(t *testing.T, pg *harness.Postgres) string {
	t.Helper()
	return pg.Psql(t, "postgres", `SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'pgarchive\_drill\_%'`)
}

type drillReportJSON struct {
	Database        string  `json:"database"`
	Target          string  `json:"target"`
	Object          string  `json:"object"`
	Size            int64   `json:"size"`
	DurationSeconds float64 `json:"duration_seconds"`
	OK              bool    `json:"ok"`
	Tables          []struct {
		Name string `json:"name"`
		Rows int64  `json:"rows"`
	} `json:"tables"`
	QueriesPassed int      `json:"queries_passed"`
	Problems      []string `json:"problems"`
}

func drillJSON(t *testing.T, r result) []drillReportJSON {
	t.Helper()
	var doc struct {
		Schema int               `json:"schema"`
		Drills []drillReportJSON `json:"drills"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Schema != 1 || doc.Drills == nil {
		t.Fatalf("drill --json: schema %d, %v\n%s", doc.Schema, err, r)
	}
	return doc.Drills
}

// drillRecord reads the drill record of db.
func drillRecord(t *testing.T, stateDir, db string) (raw []byte, tables map[string]int64, archive string) {
	t.Helper()
	raw = harness.ReadFile(t, filepath.Join(stateDir, "drill", "db1", db+".json"))
	var rec struct {
		Archive string           `json:"archive"`
		Tables  map[string]int64 `json:"tables"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	return raw, rec.Tables, rec.Archive
}

// Issue 5: a good archive passes a drill and leaves no scratch database (a
// leftover from a killed drill included); a corrupted one fails cleanly:
// exit 1, no scratch database, the last record kept.
func TestDrillGoodAndCorrupt(t *testing.T) {
	pg := harness.StartPostgres(t)
	for _, db := range []string{"forge", "ledger"} {
		pg.CreateDB(t, db)
		pg.Seed(t, db)
	}
	source := pg.Fingerprint(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	pg.Dump(t, "ledger", dumpDir, "custom-gzip")
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	stateDir := filepath.Join(t.TempDir(), "state")
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local))
	cfg := drillConfig(t, base, pg, stateDir, "identity_file = "+toml(identity))
	env := drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260301T120000Z")
	for _, db := range []string{"forge", "ledger"} {
		mustRun(t, append(pg.Env(), "PGARCHIVE_CONFIG="+base, "PGARCHIVE_TEST_NOW=20260301T011500Z"), "push", "--database", db, "--allow-stale")
	}

	// A scratch database left by a drill that was killed.
	pg.CreateDB(t, "pgarchive_drill_forge")
	pg.Psql(t, "pgarchive_drill_forge", "CREATE TABLE leftover (x int)")

	r := mustRun(t, env, "drill")
	for _, want := range []string{
		"drill of forge: passed",
		"drill of ledger: passed",
		"target    local\n  time      2026-03-01 01:15:00Z (10 hours ago)\n  archive   db1/forge/forge_20260301T011500Z.sql.gz.age\n",
		"tables    3 restored",
		"shop.orders                              5000 rows",
		"shop.customers                           2000 rows",
		"queries   0 passed",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	// Then one table of both drills, in the columns of every table.
	if tail := tableLines(r.stdout); len(tail) < 3 || tail[len(tail)-3] != "DATABASE TARGET TIME AGE SIZE TABLES DURATION RESULT" ||
		!strings.HasPrefix(tail[len(tail)-2], "forge local 2026-03-01 01:15:00Z 10 hours ago ") || !strings.HasSuffix(tail[len(tail)-2], " passed") ||
		!strings.HasPrefix(tail[len(tail)-1], "ledger local 2026-03-01 01:15:00Z 10 hours ago ") {
		t.Errorf("drill table:\n%s", r.stdout)
	}
	if s := drillScratchDatabases(t, pg); s != "" {
		t.Errorf("scratch databases left: %s", s)
	}
	if got := pg.Fingerprint(t, "forge"); got != source {
		t.Error("the drill changed the source database")
	}
	_, tables, archive := drillRecord(t, stateDir, "forge")
	if tables["shop.orders"] != 5000 || tables["shop.customers"] != 2000 || tables["shop.events"] != 1000 || len(tables) != 3 ||
		archive != "db1/forge/forge_20260301T011500Z.sql.gz.age" {
		t.Errorf("drill record: %v %s", tables, archive)
	}

	reps := drillJSON(t, mustRun(t, env, "drill", "--database", "ledger", "--json", "--identity", identity))
	if len(reps) != 1 || !reps[0].OK || len(reps[0].Tables) != 3 || reps[0].Size == 0 || reps[0].DurationSeconds <= 0 || reps[0].Target != "local" {
		t.Errorf("drill --json: %+v", reps)
	}

	// Flip one byte in the middle of forge's archive.
	before, _, _ := drillRecord(t, stateDir, "forge")
	object := filepath.Join(local, "db1/forge/forge_20260301T011500Z.sql.gz.age")
	data := harness.ReadFile(t, object)
	data[len(data)/2] ^= 0x40
	os.WriteFile(object, data, 0o644)
	r = pgarchive(t, env, "drill", "--database", "forge")
	if r.code != 1 {
		t.Fatalf("drill of a corrupted archive: want exit 1: %s", r)
	}
	last := lastLines(r.stderr, 1)
	if !strings.HasPrefix(last, "pgarchive: error: drill: drill of db1/forge/forge_20260301T011500Z.sql.gz.age from local failed: restore: ") ||
		!strings.Contains(last, "failed to decrypt and authenticate payload chunk") {
		t.Errorf("error line: %s", last)
	}
	if !strings.Contains(r.stdout, "drill of forge: FAILED") {
		t.Errorf("report:\n%s", r.stdout)
	}
	if s := drillScratchDatabases(t, pg); s != "" {
		t.Errorf("a failed drill left scratch databases: %s", s)
	}
	if after, _, _ := drillRecord(t, stateDir, "forge"); string(after) != string(before) {
		t.Error("a failed drill changed the record")
	}

	// No key anywhere: usage error.
	if r := pgarchive(t, drillEnv(pg, drillConfig(t, base, pg, stateDir)), "drill"); r.code != 2 || !strings.Contains(r.stderr, "--identity") {
		t.Errorf("drill without a key: %s", r)
	}
}

// Issue 5: --age 30 drills the newest complete archive at least 30 days
// old, whatever is newer or incomplete.
func TestDrillAge(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "zstd")
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	base := configFile(t, dumpDir, "zstd", ageRecipients(recipient), localTarget("local", local))
	push := []string{"PGARCHIVE_CONFIG=" + base}
	// now is 2026-03-01T12:00Z, so 30 days ago is 2026-01-30T12:00Z.
	prunePushAt(t, push, "forge", "20260101T011500Z", "20260130T011500Z", "20260130T060000Z", "20260131T011500Z", "20260301T011500Z")
	// 01-30 06:00 is incomplete: not a candidate.
	os.Remove(filepath.Join(local, "db1/forge/forge_20260130T060000Z.sql.zstd.age.json"))

	// The server as a URI this time, its socket directory percent-encoded.
	conn := fmt.Sprintf("postgresql://%s@%s:%d", pg.User, url.PathEscape(pg.SocketDir), pg.Port)
	cfg := pruneConfigWith(t, base, "", "[drill]\nconnection = "+toml(conn)+"\nstate_dir = "+toml(t.TempDir())+"\n")
	env := drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260301T120000Z")

	reps := drillJSON(t, mustRun(t, env, "drill", "--identity", identity, "--age", "30", "--target", "local", "--json"))
	if len(reps) != 1 || reps[0].Object != "db1/forge/forge_20260130T011500Z.sql.zstd.age" || !reps[0].OK {
		t.Errorf("--age 30 drilled %+v, want forge_20260130T011500Z", reps)
	}
	// A pg_dumpall archive ("all") cannot go into one scratch database:
	// skipped when drilling everything, refused when asked for.
	pg.DumpAll(t, dumpDir, "zstd")
	mustRun(t, append(push, "PGARCHIVE_TEST_NOW=20260301T011500Z"), "push", "--database", "all", "--allow-stale")
	r := mustRun(t, env, "drill", "--identity", identity, "--json")
	reps = drillJSON(t, r)
	if len(reps) != 1 || reps[0].Object != "db1/forge/forge_20260301T011500Z.sql.zstd.age" {
		t.Errorf("--age 0 drilled %+v, want the newest of forge alone", reps)
	}
	if !strings.Contains(r.stderr, `skipping the pg_dumpall archives of "all"`) {
		t.Errorf("no word of skipping \"all\": %s", r)
	}
	r = pgarchive(t, env, "drill", "--identity", identity, "--database", "all")
	if r.code != 1 || !strings.Contains(lastLines(r.stderr, 1), "a pg_dumpall archive recreates every database") {
		t.Errorf("drill --database all: %s", r)
	}
	r = pgarchive(t, env, "drill", "--identity", identity, "--age", "100")
	if r.code != 1 || !strings.Contains(lastLines(r.stderr, 1), `no complete archive at least 100 days old of database "forge"`) {
		t.Errorf("--age 100: %s", r)
	}
	if r := pgarchive(t, env, "drill", "--identity", identity, "--age", "-1"); r.code != 2 {
		t.Errorf("--age -1: %s", r)
	}
	if s := drillScratchDatabases(t, pg); s != "" {
		t.Errorf("scratch databases left: %s", s)
	}
}

// Issue 5: a table whose rows dropped to zero since the previous drill
// fails the drill, and so does a [drill] queries entry that does not
// return true; neither leaves a scratch database.
func TestDrillRowCountsAndQueries(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local))
	push := append(pg.Env(), "PGARCHIVE_CONFIG="+base)
	mustRun(t, append(push, "PGARCHIVE_TEST_NOW=20260301T011500Z"), "push", "--database", "forge", "--allow-stale")
	stateDir := t.TempDir()
	cfg := drillConfig(t, base, pg, stateDir)
	env := drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260301T120000Z")
	mustRun(t, env, "drill", "--identity", identity)
	before, _, _ := drillRecord(t, stateDir, "forge")

	// The next night, shop.events is empty.
	pg.Psql(t, "forge", "DELETE FROM shop.events")
	pg.Dump(t, "forge", dumpDir, "gzip")
	mustRun(t, append(push, "PGARCHIVE_TEST_NOW=20260302T011500Z"), "push", "--database", "forge", "--allow-stale")
	r := pgarchive(t, drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260302T120000Z"), "drill", "--identity", identity)
	if r.code != 1 {
		t.Fatalf("want exit 1 when a table dropped to zero rows: %s", r)
	}
	want := "table shop.events has 0 rows, 1000 at the drill of db1/forge/forge_20260301T011500Z.sql.gz.age"
	if !strings.Contains(lastLines(r.stderr, 1), want) || !strings.Contains(r.stdout, "problem   "+want) {
		t.Errorf("want %q in the error and the report: %s", want, r)
	}
	if s := drillScratchDatabases(t, pg); s != "" {
		t.Errorf("scratch databases left: %s", s)
	}
	if after, _, _ := drillRecord(t, stateDir, "forge"); string(after) != string(before) {
		t.Error("the failed drill replaced the record it failed against")
	}

	// Queries: one true, one false, one that errs. A fresh state directory,
	// so only the queries judge.
	queries := `queries = ["SELECT count(*) = 2000 FROM shop.customers", "SELECT count(*) > 1000000 FROM shop.orders", "SELECT true FROM nosuch"]`
	qcfg := drillConfig(t, base, pg, t.TempDir(), queries)
	r = pgarchive(t, drillEnv(pg, qcfg, "PGARCHIVE_TEST_NOW=20260302T120000Z"), "drill", "--identity", identity)
	if r.code != 1 {
		t.Fatalf("want exit 1 when a query is not true: %s", r)
	}
	last := lastLines(r.stderr, 1)
	for _, want := range []string{
		`query "SELECT count(*) > 1000000 FROM shop.orders": returned "f", want true`,
		`query "SELECT true FROM nosuch": psql: ERROR:  relation "nosuch" does not exist`,
	} {
		if !strings.Contains(last, want) {
			t.Errorf("error line lacks %q:\n%s", want, last)
		}
	}
	if strings.Contains(last, "shop.customers") || !strings.Contains(r.stdout, "queries   1 passed") {
		t.Errorf("the true query failed: %s", r)
	}
	if s := drillScratchDatabases(t, pg); s != "" {
		t.Errorf("scratch databases left: %s", s)
	}
	okcfg := drillConfig(t, base, pg, t.TempDir(), `queries = ["SELECT count(*) = 2000 FROM shop.customers"]`)
	if r := mustRun(t, drillEnv(pg, okcfg, "PGARCHIVE_TEST_NOW=20260302T120000Z"), "drill", "--identity", identity); !strings.Contains(r.stdout, "queries   1 passed") {
		t.Errorf("passing query:\n%s", r.stdout)
	}
}
