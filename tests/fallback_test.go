package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// A damaged copy found mid-restore into a database: the plain dump's
// transaction rolls back, the custom dump's half-restored database is
// replaced, and the next target's copy restores whole in both cases.
func TestRestoreIntoFallsBackFromDamagedCopy(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	pg.Psql(t, "postgres", `COMMENT ON DATABASE forge IS 'the forge'; ALTER DATABASE forge SET work_mem = '8MB'`)
	want := pg.Fingerprint(t, "forge")
	identity, recipient := keypair(t, false)
	for _, kind := range []string{"gzip", "custom-gzip"} {
		t.Run(kind, func(t *testing.T) {
			dumpDir := t.TempDir()
			pg.Dump(t, "forge", dumpDir, kind)
			a, b := t.TempDir(), t.TempDir()
			cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("a", a), localTarget("b", b))
			env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg)
			mustRun(t, env, "push", "--database", "forge")
			rows := listJSON(t, env)
			obj := filepath.Join(a, rows[0].Object)
			data := harness.ReadFile(t, obj)
			data[len(data)*3/4] ^= 0x01 // late: after some rows went in
			if err := os.WriteFile(obj, data, 0o600); err != nil {
				t.Fatal(err)
			}
			into := "forge_" + strings.ReplaceAll(kind, "-", "_")
			r := mustRun(t, env, "restore", "--database", "forge", "--identity", identity, "--into", into)
			if !strings.Contains(r.stderr, "the copy on a failed its check") || !strings.Contains(r.stderr, "trying the copy on b") {
				t.Errorf("the fallback is not said: %s", r)
			}
			expectEqual(t, into, pg.Fingerprint(t, into), want)
			// The database's own comment and settings come along, from
			// the good copy: for a custom dump read as it streams.
			expectEqual(t, into+" comment and settings", pg.Psql(t, "postgres", fmt.Sprintf(
				`SELECT shobj_description(d.oid, 'pg_database'), s.setconfig FROM pg_database d JOIN pg_db_role_setting s ON s.setdatabase = d.oid WHERE d.datname = '%s'`, into)),
				"the forge|{work_mem=8MB}")
		})
	}
}

// Regression: psql's complaint was printed by psql and again in
// pgarchive's error line.
func TestRestoreToolErrorPrintedOnce(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("a", t.TempDir()), localTarget("b", t.TempDir()))
	env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg)
	mustRun(t, env, "push", "--database", "forge")
	pg.CreateDB(t, "readonly")
	pg.Psql(t, "postgres", `ALTER DATABASE readonly SET default_transaction_read_only = on`)
	r := pgarchive(t, env, "restore", "--database", "forge", "--identity", identity, "--into", "readonly")
	if r.code != 1 || strings.Count(r.stderr, "read-only transaction") != 1 {
		t.Errorf("want psql's complaint exactly once: %s", r)
	}
	// The copy is good: no hint to try another target, no fallback.
	if strings.Contains(r.stderr, "--target") || strings.Contains(r.stderr, "trying the copy") {
		t.Errorf("a database failure blamed on the copy: %s", r)
	}
}
