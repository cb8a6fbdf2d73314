package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 2, test 6: every bad input gives exit 1 or 2, one error line naming
// the problem, and no archive anywhere.
func TestBadInputsAreRefused(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	goodDir := t.TempDir()
	pg.Dump(t, "forge", goodDir, "gzip")
	good := filepath.Join(goodDir, "forge.sql.gz")
	_, recipient := keypair(t, false)
	enc := ageRecipients(recipient)

	dir := t.TempDir()
	empty := harness.WriteFile(t, dir, "empty.sql.gz", "")
	stale := harness.WriteFile(t, dir, "stale.sql.gz", string(harness.ReadFile(t, good)))
	old := time.Now().Add(-26 * time.Hour)
	os.Chtimes(stale, old, old)
	notGzip := harness.WriteFile(t, dir, "plain.sql.gz", "--\n-- PostgreSQL database dump\n--\n")
	notDump := harness.WriteFile(t, dir, "notdump.sql.gz", string(gzipBytes(t, "this is not a dump\n")))
	zstdDir := t.TempDir()
	pg.Dump(t, "forge", zstdDir, "zstd")

	local := t.TempDir()
	target := localTarget("local", local)
	tests := []struct {
		name     string
		config   string // "" means a good config
		args     []string
		code     int
		contains string
	}{
		{"missing dump", "", []string{"push", "--database", "nosuchdb"}, 1, "not found"},
		{"empty dump", "", []string{"push", "--database", "forge", "--file", empty}, 1, "is empty"},
		{"stale dump", "", []string{"push", "--database", "forge", "--file", stale}, 1, "stale"},
		{"not gzip as declared", "", []string{"push", "--database", "forge", "--file", notGzip}, 1, "not gzip-compressed"},
		{"zstd dump, gzip config", "", []string{"push", "--database", "forge", "--file", filepath.Join(zstdDir, "forge.sql.zstd")}, 1, "not gzip-compressed"},
		{"not a dump", "", []string{"push", "--database", "forge", "--file", notDump}, 1, "not pg_dump"},
		{"unreadable secret file", configFile(t, goodDir, "gzip", enc, target,
			"[targets.s3]\ntype = \"s3\"\npath = \"b\"\noptions = { provider = \"Minio\", endpoint = \"http://127.0.0.1:1\" }\nsecret_files = { secret_access_key = \"/nonexistent/s3-key\" }\n"),
			[]string{"push", "--database", "forge"}, 1, "targets.s3.secret_files.secret_access_key"},
		{"unreadable passphrase file", configFile(t, goodDir, "gzip", "passphrase_file = \"/nonexistent/pass\"", target),
			[]string{"push", "--database", "forge"}, 1, "encryption.passphrase_file"},
		{"unknown backend", configFile(t, goodDir, "gzip", enc, "[targets.x]\ntype = \"nosuchbackend\"\n"),
			[]string{"push", "--database", "forge"}, 2, "nosuchbackend"},
		{"unknown backend option", configFile(t, goodDir, "gzip", enc, "[targets.x]\ntype = \"sftp\"\noptions = { hostt = \"nas\" }\n"),
			[]string{"check-config"}, 2, "targets.x.options.hostt"},
		{"unknown config key", harness.WriteFile(t, t.TempDir(), "c.toml", "dump_dri = \"/x\"\n"), []string{"check-config"}, 2, "dump_dri"},
		{"bad recipient", configFile(t, goodDir, "gzip", `recipients = ["age1notakey"]`, target), []string{"check-config"}, 2, "encryption.recipients[0]"},
		{"missing config", "/nonexistent/pgarchive.toml", []string{"check-config"}, 2, "/nonexistent/pgarchive.toml"},
		{"no database flag", "", []string{"push"}, 2, "database"},
		{"bad database name", "", []string{"push", "--database", "../etc"}, 2, "cannot be used"},
		// Regression: urfave/cli stops parsing flags at a positional word,
		// so `prune forge --dry-run` pruned every database for real.
		{"positional word before flags", "", []string{"prune", "forge", "--dry-run"}, 2, `unexpected argument "forge"`},
		{"unknown command", "", []string{"backup"}, 2, "backup"},
		{"bad --host", "", []string{"list", "--host", "a/b"}, 2, `--host "a/b"`},
	}
	goodCfg := configFile(t, goodDir, "gzip", enc, target)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.config
			if cfg == "" {
				cfg = goodCfg
			}
			r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg}, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d: %s", r.code, tt.code, r)
			}
			errLines := grepLines(r.stderr, "pgarchive: error: ")
			if len(errLines) != 1 || !strings.Contains(errLines[0], tt.contains) {
				t.Errorf("want one error line naming %q, got: %s", tt.contains, r)
			}
			if files := harness.Snapshot(t, local); len(files) != 0 {
				t.Fatalf("a refused push wrote %v", keys(files))
			}
		})
	}
	// And the good config does push, so the refusals above were for the
	// reasons they gave.
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + goodCfg}, "push", "--database", "forge")
	if files := harness.Snapshot(t, local); len(files) != 2 {
		t.Errorf("good push wrote %v", keys(files))
	}
}

func grepLines(s, prefix string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	cmd := exec.Command("gzip", "-c")
	cmd.Stdin = strings.NewReader(s)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Issue 2, test 7: a union remote from an existing rclone.conf works as one
// target; both upstreams get the archive (rclone's create_policy = all).
func TestUnionRemoteFromRcloneConf(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	dump := pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	a, b := t.TempDir(), t.TempDir()
	rcloneConf := harness.WriteFile(t, t.TempDir(), "rclone.conf", fmt.Sprintf(`[disk-a]
type = alias
remote = %s

[archive-target-database]
type = union
upstreams = disk-a: %s
create_policy = all
action_policy = all
search_policy = ff
`, a, b))
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient),
		"[targets.legacy]\nremote = \"archive-target-database:db\"\n\n[rclone]\nconfig_file = "+toml(rcloneConf)+"\n")
	env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg)
	mustRun(t, env, "push", "--database", "forge")

	rows := listJSON(t, env)
	if len(rows) != 1 || !rows[0].complete() || rows[0].Target != "legacy" {
		t.Fatalf("list: %+v", rows)
	}
	for _, upstream := range []string{a, b} {
		obj := filepath.Join(upstream, "db", rows[0].Object)
		if got := decryptWithStockAge(t, identity, harness.ReadFile(t, obj)); !bytes.Equal(got, harness.ReadFile(t, dump)) {
			t.Errorf("upstream %s: copy differs from the dump", upstream)
		}
		if _, err := os.Stat(obj + ".json"); err != nil {
			t.Errorf("upstream %s: no manifest: %v", upstream, err)
		}
	}
	mustRun(t, env, "restore", "--database", "forge", "--identity", identity, "--into", "from_union")
	if pg.Fingerprint(t, "from_union") != pg.Fingerprint(t, "forge") {
		t.Error("restore from the union remote differs from the source")
	}
}
