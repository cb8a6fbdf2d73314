package tests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// runbookBlock is one marked command block of docs/runbook.md.
type runbookBlock struct {
	name, text string
}

var runbookMarker = regexp.MustCompile(`^<!-- runbook-test: ([a-z0-9-]+) -->$`)

// runbookBlocks reads docs/runbook.md and returns its ```sh blocks by the
// name of the marker comment before each. A sh block without a marker, a
// marker without a block, or a name used twice fails the test: every
// command the page shows must be one the test runs.
func runbookBlocks(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, problems := parseRunbook(data)
	for _, p := range problems {
		t.Error("runbook.md:" + p)
	}
	return blocks
}

// parseRunbook returns the marked command blocks of a runbook page, and
// what is wrong with its markers.
func parseRunbook(data []byte) (blocks map[string]string, problems []string) {
	blocks = map[string]string{}
	var pending string
	var cur *runbookBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			blocks[cur.name] = cur.text
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case runbookMarker.MatchString(line):
			if pending != "" {
				problems = append(problems, fmt.Sprintf("%d: marker %q follows marker %q with no block between", n, line, pending))
			}
			pending = runbookMarker.FindStringSubmatch(line)[1]
			if _, dup := blocks[pending]; dup {
				problems = append(problems, fmt.Sprintf("%d: block name %q used twice", n, pending))
			}
		case line == "```sh" || line == "```bash" || line == "```shell":
			if pending == "" {
				problems = append(problems, fmt.Sprintf("%d: a command block without a <!-- runbook-test: NAME --> marker: the test would not run it", n))
				pending = fmt.Sprintf("unmarked-%d", n)
			}
			cur = &runbookBlock{name: pending}
			pending = ""
		case strings.HasPrefix(line, "```"):
			// Other blocks (toml, a variable's example) are not commands.
			for sc.Scan() {
				n++
				if sc.Text() == "```" {
					break
				}
			}
		case pending != "" && strings.TrimSpace(line) != "":
			problems = append(problems, fmt.Sprintf("%d: marker %q is not followed by a ```sh block", n, pending))
			pending = ""
		}
	}
	if pending != "" {
		problems = append(problems, fmt.Sprintf("marker %q at the end, with no block", pending))
	}
	return blocks, problems
}

// The runbook test's own guard: a command block nobody marked, a marker
// without its block, or a name used twice is reported.
func TestParseRunbook(t *testing.T) {
	doc := "# x\n\n<!-- runbook-test: a -->\n```sh\necho a\n```\n\n```sh\necho unmarked\n```\n\n" +
		"```toml\n[drill]\n```\n\n<!-- runbook-test: b -->\ntext in between\n\n<!-- runbook-test: a -->\n```sh\necho again\n```\n"
	blocks, problems := parseRunbook([]byte(doc))
	if blocks["a"] != "echo again\n" || len(blocks) != 2 {
		t.Errorf("blocks %q", blocks)
	}
	want := []string{"without a <!-- runbook-test: NAME --> marker", `marker "b" is not followed by a` + " ```sh block", `block name "a" used twice`}
	if len(problems) != len(want) {
		t.Fatalf("problems %q, want %d", problems, len(want))
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %d = %q, want %q", i, problems[i], w)
		}
	}
}

// runbook runs blocks of docs/runbook.md, each verbatim in bash -e -u -o
// pipefail, and remembers which ran.
type runbook struct {
	t      *testing.T
	blocks map[string]string
	ran    map[string]bool
}

// run runs the named blocks one after another in one shell (later ones
// use what earlier ones define) with env, and returns their output.
func (rb *runbook) run(env []string, names ...string) (result, error) {
	rb.t.Helper()
	var script strings.Builder
	for _, n := range names {
		text, ok := rb.blocks[n]
		if !ok {
			rb.t.Fatalf("docs/runbook.md has no block %q", n)
		}
		rb.ran[n] = true
		script.WriteString(text)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script.String())
	cmd.Env = env
	cmd.Dir = rb.t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	}
	return r, err
}

func (rb *runbook) mustRun(env []string, names ...string) result {
	rb.t.Helper()
	r, err := rb.run(env, names...)
	if err != nil {
		rb.t.Fatalf("runbook %s: %v\n%s", strings.Join(names, " + "), err, r)
	}
	rb.t.Logf("runbook %s:\n%s", strings.Join(names, " + "), r)
	return r
}

// runbookEnv is the environment a block runs in: the server's PG*
// variables, PATH with the tools (pgarchive only if withPgarchive), and the
// runbook's variables.
func runbookEnv(t *testing.T, pg *harness.Postgres, withPgarchive bool, vars ...string) []string {
	t.Helper()
	env := pg.Env()
	path := ""
	if withPgarchive {
		bin := t.TempDir()
		if err := os.Symlink(harness.Binary(t), filepath.Join(bin, "pgarchive")); err != nil {
			t.Fatal(err)
		}
		path = bin + ":"
	}
	tools := os.Getenv("PGARCHIVE_TOOLS_BIN")
	if tools == "" {
		tools = "/root/.cache/pgarchive-tools/bin"
	}
	for i, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + path + tools + ":" + p
		}
	}
	env = append(env, "PGARCHIVE_LOG=stderr", "HOME="+t.TempDir())
	return append(env, vars...)
}

// dbState is what a restore must bring back besides the rows: the owner,
// comment, settings and grants of the database, the owner of a table, and
// a grant on it.
func dbState(t *testing.T, pg *harness.Postgres, db string) string {
	t.Helper()
	return pg.Psql(t, "postgres", fmt.Sprintf(`
SELECT pg_get_userbyid(d.datdba), coalesce(shobj_description(d.oid, 'pg_database'), ''), d.datacl::text,
	(SELECT string_agg(coalesce(r.rolname, '*') || ':' || array_to_string(s.setconfig, ','), ' ' ORDER BY 1)
	 FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = d.oid)
FROM pg_database d WHERE d.datname = '%s'`, db)) + "\n" + pg.Psql(t, db,
		`SELECT tableowner, has_table_privilege('reader', 'shop.orders', 'SELECT') FROM pg_tables WHERE schemaname = 'shop' AND tablename = 'customers'`)
}

// roles lists the test's roles present on pg, with their memberships.
func roles(t *testing.T, pg *harness.Postgres) string {
	t.Helper()
	return pg.Psql(t, "postgres", `
SELECT r.rolname || ' login=' || r.rolcanlogin || ' in=' || coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname)
	FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '')
FROM pg_roles r WHERE r.rolname IN ('alice', 'bob', 'reader', 'carol') ORDER BY 1`)
}

func expectEqual(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, got, want)
	}
}

// Every block of docs/runbook.md, run verbatim against real servers: a
// PostgreSQL 15 host with roles, grants and database settings, two days of
// archives on a local disk and on S3 (MinIO), and fresh 15 and 17 clusters
// to restore onto. After each scenario the restored data is compared with
// the source (rows and checksums, roles, grants, database settings).
func TestRunbook(t *testing.T) {
	rb := &runbook{t: t, blocks: runbookBlocks(t), ran: map[string]bool{}}
	if t.Failed() {
		t.FailNow()
	}
	src := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	local := t.TempDir()
	identity, recipient := keypair(t, false)
	dumpDir := filepath.Join(t.TempDir(), "backup")

	src.Psql(t, "postgres", `
CREATE ROLE alice LOGIN PASSWORD 'alice-secret';
CREATE ROLE bob LOGIN;
CREATE ROLE reader NOLOGIN;
GRANT reader TO bob;
CREATE DATABASE forge OWNER alice;
COMMENT ON DATABASE forge IS 'the forge';
ALTER DATABASE forge SET work_mem = '8MB';
REVOKE CONNECT, TEMPORARY ON DATABASE forge FROM PUBLIC;
GRANT CONNECT ON DATABASE forge TO bob;
ALTER ROLE bob IN DATABASE forge SET statement_timeout = '5s';
CREATE DATABASE wiki;
CREATE DATABASE shop OWNER alice;
COMMENT ON DATABASE shop IS 'the shop';
ALTER DATABASE shop SET random_page_cost = 1.5;`)
	for _, db := range []string{"forge", "wiki", "shop"} {
		src.Seed(t, db)
		src.Psql(t, db, `ALTER TABLE shop.customers OWNER TO alice; GRANT USAGE ON SCHEMA shop TO reader; GRANT SELECT ON ALL TABLES IN SCHEMA shop TO reader;`)
	}

	targets := []string{localTarget("local", local), s3Target(t, "offsite", s3)}
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), targets...)
	cfg = strings.Replace(mustReadString(t, cfg), `host = "db1"`, `host = "pg1"`, 1)
	cfgPath := harness.WriteFile(t, t.TempDir(), "config.toml", cfg)
	zstdCfg := harness.WriteFile(t, t.TempDir(), "config.toml", strings.Replace(cfg, `compression = "gzip"`, `compression = "zstd"`, 1))

	// Two nightly runs, as the NixOS module makes them: every database
	// dumped and pushed, the roles with them.
	fps := map[string]map[string]string{}
	night := func(stamp string) {
		env := append(src.Env(), "PGARCHIVE_CONFIG="+cfgPath, "PGARCHIVE_TEST_NOW="+stamp)
		src.Dump(t, "forge", dumpDir, "gzip")
		src.Dump(t, "wiki", dumpDir, "zstd")
		src.Dump(t, "shop", dumpDir, "custom-gzip")
		src.DumpAll(t, dumpDir, "gzip")
		mustRun(t, env, "push", "--globals", "--allow-stale")
		for _, db := range []string{"forge", "shop", "all"} {
			mustRun(t, env, "push", "--database", db, "--allow-stale")
		}
		mustRun(t, append(src.Env(), "PGARCHIVE_CONFIG="+zstdCfg, "PGARCHIVE_TEST_NOW="+stamp), "push", "--database", "wiki", "--allow-stale")
		fps[stamp] = map[string]string{}
		for _, db := range []string{"forge", "wiki", "shop"} {
			fps[stamp][db] = src.Fingerprint(t, db)
		}
	}
	const day1, day2 = "20261101T011500Z", "20261102T011500Z"
	night(day1)
	rolesDay1 := roles(t, src)
	src.Psql(t, "forge", `DELETE FROM shop.events WHERE id % 3 = 0; INSERT INTO shop.customers VALUES (9001, 'day two', NULL, now());`)
	src.Psql(t, "wiki", `DELETE FROM shop.orders WHERE id % 5 = 0;`)
	src.Psql(t, "postgres", `CREATE ROLE carol LOGIN; GRANT reader TO carol;`)
	night(day2)
	rolesDay2 := roles(t, src)
	forgeState, shopState := dbState(t, src, "forge"), dbState(t, src, "shop")
	if fps[day1]["forge"] == fps[day2]["forge"] || rolesDay1 == rolesDay2 {
		t.Fatal("the two nights hold the same data: the test would prove nothing")
	}
	// The roles' archive is checked like any: read to its end, pg_dumpall's
	// completion line found.
	if r := mustRun(t, append(src.Env(), "PGARCHIVE_CONFIG="+cfgPath), "verify", "--database", "globals", "--identity", identity, "--json"); !strings.Contains(r.stdout, `"globals"`) || strings.Contains(r.stdout, `"ok": false`) {
		t.Errorf("verify globals: %s", r)
	}
	// An upload that never finished, newer than both: no manifest, so
	// neither pgarchive nor the stock recipe may take it.
	s3.Put(t, "databases/pg1/forge/forge_20261103T011500Z.sql.gz.age", []byte("half an upload"))

	remote := fmt.Sprintf(":s3,provider=Minio,endpoint='%s',region=us-east-1:%s/databases", s3.Endpoint, s3.Bucket)
	vars := []string{"PGARCHIVE_CONFIG=" + cfgPath, "IDENTITY=" + identity, "HOST=pg1", "TIME=2026-11-01 12:00"}
	laptopVars := []string{"IDENTITY=" + identity, "HOST=pg1", "REMOTE=" + remote,
		"RCLONE_S3_ACCESS_KEY_ID=" + s3.AccessKey, "RCLONE_S3_SECRET_ACCESS_KEY=" + s3.SecretKey}

	t.Run("latest onto the same host", func(t *testing.T) {
		src.Psql(t, "forge", `DELETE FROM shop.orders`) // the damage
		r := rb.mustRun(runbookEnv(t, src, true, vars...), "latest-same-host")
		expectEqual(t, "forge after the swap", src.Fingerprint(t, "forge"), fps[day2]["forge"])
		expectEqual(t, "forge's owner, comment, settings, grants", dbState(t, src, "forge"), forgeState)
		if !strings.Contains(r.stdout, `OWNER TO alice`) || !strings.Contains(r.stdout, "work_mem") {
			t.Errorf("restore did not say which database-level statements it applied:\n%s", r.stdout)
		}
		if n := src.Psql(t, "forge_broken", "SELECT count(*) FROM shop.orders"); n != "0" {
			t.Errorf("forge_broken holds %s orders, want the damaged 0", n)
		}
	})

	t.Run("as of a time", func(t *testing.T) {
		rb.mustRun(runbookEnv(t, src, true, vars...), "as-of-time")
		expectEqual(t, "forge_asof", src.Fingerprint(t, "forge_asof"), fps[day1]["forge"])
	})

	t.Run("a set as of one time onto a new cluster, roles first", func(t *testing.T) {
		fresh := harness.StartPostgres(t)
		defer fresh.Stop()
		r := rb.mustRun(runbookEnv(t, fresh, true, vars...), "set-new-cluster")
		expectEqual(t, "roles", roles(t, fresh), rolesDay1)
		if !strings.Contains(r.stdout, "left alone (already there): postgres") {
			t.Errorf("restore --globals did not name the roles it left alone:\n%s", r.stdout)
		}
		for _, db := range []string{"forge", "wiki"} {
			expectEqual(t, db, fresh.Fingerprint(t, db), fps[day1][db])
		}
		expectEqual(t, "forge's owner, comment, settings, grants", dbState(t, fresh, "forge"), forgeState)
		// Again: every role is there now, and left alone.
		again := mustRun(t, runbookEnv(t, fresh, true, vars...), "restore", "--globals", "--before", "2026-11-01 12:00", "--identity", identity)
		if !strings.Contains(again.stdout, "roles created: none") || !strings.Contains(again.stdout, "left alone (already there): alice, bob, postgres, reader") {
			t.Errorf("restore --globals a second time:\n%s", again)
		}
	})

	t.Run("from the offsite target when the local one is gone", func(t *testing.T) {
		if err := os.Rename(local, local+".gone"); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(local+".gone", local)
		rb.mustRun(runbookEnv(t, src, true, vars...), "offsite")
		expectEqual(t, "forge_offsite", src.Fingerprint(t, "forge_offsite"), fps[day2]["forge"])
	})

	t.Run("from a laptop with no config", func(t *testing.T) {
		if _, err := os.Stat("/etc/pgarchive/config.toml"); err == nil {
			t.Skip("this machine has /etc/pgarchive/config.toml: not a laptop without a config")
		}
		laptop := harness.StartPostgres(t)
		defer laptop.Stop()
		r := rb.mustRun(runbookEnv(t, laptop, true, laptopVars...), "laptop")
		if !strings.Contains(r.stdout, "HOST") || !strings.Contains(r.stdout, "pg1") {
			t.Errorf("list --remote did not show the hosts:\n%s", r.stdout)
		}
		for _, row := range tableRowsWith(r.stdout, " 2026-11-03 01:15:00Z ") {
			if !strings.HasSuffix(row, " incomplete") {
				t.Errorf("the unfinished upload is not marked incomplete: %q\n%s", row, r.stdout)
			}
		}
		expectEqual(t, "forge", laptop.Fingerprint(t, "forge"), fps[day2]["forge"])
		expectEqual(t, "roles", roles(t, laptop), rolesDay2)
		expectEqual(t, "forge's owner, comment, settings, grants", dbState(t, laptop, "forge"), forgeState)
	})

	t.Run("the fleet from the store's side", func(t *testing.T) {
		home := t.TempDir()
		env := runbookEnv(t, src, true, append(laptopVars, "PGARCHIVE_TEST_NOW=20261102T020000Z")...)
		env = append(env, "HOME="+home)
		r := rb.mustRun(env, "fleet-status")
		if !strings.Contains(r.stdout, "pg1") || strings.Contains(r.stdout, "WARNING") {
			t.Errorf("status --all-hosts:\n%s", r)
		}
		prom := mustReadString(t, filepath.Join(home, "pgarchive-fleet.prom"))
		if !strings.Contains(prom, `pgarchive_store_ok{host="pg1",database="forge",target="remote"} 1`) {
			t.Errorf("textfile:\n%s", prom)
		}
	})

	t.Run("into PostgreSQL 17", func(t *testing.T) {
		pg17 := harness.StartPostgres17(t)
		defer pg17.Stop()
		cfg17 := harness.WriteFile(t, t.TempDir(), "config.toml", cfg+fmt.Sprintf("\n[drill]\nconnection = %s\nstate_dir = %s\n",
			toml(fmt.Sprintf("host=%s port=%d user=postgres", pg17.SocketDir, pg17.Port)), toml(t.TempDir())))
		env := runbookEnv(t, pg17, true, append(vars, "PGARCHIVE_CONFIG="+cfg17)...)
		r := rb.mustRun(env, "new-major")
		if !strings.Contains(r.stdout, "17.") {
			t.Errorf("not restored into 17:\n%s", r.stdout)
		}
		expectEqual(t, "roles", roles(t, pg17), rolesDay2)
		expectEqual(t, "forge", pg17.Fingerprint(t, "forge"), fps[day2]["forge"])
		expectEqual(t, "shop", pg17.Fingerprint(t, "shop"), fps[day2]["shop"])
		expectEqual(t, "shop's owner, comment, settings (a custom-format dump)", dbState(t, pg17, "shop"), shopState)
		expectEqual(t, "forge's owner, comment, settings, grants", dbState(t, pg17, "forge"), forgeState)
	})

	for _, version := range []int{15, 17} {
		t.Run(fmt.Sprintf("the whole cluster onto a fresh %d", version), func(t *testing.T) {
			start := harness.StartPostgres
			if version == 17 {
				start = harness.StartPostgres17
			}
			fresh := start(t)
			defer fresh.Stop()
			rb.mustRun(runbookEnv(t, fresh, true, vars...), "whole-cluster")
			expectEqual(t, "roles", roles(t, fresh), rolesDay2)
			for _, db := range []string{"forge", "wiki", "shop"} {
				expectEqual(t, db, fresh.Fingerprint(t, db), fps[day2][db])
			}
			expectEqual(t, "forge's owner, comment, settings, grants", dbState(t, fresh, "forge"), forgeState)
		})
	}

	t.Run("without pgarchive", func(t *testing.T) {
		fresh := harness.StartPostgres(t)
		defer fresh.Stop()
		env := runbookEnv(t, fresh, false, laptopVars...)
		rb.mustRun(env, "stock-fetch", "stock-roles", "stock-plain", "stock-custom")
		expectEqual(t, "roles", roles(t, fresh), rolesDay2)
		for _, db := range []string{"forge", "wiki", "shop"} {
			expectEqual(t, db, fresh.Fingerprint(t, db), fps[day2][db])
		}
		expectEqual(t, "forge's owner, comment, settings, grants", dbState(t, fresh, "forge"), forgeState)

		all := harness.StartPostgres(t)
		defer all.Stop()
		rb.mustRun(runbookEnv(t, all, false, laptopVars...), "stock-fetch", "stock-all")
		expectEqual(t, "roles from all", roles(t, all), rolesDay2)
		for _, db := range []string{"forge", "wiki", "shop"} {
			expectEqual(t, db+" from all", all.Fingerprint(t, db), fps[day2][db])
		}

		// A damaged archive: the stock recipe stops at the check, before
		// any database is made; pgarchive's restore leaves nothing either.
		key := fmt.Sprintf("databases/pg1/forge/forge_%s.sql.gz.age", day2)
		good := s3.Get(t, key)
		bad := bytes.Clone(good)
		bad[len(bad)/2] ^= 0xff
		s3.Put(t, key, bad)
		defer s3.Put(t, key, good)
		fresh.DropDB(t, "forge")
		r, err := rb.run(env, "stock-fetch", "stock-plain")
		if err == nil {
			t.Fatalf("the stock recipe restored a damaged archive:\n%s", r)
		}
		if got := fresh.Psql(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'forge'"); got != "0" {
			t.Errorf("a damaged archive left the database forge behind:\n%s", r)
		}
		p := pgarchive(t, runbookEnv(t, fresh, true, laptopVars...), "restore", "--remote", remote, "--host", "pg1",
			"--database", "forge", "--identity", identity, "--into", "forge_damaged")
		if p.code != 1 {
			t.Fatalf("pgarchive restored a damaged archive: %s", p)
		}
		if n := fresh.Psql(t, "postgres", `SELECT count(*) FROM pg_database WHERE datname = 'forge_damaged'`); n != "0" {
			if tables := fresh.Psql(t, "forge_damaged", `SELECT count(*) FROM pg_tables WHERE schemaname = 'shop'`); tables != "0" {
				t.Errorf("a damaged archive left %s tables in forge_damaged", tables)
			}
		}
	})

	for name := range rb.blocks {
		if !rb.ran[name] {
			t.Errorf("docs/runbook.md block %q is run by no test", name)
		}
	}
}

func mustReadString(t *testing.T, path string) string {
	t.Helper()
	return string(harness.ReadFile(t, path))
}
