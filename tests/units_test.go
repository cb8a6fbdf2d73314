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

// Issue 9: `pgarchive units` on a plain Debian 12 host. A root file system
// with systemd 252 and PostgreSQL 15 (debootstrap, cached) boots under
// systemd-nspawn, sharing this machine's network; the real binary is
// /usr/local/bin/pgarchive there, and the units it writes into
// /etc/systemd/system dump a real database and push it to MinIO and sshd
// on this machine's loopback and to a directory bound in. Every secret is
// a root-only file holding a marker string, loaded as a credential.

// unitsTargets are the test's target names, as in the config.
var unitsTargets = []string{"local", "minio", "nas"}

// The units written for the config below, and the timers among them.
var (
	unitsFiles = []string{
		"pgarchive-drill.service", "pgarchive-drill.timer",
		"pgarchive-dump@.service", "pgarchive-dump@db1.timer",
		"pgarchive-notify@.service",
		"pgarchive-prune.service", "pgarchive-prune.timer",
		"pgarchive-verify.service", "pgarchive-verify.timer",
	}
	unitsTimers = []string{"pgarchive-dump@db1.timer", "pgarchive-prune.timer", "pgarchive-verify.timer", "pgarchive-drill.timer"}
)

// The container's cluster: Debian's listens on 127.0.0.1:5432, which a
// container sharing the host's network must not; and root may connect as
// the postgres role (pgarchive restore, run by root, in step 6), as the
// VM tests' identMap allows.
var unitsPostgresFiles = map[string]string{
	"pg.conf":       "listen_addresses = ''\nhba_file = '/srv/test/pg_hba.conf'\nident_file = '/srv/test/pg_ident.conf'\n",
	"pg_hba.conf":   "local all postgres peer map=pgarchive\nlocal all all peer\n",
	"pg_ident.conf": "pgarchive root postgres\npgarchive postgres postgres\n",
}

func TestUnitsOnDebian(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to boot a container")
	}
	for _, tool := range []string{"systemd-nspawn", "nsenter", "age"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (tests/setup.sh installs it)", tool)
		}
	}
	root := postgresRoot(t)
	start := time.Now()

	hook := startHook(t)
	s3 := harness.StartMinIO(t)
	sftp := harness.StartSSHD(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for _, d := range []string{"local", "prom", "secrets"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chmod(filepath.Join(dir, "local"), 0o777) // postgres writes there
	os.Chmod(filepath.Join(dir, "prom"), 0o777)
	os.Chmod(filepath.Join(dir, "secrets"), 0o700)
	os.Chmod(sftp.Root, 0o755)

	// The secrets, each a root-only file. The markers are what must never
	// show up in a journal line or a file under /etc.
	identity, recipient := keypair(t, false)
	identityText, _ := os.ReadFile(identity)
	sftpKey, _ := os.ReadFile(sftp.KeyFile)
	markers := map[string]string{
		"the drill identity":   strings.TrimSpace(string(identityText[strings.Index(string(identityText), "AGE-SECRET-KEY-"):])),
		"the S3 secret key":    s3.SecretKey,
		"the SFTP private key": keyBody(string(sftpKey)),
		"the notify token":     "tk-notify-c0ffee",
		"the ping token":       "tk-ping-f00d",
	}
	secret := func(name, content string) string {
		harness.WriteFile(t, filepath.Join(dir, "secrets"), name, content)
		return "/srv/test/secrets/" + name
	}
	config := fmt.Sprintf(`dump_dir = "/srv/test/backup/postgresql"
compression = "gzip"
host = "pg1"

[encryption]
%s

[targets.local]
type = "local"
path = "/srv/test/local"

[targets.minio]
type = "s3"
path = %s
options = { provider = "Minio", endpoint = %s, region = "us-east-1" }
secret_files = { access_key_id = %s, secret_access_key = %s }

[targets.nas]
type = "sftp"
path = %s
options = { host = %s, port = %d, user = %s, shell_type = "unix" }
secret_files = { key_file = %s }

[retention]
daily = 7

[drill]
identity_file = %s

[notify]
urls_file = %s

[healthcheck]
url_file = %s

[metrics]
textfile = "/srv/test/prom/pgarchive.prom"
`, ageRecipients(recipient),
		toml(s3.Bucket+"/databases"), toml(s3.Endpoint),
		toml(secret("s3-id", s3.AccessKey+"\n")), toml(secret("s3-key", s3.SecretKey+"\n")),
		toml(filepath.Join(sftp.Root, "pg")), toml(sftp.Host), sftp.Port, toml(sftp.User),
		toml(secret("sftp-key", string(sftpKey))),
		toml(secret("drill-key.txt", string(identityText))),
		toml(secret("notify-urls", "generic+"+hook.URL()+"/notify/"+markers["the notify token"]+"\n")),
		toml(secret("hc-url", hook.URL()+"/ping/"+markers["the ping token"]+"\n")))
	os.Chmod(harness.WriteFile(t, dir, "config.toml", config), 0o644)
	for name, content := range unitsPostgresFiles {
		os.Chmod(harness.WriteFile(t, dir, name, content), 0o644)
	}

	moduleRoot := harness.ModuleRoot(t)
	binds := []string{
		harness.Binary(t) + ":/usr/local/bin/pgarchive",
		dir + ":/srv/test",
		filepath.Join(dir, "pg.conf") + ":/etc/postgresql/15/main/conf.d/pgarchive-test.conf",
	}
	// Debian's age (archives.sh decrypts with it) and zstd (a dump unit
	// compresses with it), from this machine: the minimal root has neither.
	for _, tool := range []string{"age", "zstd"} {
		if p, err := exec.LookPath(tool); err == nil {
			binds = append(binds, p+":/usr/local/bin/"+tool)
		}
	}
	if scenarios := filepath.Join(moduleRoot, scenarioDir); dirExists(scenarios) {
		binds = append(binds, scenarios+":/srv/scenarios")
	}
	c := bootContainer(t, root, binds...)
	t.Logf("container up in %v", time.Since(start).Round(time.Millisecond))
	c.mustExec("sh", "-c", `set -e
install -D -m 0644 /srv/test/config.toml /etc/pgarchive/config.toml
useradd --system --no-create-home --shell /usr/sbin/nologin pgarchive-notify
systemctl start postgresql.service
su postgres -c "createdb db1 && createdb db2 && psql -q -X -d db1 -c 'CREATE TABLE items (i int PRIMARY KEY, note text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g'"`)

	// Generated on the host that runs them, the binary found in PATH;
	// a re-run changes nothing.
	gen := []string{"pgarchive", "units", "--config", "/etc/pgarchive/config.toml", "--output", "/etc/systemd/system", "--databases", "db1"}
	first := c.mustExec(gen[0], gen[1:]...)
	second := c.mustExec(gen[0], gen[1:]...)
	for _, f := range unitsFiles {
		p := "/etc/systemd/system/" + f
		if !strings.Contains(first, "written   "+p+"\n") {
			t.Errorf("first run does not report %s written:\n%s", p, first)
		}
		if !strings.Contains(second, "unchanged "+p+"\n") {
			t.Errorf("second run does not report %s unchanged:\n%s", p, second)
		}
	}
	if strings.Contains(second, "written") {
		t.Errorf("a re-run rewrote files:\n%s", second)
	}
	dumpUnit := c.mustExec("cat", "/etc/systemd/system/pgarchive-dump@.service")
	t.Logf("pgarchive units wrote:\n%s\npgarchive-dump@.service:\n%s", first, dumpUnit)
	if !strings.Contains(dumpUnit, "\nExecStartPost=/usr/local/bin/pgarchive push --database %i\n") {
		t.Errorf("the dump unit does not run the binary found in PATH")
	}
	c.mustExec("sh", "-c", "systemctl daemon-reload && systemctl enable --now "+strings.Join(unitsTimers, " "))

	// Every file, and the instances the test starts, pass systemd-analyze
	// verify without a word.
	verify := []string{"verify"}
	for _, f := range unitsFiles {
		verify = append(verify, "/etc/systemd/system/"+f)
	}
	verify = append(verify, "pgarchive-dump@db1.service", "pgarchive-notify@pgarchive-dump@db1.service.service")
	if out, err := c.execOutput("systemd-analyze", verify...); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// How exposed each unit is, as systemd-analyze security scores it.
	for _, u := range []string{"pgarchive-dump@db1.service", "pgarchive-prune.service", "pgarchive-verify.service",
		"pgarchive-drill.service", "pgarchive-notify@pgarchive-dump@db1.service.service"} {
		score, out := c.exposure(u)
		t.Logf("systemd-analyze security: %-55s %.1f", u, score)
		limit := 2.0
		if strings.HasPrefix(u, "pgarchive-dump@") {
			// No mount namespace: see internal/units/hardening.go.
			limit = 3.5
		}
		if score > limit {
			t.Errorf("%s is exposed %.1f, above %.1f:\n%s", u, score, limit, out)
		}
	}

	// 1. The dump unit dumps, pushes to every target, and succeeds.
	if out, err := c.execOutput("systemctl", "start", "pgarchive-dump@db1"); err != nil {
		t.Fatalf("systemctl start pgarchive-dump@db1: %v\n%s\n%s", err, out,
			c.mustExec("journalctl", "--no-pager", "-o", "cat", "-u", "pgarchive-dump@db1"))
	}
	dumpFile := filepath.Join(dir, "backup/postgresql/db1.sql.gz")
	dump, err := os.ReadFile(dumpFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dumpFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("dump mode %v, want 0600 (umask 0077)", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Dir(dumpFile)); fi.Mode().Perm() != 0o700 {
		t.Errorf("dump directory mode %v, want 0700", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "backup/postgresql/db1.in-progress.sql.gz")); err == nil {
		t.Error("the in-progress file is left behind")
	}
	if !strings.Contains(string(gunzipBytes(t, dump)), "CREATE TABLE public.items") {
		t.Error("the dump lacks the table")
	}
	objects, _ := unitsArchives(t, dir, s3, sftp)
	for _, tg := range unitsTargets {
		plain := decryptWithStockAge(t, identity, objects[tg])
		if !bytes.Equal(plain, dump) {
			t.Errorf("%s: the archive decrypts to %d bytes, not the dump's %d", tg, len(plain), len(dump))
		}
	}

	// Quoting, with systemd itself: a dump directory and a config path
	// with a space, a quote, '%' and '$', and pg_dump options with a glob,
	// reach bash, install, mv and pgarchive as they are.
	unitsOddPaths(t, c, dir, recipient)

	// 2. The journal answers per target with pgarchive's fields.
	for _, tg := range unitsTargets {
		entries := c.journalEntries("-u", "pgarchive-dump@db1", "PGARCHIVE_TARGET="+tg)
		var pushed bool
		for _, e := range entries {
			if e["PGARCHIVE_TARGET"] != tg {
				t.Errorf("%s: entry without PGARCHIVE_TARGET=%s: %v", tg, tg, e)
			}
			obj, _ := e["PGARCHIVE_OBJECT"].(string)
			if e["PGARCHIVE_DATABASE"] == "db1" && strings.HasPrefix(obj, "pg1/db1/db1_") &&
				strings.HasPrefix(fmt.Sprint(e["MESSAGE"]), "pushed") {
				pushed = true
			}
		}
		if !pushed {
			t.Errorf("journalctl -u pgarchive-dump@db1 PGARCHIVE_TARGET=%s has no push line with PGARCHIVE_DATABASE and PGARCHIVE_OBJECT:\n%v", tg, entries)
		}
	}

	// 4. The timers are there; prune, verify and the drill run under
	// their hardening, the drill restoring into a scratch database and
	// dropping it.
	timers := c.mustExec("systemctl", "list-timers", "--all", "--no-pager")
	for _, tm := range unitsTimers {
		if !strings.Contains(timers, tm) {
			t.Errorf("systemctl list-timers --all lacks %s:\n%s", tm, timers)
		}
	}
	for _, job := range []string{"pgarchive-prune", "pgarchive-verify", "pgarchive-drill"} {
		if out, err := c.execOutput("systemctl", "start", job); err != nil {
			t.Errorf("systemctl start %s: %v\n%s\n%s", job, err, out,
				c.mustExec("journalctl", "--no-pager", "-o", "cat", "-u", job))
		}
	}
	drill := c.mustExec("journalctl", "--no-pager", "-o", "cat", "-u", "pgarchive-drill")
	for _, want := range []string{"drill of db1: passed", "scratch   pgarchive_drill_db1", "public.items", "5000 rows"} {
		if !strings.Contains(drill, want) {
			t.Errorf("the drill's journal lacks %q:\n%s", want, drill)
		}
	}
	if dbs := c.mustExec("su", "postgres", "-c", "psql -X -At -c 'SELECT datname FROM pg_database'"); strings.Contains(dbs, "pgarchive_drill") {
		t.Errorf("the scratch database is still there:\n%s", dbs)
	}
	if verify := c.mustExec("journalctl", "--no-pager", "-o", "cat", "-u", "pgarchive-verify"); !strings.Contains(verify, "0 bad") {
		t.Errorf("verify:\n%s", verify)
	}

	// 6a. The VM test restore-drill's steps, all targets up.
	vars := unitsScenarioEnv()
	// db2's dump in custom format, as the VM test has it: a drop-in
	// replacing the template's dump command for that instance only.
	dropIn := "[Service]\nExecStart=\n"
	for _, line := range strings.Split(dumpUnit, "\n") {
		if strings.HasPrefix(line, "ExecStart=") {
			dropIn += strings.Replace(line, "pg_dump -C ", "pg_dump -Fc ", 1) + "\n"
		}
	}
	harness.WriteFile(t, dir, "custom-format.conf", dropIn)
	c.mustExec("sh", "-c", "install -D -m 0644 /srv/test/custom-format.conf /etc/systemd/system/pgarchive-dump@db2.service.d/custom-format.conf && systemctl daemon-reload")
	scenarios := scenarioPhase(t, c, moduleRoot, "/srv/scenarios", "restore-drill", vars, []scenarioStep{
		retried("dump.sh", "pg-ready"),
		step("dump.sh", "seed"),
		step("dump.sh", "push", "db1"),
		step("dump.sh", "push", "db2"),
		step("dump.sh", "dump-format", "db1", "plain"),
		step("dump.sh", "dump-format", "db2", "custom"),
		step("archives.sh", "complete", "db1"),
		step("archives.sh", "complete", "db2"),
		step("dump.sh", "credentials", "db1", "targets.nas.secret_files.key_file", "/srv/test/secrets/sftp-key"),
		step("dump.sh", "credentials", "db1", "targets.minio.secret_files.secret_access_key", "/srv/test/secrets/s3-key"),
		step("dump.sh", "journal-fields", "db1", "nas"),
		step("dump.sh", "journal-fields", "db1", "minio"),
		step("dump.sh", "journal-fields", "db1", "local"),
		step("archives.sh", "decrypts", "db1", "CREATE TABLE public.t"),
		step("dump.sh", "restore", "db1", "nas", "db1_from_nas", "t"),
		step("dump.sh", "restore", "db1", "minio", "db1_from_minio", "t"),
		step("dump.sh", "restore", "db2", "nas", "db2_from_nas", "u", "w"),
		step("dump.sh", "restore", "db2", "minio", "db2_from_minio", "u", "w"),
		step("dump.sh", "rows", "db1", "t", "5000"),
		step("jobs.sh", "verify"),
		step("jobs.sh", "drill", "db1", "db2"),
		step("jobs.sh", "prune"),
		step("archives.sh", "complete", "db1", "1"),
		step("archives.sh", "complete", "db2", "1"),
		step("jobs.sh", "metrics", "db1"),
	})

	// 3. One target down: the unit fails, the notifier tells the webhook
	// which, and the other targets hold the new archive.
	_, before := unitsArchives(t, dir, nil, sftp)
	s3.Stop()
	hook.reset()
	if out, err := c.execOutput("systemctl", "start", "pgarchive-dump@db1"); err == nil {
		t.Fatalf("the dump unit succeeded with MinIO down:\n%s", out)
	}
	if u := c.show("pgarchive-dump@db1.service", "ActiveState", "Result"); u["ActiveState"] != "failed" || u["Result"] != "exit-code" {
		t.Errorf("dump unit: %v", u)
	}
	var msg hookRequest
	deadline := time.Now().Add(60 * time.Second)
	for msg.Path == "" && time.Now().Before(deadline) {
		for _, r := range hook.waitFor(len(hook.requests())+1, time.Second) {
			if strings.HasPrefix(r.Path, "/notify/") {
				msg = r
			}
		}
	}
	notifier := "pgarchive-notify@pgarchive-dump@db1.service.service"
	if msg.Path == "" {
		t.Fatalf("no notification arrived; hook got %q\nnotifier journal:\n%s", paths(hook.requests()),
			c.mustExec("journalctl", "--no-pager", "-u", notifier))
	}
	for _, want := range []string{"pgarchive-dump@db1.service failed", "failed targets: minio\n"} {
		if !strings.Contains(msg.Body, want) {
			t.Errorf("the notification lacks %q:\n%s", want, msg.Body)
		}
	}
	if n := c.waitInactive(notifier, 30*time.Second); n["Result"] != "success" {
		t.Errorf("notifier: %v\n%s", n, c.mustExec("journalctl", "--no-pager", "-u", notifier))
	}
	_, after := unitsArchives(t, dir, nil, sftp)
	for _, tg := range []string{"local", "nas"} {
		if after[tg] != before[tg]+1 {
			t.Errorf("%s: %d complete archives after the failed run, want %d", tg, after[tg], before[tg]+1)
		}
	}

	// 6b. The VM test failure-notifies' steps, MinIO still down.
	if scenarios {
		mirrorHook(t, hook, filepath.Join(dir, "webhook"))
		scenarioPhase(t, c, moduleRoot, "/srv/scenarios", "failure-notifies", vars, []scenarioStep{
			step("dump.sh", "push-fails", "db1"),
			retried("notify.sh", "notified", "db1", markers["the notify token"]),
			retried("notify.sh", "received", "db1", "pg1", "minio"),
			retried("notify.sh", "pinged", "/ping/"+markers["the ping token"]+"/fail"),
			step("notify.sh", "pinged", "/ping/"+markers["the ping token"]+"/start"),
			step("dump.sh", "journal-names-target", "db1", "minio"),
			step("archives.sh", "complete", "db1"),
			step("dump.sh", "restore", "db1", "nas", "db1_after_failure", "t"),
		})
	}

	// 5. No secret in any journal line, unit file or file under /etc.
	journal := c.mustExec("journalctl", "--no-pager", "-o", "json")
	units := c.mustExec("sh", "-c", "cat /etc/systemd/system/pgarchive-*.service /etc/systemd/system/pgarchive-*.timer")
	for what, m := range markers {
		if strings.Contains(journal, m) {
			t.Errorf("the journal holds %s", what)
		}
		if strings.Contains(units, m) {
			t.Errorf("a unit file holds %s", what)
		}
		if out, err := c.execOutput("grep", "-rlF", "--", m, "/etc"); err == nil {
			t.Errorf("files under /etc hold %s: %s", what, out)
		}
	}
	if !strings.Contains(units, "LoadCredential=targets.minio.secret_files.secret_access_key:/srv/test/secrets/s3-key") {
		t.Errorf("the units do not load the S3 key as a credential:\n%s", units)
	}

	t.Logf("units scenario took %v after the root file system was there", time.Since(start).Round(time.Millisecond))
}

// unitsOddPaths generates units for a config whose paths systemd and the
// shell would misread unless quoted, installs the dump template under
// another name (odd-dump@.service) and runs it: the dump must land in the
// odd directory and its archive on the odd local target.
func unitsOddPaths(t *testing.T, c *container, dir, recipient string) {
	t.Helper()
	odd := filepath.Join(dir, "odd")
	for _, d := range []string{"units", "local dir"} {
		os.MkdirAll(filepath.Join(odd, d), 0o777)
		os.Chmod(filepath.Join(odd, d), 0o777)
	}
	os.Chmod(odd, 0o777)
	const dumpDir = "/srv/test/odd/it's 100% $HOME"
	// zstd, bound in from this machine, unless it has none.
	compression, suffix := "zstd", ".sql.zstd"
	if _, err := c.execOutput("sh", "-c", "command -v zstd"); err != nil {
		t.Logf("no zstd in the container: the odd-paths dump uses gzip")
		compression, suffix = "gzip", ".sql.gz"
	}
	cfg := fmt.Sprintf("dump_dir = %s\ncompression = %q\nhost = \"pg1\"\n\n[encryption]\n%s\n\n%s",
		toml(dumpDir), compression, ageRecipients(recipient), localTarget("odd", "/srv/test/odd/local dir"))
	os.Chmod(harness.WriteFile(t, odd, "my 50% config.toml", cfg), 0o644)
	out, err := c.execOutput("pgarchive", "units", "--config", "/srv/test/odd/my 50% config.toml",
		"--output", "/srv/test/odd/units", "--databases", "db1", "--pg-dump-options", "-C --exclude-table=nothing_*")
	if err != nil {
		t.Fatalf("pgarchive units with odd paths: %v\n%s", err, out)
	}
	c.mustExec("sh", "-c", "cp /srv/test/odd/units/pgarchive-dump@.service /etc/systemd/system/odd-dump@.service && systemctl daemon-reload")
	t.Cleanup(func() { c.execOutput("rm", "/etc/systemd/system/odd-dump@.service") })
	if out, err := c.execOutput("systemctl", "start", "odd-dump@db1"); err != nil {
		t.Fatalf("the dump unit with odd paths failed: %v\n%s\n%s\n%s", err, out,
			c.mustExec("journalctl", "--no-pager", "-o", "cat", "-u", "odd-dump@db1"),
			c.mustExec("systemctl", "cat", "odd-dump@db1"))
	}
	dumps, _ := filepath.Glob(filepath.Join(odd, "it's 100% $HOME", "db1"+suffix))
	archives, _ := filepath.Glob(filepath.Join(odd, "local dir", "pg1", "db1", "db1_*"+suffix+".age.json"))
	if len(dumps) != 1 || len(archives) != 1 {
		t.Errorf("odd paths: dumps %q, archives %q", dumps, archives)
	}
}

// unitsArchives returns, for each target, the newest complete archive of
// db1 (its object; its manifest is there) and how many complete archives
// of db1 it holds. s3 nil leaves MinIO out (it is down).
func unitsArchives(t *testing.T, dir string, s3 *harness.S3, sftp *harness.SFTP) (newest map[string][]byte, count map[string]int) {
	t.Helper()
	newest, count = map[string][]byte{}, map[string]int{}
	fromDir := func(name, d string) {
		manifests, _ := filepath.Glob(filepath.Join(d, "pg1/db1/db1_*.sql.gz.age.json"))
		count[name] = len(manifests)
		if len(manifests) == 0 {
			t.Errorf("%s: no complete archive of db1", name)
			return
		}
		obj, err := os.ReadFile(strings.TrimSuffix(manifests[len(manifests)-1], ".json"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		newest[name] = obj
	}
	fromDir("local", filepath.Join(dir, "local"))
	fromDir("nas", filepath.Join(sftp.Root, "pg"))
	if s3 != nil {
		var manifests []string
		for _, k := range s3.Keys(t, "databases/pg1/db1/") {
			if strings.HasSuffix(k, ".age.json") {
				manifests = append(manifests, k)
			}
		}
		count["minio"] = len(manifests)
		if len(manifests) == 0 {
			t.Errorf("minio: no complete archive of db1")
		} else {
			newest["minio"] = s3.Get(t, strings.TrimSuffix(manifests[len(manifests)-1], ".json"))
		}
	}
	return newest, count
}

// unitsScenarioEnv is the container's layout for the scenario scripts'
// settings (nix/tests/scenarios/lib.sh).
func unitsScenarioEnv() map[string]string {
	return map[string]string{
		"SCENARIO_PGARCHIVE":        "pgarchive",
		"SCENARIO_CONFIG":           "/etc/pgarchive/config.toml",
		"SCENARIO_DUMP_UNIT":        "pgarchive-dump@%s.service",
		"SCENARIO_NOTIFY_UNIT":      "pgarchive-notify@%s.service",
		"SCENARIO_PRUNE_UNIT":       "pgarchive-prune.service",
		"SCENARIO_VERIFY_UNIT":      "pgarchive-verify.service",
		"SCENARIO_DRILL_UNIT":       "pgarchive-drill.service",
		"SCENARIO_DUMP_DIR":         "/srv/test/backup/postgresql",
		"SCENARIO_DUMP_SUFFIX":      ".sql.gz",
		"SCENARIO_PG_USER":          "postgres",
		"SCENARIO_PGUSER":           "postgres",
		"SCENARIO_HOST":             "pg1",
		"SCENARIO_IDENTITY":         "/srv/test/secrets/drill-key.txt",
		"SCENARIO_ARCHIVES":         "/srv/test/local/pg1",
		"SCENARIO_STATE_DIR":        "/var/lib/pgarchive",
		"SCENARIO_METRICS":          "/srv/test/prom/pgarchive.prom",
		"SCENARIO_METRICS_DIR_STAT": "", // the test's directory is not the module's
		"SCENARIO_WEBHOOK_DIR":      "/srv/test/webhook",
		"TMPDIR":                    "/tmp",
	}
}

// mirrorHook keeps dir as the VM tests' webhook receiver keeps
// /var/lib/webhook: one file per POST that hook received, the request
// path with its query on the first line, the body after it.
func mirrorHook(t *testing.T, hook *hook, dir string) {
	os.MkdirAll(dir, 0o755)
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		written := 0
		for {
			reqs := hook.requests()
			for ; written < len(reqs); written++ {
				r := reqs[written]
				if r.Method != "POST" {
					continue
				}
				path := r.Path
				if len(r.Query) > 0 {
					var q []string
					for k, v := range r.Query {
						q = append(q, k+"="+v)
					}
					path += "?" + strings.Join(q, "&")
				}
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d", written)), []byte(path+"\n"+r.Body), 0o644)
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

// keyBody is a line from the middle of a PEM or OpenSSH private key: the
// part that is secret and no header.
func keyBody(key string) string {
	lines := strings.Split(strings.TrimSpace(key), "\n")
	if len(lines) < 3 {
		return key
	}
	return lines[len(lines)/2]
}

// The command itself, on this machine: what it writes and says, a re-run,
// a database gone from --databases, and what it refuses (exit 2).
func TestUnitsCommandLine(t *testing.T) {
	cfg := configFile(t, t.TempDir(), "zstd", ageRecipients(recipientOf(t)), localTarget("local", t.TempDir()))
	out := t.TempDir()
	args := []string{"units", "--config", cfg, "--output", out, "--binary", "/opt/pgarchive/bin/pgarchive", "--databases", "db1, db2"}
	r := mustRun(t, nil, args...)
	for _, f := range []string{"pgarchive-dump@.service", "pgarchive-dump@db1.timer", "pgarchive-dump@db2.timer",
		"pgarchive-notify@.service", "pgarchive-verify.service", "pgarchive-verify.timer"} {
		if !strings.Contains(r.stdout, "written   "+filepath.Join(out, f)+"\n") {
			t.Errorf("%s not reported written:\n%s", f, r)
		}
	}
	if strings.Count(r.stdout, "\n") != 6 {
		t.Errorf("want six files (no prune or drill without [retention] or [drill]):\n%s", r)
	}
	if !strings.Contains(r.stderr, "systemctl enable --now pgarchive-dump@db1.timer pgarchive-dump@db2.timer pgarchive-verify.timer") {
		t.Errorf("no next step on stderr:\n%s", r)
	}
	unit, _ := os.ReadFile(filepath.Join(out, "pgarchive-dump@.service"))
	for _, want := range []string{
		"\nEnvironment=PGARCHIVE_CONFIG=" + cfg + "\n",
		"\nExecStartPost=/opt/pgarchive/bin/pgarchive push --database %i\n",
		" | zstd -c -6 --rsyncable > ",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the dump unit lacks %q:\n%s", want, unit)
		}
	}

	args[len(args)-1] = "db2"
	r = mustRun(t, nil, args...)
	if !strings.Contains(r.stdout, "removed   "+filepath.Join(out, "pgarchive-dump@db1.timer")+"\n") ||
		strings.Contains(r.stdout, "written") || strings.Count(r.stdout, "unchanged ") != 5 {
		t.Errorf("re-run without db1:\n%s", r)
	}

	for _, bad := range [][]string{
		{"units", "--config", cfg},
		{"units", "--config", cfg, "--output", out, "--databases", "my db"},
		{"units", "--config", cfg, "--output", out, "--notify-user", "postgres"},
		{"units", "--config", cfg, "--output", out, "--binary", "pgarchive"},
		{"units", "--config", "/nonexistent.toml", "--output", out},
	} {
		if r := pgarchive(t, nil, bad...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", bad, r.code, r)
		}
	}
	if r := pgarchive(t, nil, "units", "--config", cfg, "--output", filepath.Join(out, "missing")); r.code != 1 {
		t.Errorf("a missing output directory: exit %d, want 1: %s", r.code, r)
	}
}
