package harness

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Compression settings of services.postgresqlBackup.compression, with the
// command and file suffix the nixpkgs module uses for each (level 6, the
// module's default compressionLevel).
var (
	compressCmds = map[string]string{
		"none": "cat",
		"gzip": "gzip -c -6 --rsyncable",
		"zstd": "zstd -c -6 --rsyncable",
	}
	compressSuffixes = map[string]string{
		"none": "",
		"gzip": ".gz",
		"zstd": ".zstd",
	}
)

// DumpKinds lists the kinds Dump accepts.
var DumpKinds = []string{"gzip", "zstd", "none", "custom-gzip"}

// DumpSuffix returns the file suffix services.postgresqlBackup gives a dump
// with the compression "gzip" (".sql.gz"), "zstd" (".sql.zstd") or "none"
// (".sql").
func DumpSuffix(compression string) string {
	return ".sql" + compressSuffixes[compression]
}

// Dump dumps database db into dir exactly as NixOS's
// services.postgresqlBackup does and returns the path of the new dump,
// dir/<db>.sql<suffix>. kind is one of:
//
//	gzip         pg_dump -C db | gzip -c -6 --rsyncable   -> <db>.sql.gz (the module's default)
//	zstd         pg_dump -C db | zstd -c -6 --rsyncable   -> <db>.sql.zstd
//	none         pg_dump -C db | cat                      -> <db>.sql
//	custom-gzip  pg_dump -C -Fc db | gzip -c -6 --rsyncable -> <db>.sql.gz (pgdumpOptions = "-C -Fc")
//
// As in the module, an existing current dump becomes <db>.prev.sql<suffix>
// first, and the dump is written to <db>.in-progress.sql<suffix> then
// renamed. dir is created if needed and given to the postgres user with
// mode 0700 (the module's tmpfiles rule); its ancestors get o+x so that user
// can reach it. The dump file is mode 0600, owned by postgres; root reads it.
func (p *Postgres) Dump(t testing.TB, db, dir, kind string) string {
	t.Helper()
	switch kind {
	case "gzip", "zstd", "none":
		return p.DumpCommand(t, dir, db, "pg_dump -C "+shellQuote(db), kind)
	case "custom-gzip":
		return p.DumpCommand(t, dir, db, "pg_dump -C -Fc "+shellQuote(db), "gzip")
	default:
		t.Fatalf("harness: unknown dump kind %q (want one of %s)", kind, strings.Join(DumpKinds, ", "))
		return ""
	}
}

// DumpAll dumps every database with pg_dumpall into dir/all.sql<suffix>, as
// services.postgresqlBackup does with backupAll = true. compression is
// "gzip", "zstd" or "none".
func (p *Postgres) DumpAll(t testing.TB, dir, compression string) string {
	t.Helper()
	return p.DumpCommand(t, dir, "all", "pg_dumpall", compression)
}

// DumpCommand runs the services.postgresqlBackup script for the unit named
// name (the database, or "all") with dumpCmd, a shell command line such as
// "pg_dump -C -Fc db1", and compression "gzip", "zstd" or "none". It
// returns the path of the new dump. Dump and DumpAll are built on it.
func (p *Postgres) DumpCommand(t testing.TB, dir, name, dumpCmd, compression string) string {
	t.Helper()
	compressCmd, ok := compressCmds[compression]
	if !ok {
		t.Fatalf("harness: unknown compression %q (want gzip, zstd or none)", compression)
	}
	LookTool(t, "bash", "bash")
	tool, pkg := strings.Fields(compressCmd)[0], compression
	if tool == "cat" {
		pkg = "coreutils"
	}
	LookTool(t, tool, pkg)
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("harness: dump directory %q: %v", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("harness: creating dump directory: %v", err)
	}
	if err := p.run.chown(dir); err != nil {
		t.Fatalf("harness: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatalf("harness: %v", err)
	}
	if err := p.run.makeTraversable(dir); err != nil {
		t.Fatalf("harness: %v", err)
	}

	sqlPath := func(prefix, suffix string) string {
		return shellQuote(filepath.Join(dir, name+prefix+".sql"+suffix))
	}
	suffix := compressSuffixes[compression]
	curFile := sqlPath("", suffix)
	prevFile := sqlPath(".prev", suffix)
	prevFiles := []string{sqlPath(".prev", ""), sqlPath(".prev", ".gz"), sqlPath(".prev", ".zstd")}
	inProgressFile := sqlPath(".in-progress", suffix)

	// The script of nixpkgs' nixos/modules/services/backup/postgresql-backup.nix.
	script := fmt.Sprintf(`set -e -o pipefail

umask 0077 # ensure backup is only readable by postgres user

if [ -e %[1]s ]; then
  rm -f %[2]s
  mv %[1]s %[3]s
fi

%[4]s \
  | %[5]s \
  > %[6]s

mv %[6]s %[1]s
`, curFile, strings.Join(prevFiles, " "), prevFile, dumpCmd, compressCmd, inProgressFile)

	cmd := p.asPostgres("bash", "-c", script)
	cmd.Dir = "/" // systemd services start in /
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("harness: dump of %q (%s | %s) into %s failed: %v\n%s", name, dumpCmd, compressCmd, dir, err, out.String())
	}
	path := filepath.Join(dir, name+".sql"+suffix)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("harness: dump script succeeded but left no %s: %v", path, err)
	}
	return path
}
