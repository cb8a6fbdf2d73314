package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// syntheticDump returns dir/bench.sql.gz, making it first unless an earlier
// run left it complete: a real `pg_dump -C` of an empty database "bench"
// cut before its completion lines, a COPY block of random base64 lines (so
// gzip cannot shrink it: the file is about mib MiB), then pg_dump's own
// completion lines, all through `gzip -c -6 --rsyncable` as
// services.postgresqlBackup compresses. pgarchive's content check accepts
// it like any plain dump.
func syntheticDump(t *testing.T, pg *harness.Postgres, work, dir string, mib int) string {
	t.Helper()
	dump := filepath.Join(dir, "bench.sql.gz")
	if _, err := os.Stat(dump + ".done"); err == nil {
		return dump
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, pg.Env(), "psql", "-X", "-q", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS bench", "-c", "CREATE DATABASE bench")
	plain := run(t, pg.Env(), "pg_dump", "-C", "bench")
	run(t, pg.Env(), "psql", "-X", "-q", "-d", "postgres", "-c", "DROP DATABASE bench")
	const done = "--\n-- PostgreSQL database dump complete\n"
	i := strings.LastIndex(plain, done)
	if i < 0 {
		t.Fatalf("pg_dump's output has no completion line:\n%s", plain)
	}
	head := plain[:i] + "--\n-- Data for Name: filler; Type: TABLE DATA; Schema: public; Owner: postgres\n--\n\n" +
		"COPY public.filler (line) FROM stdin;\n"
	tail := "\\.\n\n\n" + plain[i:]
	headFile := harness.WriteFile(t, work, "head.sql", head)
	tailFile := harness.WriteFile(t, work, "tail.sql", tail)
	// base64 of random bytes gzips to about 1.03 times the random bytes.
	random := int64(mib) << 20 * 100 / 103
	tmp := filepath.Join(dir, "bench.in-progress.sql.gz")
	script := fmt.Sprintf("set -euo pipefail\n{ cat %s; head -c %d /dev/urandom | base64 -w 76; cat %s; } | gzip -c -6 --rsyncable > %s\nmv %s %s\ntouch %s.done",
		shellQuote(headFile), random, shellQuote(tailFile), shellQuote(tmp), shellQuote(tmp), shellQuote(dump), shellQuote(dump))
	fmt.Printf("making %s (%d MiB of incompressible dump)\n", dump, mib)
	if out, err := exec.Command("bash", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", dump, err, out)
	}
	return dump
}

// pgbenchDumps returns two dump directories, each holding bench.sql.gz of a
// `pgbench -i -s scale` database made exactly as services.postgresqlBackup
// makes it: `pg_dump -C bench | gzip -c -6 --rsyncable`, and with
// pgdumpOptions "-C -Fc". An earlier run's dumps are reused.
func pgbenchDumps(t *testing.T, pg *harness.Postgres, cache string, scale int) (plainDir, customDir string) {
	t.Helper()
	base := filepath.Join(cache, fmt.Sprintf("pgbench-s%d", scale))
	plainDir, customDir = filepath.Join(base, "plain"), filepath.Join(base, "custom")
	if _, err := os.Stat(filepath.Join(base, "done")); err == nil {
		return plainDir, customDir
	}
	if err := os.RemoveAll(base); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("making pgbench -i -s %d and its dumps in %s\n", scale, base)
	run(t, pg.Env(), "psql", "-X", "-q", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS bench", "-c", "CREATE DATABASE bench")
	run(t, pg.Env(), "pgbench", "-i", "-q", "-s", fmt.Sprint(scale), "bench")
	pg.Dump(t, "bench", plainDir, "gzip")
	pg.Dump(t, "bench", customDir, "custom-gzip")
	harness.WriteFile(t, base, "done", "")
	return plainDir, customDir
}
