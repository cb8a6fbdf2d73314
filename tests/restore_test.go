package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 2, test 2: every dump kind services.postgresqlBackup can make
// restores into a database of another name; row counts and checksums match
// the source, and the source (named inside -C dumps) is left alone.
func TestRestoreIntoNewDatabase(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	source := pg.Fingerprint(t, "forge")
	identity, recipient := keypair(t, false)

	cases := []struct{ kind, compression string }{
		{"gzip", "gzip"},
		{"zstd", "zstd"},
		{"none", "none"},
		{"custom-gzip", "gzip"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			dumpDir := t.TempDir()
			pg.Dump(t, "forge", dumpDir, tc.kind)
			cfg := configFile(t, dumpDir, tc.compression, ageRecipients(recipient), localTarget("local", t.TempDir()))
			env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg)
			mustRun(t, env, "push", "--database", "forge")

			// A marker written to the source after the dump must survive
			// the restore: the dump's CREATE DATABASE/\connect forge must
			// not reach the original.
			marker := strings.ReplaceAll("marker_"+tc.kind, "-", "_")
			pg.Psql(t, "forge", fmt.Sprintf("CREATE TABLE %s (x int)", marker))
			defer pg.Psql(t, "forge", "DROP TABLE "+marker)

			into := "scratch_" + strings.ReplaceAll(tc.kind, "-", "_")
			args := []string{"restore", "--database", "forge", "--identity", identity, "--into", into}
			if tc.kind == "custom-gzip" {
				args = append(args, "--jobs", "2")
			}
			mustRun(t, env, args...)
			if got := pg.Fingerprint(t, into); got != source {
				t.Errorf("restored %s differs from the source:\n got %s\nwant %s", into, got, source)
			}
			if n := pg.Psql(t, "forge", fmt.Sprintf("SELECT count(*) FROM pg_tables WHERE tablename = '%s'", marker)); strings.TrimSpace(n) != "1" {
				t.Errorf("the source database was changed by the restore")
			}

			// Restoring again refuses a non-empty database, --clean replaces it.
			r := pgarchive(t, env, args...)
			if r.code != 1 || !strings.Contains(r.stderr, "--clean") {
				t.Errorf("second restore without --clean: %s", r)
			}
			mustRun(t, env, append(args, "--clean")...)
			if got := pg.Fingerprint(t, into); got != source {
				t.Errorf("after --clean, %s differs from the source", into)
			}
		})
	}
}

// Issue 2, test 5: post-quantum recipients and passphrase mode round-trip
// through push and restore; a mix of PQ and X25519 recipients is refused
// before anything is written.
func TestEncryptionModes(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "archive")
	pg.Seed(t, "archive")
	source := pg.Fingerprint(t, "archive")
	dumpDir := t.TempDir()
	pg.Dump(t, "archive", dumpDir, "gzip")
	pqIdentity, pqRecipient := keypair(t, true)
	_, xRecipient := keypair(t, false)
	pass := harness.WriteFile(t, t.TempDir(), "pass", "correct horse battery staple\n")

	t.Run("post-quantum", func(t *testing.T) {
		local := t.TempDir()
		cfg := configFile(t, dumpDir, "gzip", ageRecipients(pqRecipient), localTarget("local", local))
		env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg)
		mustRun(t, env, "push", "--database", "archive")
		mustRun(t, env, "restore", "--database", "archive", "--identity", pqIdentity, "--into", "from_pq")
		if got := pg.Fingerprint(t, "from_pq"); got != source {
			t.Error("post-quantum round trip changed the data")
		}
	})
	t.Run("passphrase", func(t *testing.T) {
		cfg := configFile(t, dumpDir, "gzip", "passphrase_file = "+toml(pass), localTarget("local", t.TempDir()))
		env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg, "PGARCHIVE_TEST_SCRYPT_WORK_FACTOR=10")
		mustRun(t, env, "push", "--database", "archive")
		mustRun(t, env, "restore", "--database", "archive", "--passphrase-file", pass, "--into", "from_pass")
		if got := pg.Fingerprint(t, "from_pass"); got != source {
			t.Error("passphrase round trip changed the data")
		}
		wrong := harness.WriteFile(t, t.TempDir(), "wrong", "not it\n")
		r := pgarchive(t, env, "restore", "--database", "archive", "--passphrase-file", wrong, "--output", "-")
		if r.code != 1 || !strings.Contains(r.stderr, "passphrase") && !strings.Contains(r.stderr, "no identity matches") {
			t.Errorf("wrong passphrase: %s", r)
		}
	})
	t.Run("mixed recipients refused", func(t *testing.T) {
		local := t.TempDir()
		cfg := configFile(t, dumpDir, "gzip", ageRecipients(xRecipient, pqRecipient), localTarget("local", local))
		env := []string{"PGARCHIVE_CONFIG=" + cfg}
		for _, cmd := range [][]string{{"check-config"}, {"push", "--database", "archive"}} {
			r := pgarchive(t, env, cmd...)
			if r.code == 0 || !strings.Contains(r.stderr, "mixes post-quantum") {
				t.Errorf("%v with mixed recipients: %s", cmd, r)
			}
		}
		if files := harness.Snapshot(t, local); len(files) != 0 {
			t.Errorf("refused push wrote %v", keys(files))
		}
	})
}

// Regression: psql's own exit status (3 for a failed script) became
// pgarchive's, and its stderr lines made the error span several lines.
func TestRestoreToolFailureIsOneLineExit1(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()))
	env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg)
	mustRun(t, env, "push", "--database", "forge")

	// An empty database where every write fails: psql exits 3.
	pg.CreateDB(t, "readonly")
	pg.Psql(t, "postgres", `ALTER DATABASE readonly SET default_transaction_read_only = on`)
	r := pgarchive(t, env, "restore", "--database", "forge", "--identity", identity, "--into", "readonly")
	if r.code != 1 {
		t.Errorf("exit %d, want 1: %s", r.code, r)
	}
	errLines := grepLines(r.stderr, "pgarchive: error: ")
	if len(errLines) != 1 || !strings.Contains(errLines[0], "psql") || !strings.Contains(errLines[0], "read-only") {
		t.Errorf("want one error line naming psql and its complaint: %s", r)
	}
	if last := lastLines(r.stderr, 1); !strings.HasPrefix(last, "pgarchive: error: ") {
		t.Errorf("the error is not the last line (a multi-line error?):\n%s", r.stderr)
	}
}

// A damaged copy on the first target is named, passed over, and the next
// target's copy restored; with --target pinned to the damaged copy the
// restore fails, and the hint points at the other copies only then.
func TestRestoreFallsBackFromDamagedCopy(t *testing.T) {
	dumpDir := t.TempDir()
	dump := harness.FakeDump(t, dumpDir, "forge", 200_000)
	identity, recipient := keypair(t, false)
	a, b := t.TempDir(), t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("a", a), localTarget("b", b))
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	mustRun(t, env, "push", "--database", "forge")
	rows := listJSON(t, env)
	obj := filepath.Join(a, rows[0].Object)
	data := harness.ReadFile(t, obj)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(obj, data, 0o600); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "forge.sql.gz")
	r := mustRun(t, env, "restore", "--database", "forge", "--identity", identity, "--output", out)
	if !strings.Contains(r.stderr, "the copy on a failed its check") || !strings.Contains(r.stderr, "trying the copy on b") {
		t.Errorf("the fallback is not said: %s", r)
	}
	if !bytes.Equal(harness.ReadFile(t, out), harness.ReadFile(t, dump)) {
		t.Error("restore from the good copy differs from the dump")
	}

	// Pinned to the damaged copy: it fails, and says where the others are.
	out2 := filepath.Join(t.TempDir(), "forge.sql.gz")
	r = pgarchive(t, env, "restore", "--database", "forge", "--identity", identity, "--target", "a", "--output", out2)
	if r.code != 1 || strings.Contains(r.stderr, "trying the copy") || !strings.Contains(r.stderr, "pgarchive: hint: this was the copy on \"a\"; the other targets hold their own: drop --target") {
		t.Errorf("--target a: %s", r)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Error("a damaged restore left a file under the output name")
	}

	// Both copies damaged: said, and pointed at an earlier archive.
	objB := filepath.Join(b, rows[0].Object)
	good := harness.ReadFile(t, objB)
	if err := os.WriteFile(objB, good[:len(good)-100], 0o600); err != nil {
		t.Fatal(err)
	}
	r = pgarchive(t, env, "restore", "--database", "forge", "--identity", identity, "--output", filepath.Join(t.TempDir(), "y"))
	if r.code != 1 || !strings.Contains(r.stderr, "and so did the copy on every other target") || !strings.Contains(r.stderr, "--before TIME") {
		t.Errorf("both copies damaged: %s", r)
	}
	if err := os.WriteFile(objB, good, 0o600); err != nil {
		t.Fatal(err)
	}

	// A wrong key is the key, not the copy: no fallback, no --target hint.
	other, _ := keypair(t, false)
	r = pgarchive(t, env, "restore", "--database", "forge", "--identity", other, "--output", filepath.Join(t.TempDir(), "x"))
	if r.code != 1 || strings.Contains(r.stderr, "--target") || strings.Contains(r.stderr, "trying the copy") || !strings.Contains(r.stderr, "wrong key") {
		t.Errorf("wrong key: %s", r)
	}
}
