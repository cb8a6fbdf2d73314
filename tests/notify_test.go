package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// These tests run pgarchive notify on this machine, where systemd is not
// PID 1: systemctl cannot answer and the journal is empty. Small scripts
// named systemctl and journalctl, first in PATH, answer instead, printing
// what systemd 252 prints for a dump unit whose ExecStartPost push failed.
// systemd_test.go runs the same command under a real systemd.

const fakeShow = `Id=postgresqlBackup-db1.service
Result=exit-code
ActiveState=failed
InvocationID=6b1f0c2a9d8e4f7a8b3c5d2e1f0a9b8c
ExecMainCode=1
ExecMainStatus=0
ExecStart={ path=/bin/sh ; argv[]=/bin/sh -c pg_dump db1 | gzip > /var/backup/postgresql/db1.sql.gz ; ignore_errors=no ; start_time=[Sat 2026-11-21 01:15:02 UTC] ; stop_time=[Sat 2026-11-21 01:15:03 UTC] ; pid=41 ; code=exited ; status=0 }
ExecStartPost={ path=/usr/bin/pgarchive ; argv[]=/usr/bin/pgarchive push --database db1 ; ignore_errors=no ; start_time=[Sat 2026-11-21 01:15:03 UTC] ; stop_time=[Sat 2026-11-21 01:15:04 UTC] ; pid=57 ; code=exited ; status=1 }
`

const fakeJournal = `{"__REALTIME_TIMESTAMP":"1795223703000000","PRIORITY":"6","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"pushing database=db1 object=db1/db1/db1_20261121T011503Z.sql.gz.age bytes=73910 targets=1","PGARCHIVE_DATABASE":"db1"}
{"__REALTIME_TIMESTAMP":"1795223704000000","PRIORITY":"3","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"push failed database=db1 target=offsite error=\"dial tcp 127.0.0.1:1: connect: connection refused\"","PGARCHIVE_DATABASE":"db1","PGARCHIVE_TARGET":"offsite"}
{"__REALTIME_TIMESTAMP":"1795223704100000","PRIORITY":"6","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"pushed database=db1 target=local bytes=74071","PGARCHIVE_DATABASE":"db1","PGARCHIVE_TARGET":"local"}
{"__REALTIME_TIMESTAMP":"1795223704200000","PRIORITY":"6","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"pgarchive: error: push db1/db1/db1_20261121T011503Z.sql.gz.age: 1 of 2 targets failed (offsite: connection refused); the other 1 hold a complete archive"}
`

// fakeSystemd writes systemctl and journalctl scripts into a directory
// and returns it. journalctl checks it is asked for the failed run's
// invocation ID; either script is left out when its output is "".
func fakeSystemd(t *testing.T, show, journal string) string {
	t.Helper()
	dir := t.TempDir()
	if show != "" {
		writeScript(t, dir, "systemctl", "#!/bin/sh\ncase \"$*\" in *' -- postgresqlBackup-db1.service') ;; *) echo \"unexpected: $*\" >&2; exit 1;; esac\n"+printLines(show))
	}
	if journal != "" {
		writeScript(t, dir, "journalctl", "#!/bin/sh\ncase \"$*\" in *_SYSTEMD_INVOCATION_ID=6b1f0c2a9d8e4f7a8b3c5d2e1f0a9b8c*) ;; *) echo \"unexpected: $*\" >&2; exit 1;; esac\n"+printLines(journal))
	}
	return dir
}

// printLines is shell that prints text with builtins only, so the
// scripts run with nothing else in PATH.
func printLines(text string) string {
	return "while IFS= read -r l; do printf '%s\\n' \"$l\"; done <<'EOF'\n" + text + "EOF\n"
}

func writeScript(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// notifyConfig writes a config whose [notify] urls_file lists urls.
func notifyConfig(t *testing.T, urls ...string) string {
	t.Helper()
	_, recipient := keypair(t, false)
	urlsFile := harness.WriteFile(t, t.TempDir(), "notify-urls", "# pgarchive notify channels\n"+strings.Join(urls, "\n")+"\n")
	return configFile(t, t.TempDir(), "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()),
		"[notify]\nurls_file = "+toml(urlsFile)+"\n")
}

// Issue 4, notify: the webhook gets host, unit, result, failed targets and
// the journal excerpt; a second URL that is unreachable does not stop the
// first, is logged by its position only, and makes the exit 1.
func TestNotifySendsUnitResultAndExcerpt(t *testing.T) {
	hook := startHook(t)
	dead := deadAddr(t)
	cfg := notifyConfig(t, "generic+"+hook.URL()+"/hooks/tk_first", "generic+http://"+dead+"/hooks/tk_second")
	bin := fakeSystemd(t, fakeShow, fakeJournal)

	r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PATH=" + bin}, "notify", "--unit", "postgresqlBackup-db1.service")
	if r.code != 1 {
		t.Errorf("want exit 1 with one URL unreachable: %s", r)
	}
	reqs := hook.waitFor(1, 10*time.Second)
	if len(reqs) != 1 || reqs[0].Path != "/hooks/tk_first" {
		t.Fatalf("webhook got %+v\n%s", reqs, r)
	}
	body := reqs[0].Body
	for _, want := range []string{
		"pgarchive: postgresqlBackup-db1.service failed on db1",
		"result: exit-code (ExecStartPost /usr/bin/pgarchive exited with status 1)",
		"failed targets: offsite\n",
		"invocation: 6b1f0c2a9d8e4f7a8b3c5d2e1f0a9b8c",
		"pgarchive: push failed database=db1 target=offsite",
		"1 of 2 targets failed",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(r.stderr, "URL #2 in urls_file") || !strings.Contains(r.stderr, "notification not delivered") {
		t.Errorf("stderr does not name URL #2:\n%s", r.stderr)
	}
	for _, secret := range []string{"tk_second", "tk_first", dead} {
		if strings.Contains(r.stderr+r.stdout, secret) {
			t.Errorf("output reveals %q:\n%s", secret, r)
		}
	}
}

// Issue 4, notify: without a journal (journalctl missing) the message says
// so instead of failing; without systemctl the result is "unknown". The
// message still goes out and notify exits 0.
func TestNotifyWithoutJournal(t *testing.T) {
	hook := startHook(t)
	cfg := notifyConfig(t, "generic+"+hook.URL()+"/hooks/tk_only")

	noJournal := fakeSystemd(t, fakeShow, "")
	r := mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PATH=" + noJournal}, "notify", "--unit", "postgresqlBackup-db1.service")
	reqs := hook.waitFor(1, 10*time.Second)
	if len(reqs) != 1 {
		t.Fatalf("webhook got %d requests\n%s", len(reqs), r)
	}
	for _, want := range []string{"result: exit-code", "(no journal excerpt: the journal is not available: journalctl:"} {
		if !strings.Contains(reqs[0].Body, want) {
			t.Errorf("message lacks %q:\n%s", want, reqs[0].Body)
		}
	}

	// Neither systemctl nor journalctl.
	hook.reset()
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PATH=" + t.TempDir()}, "notify", "--unit", "postgresqlBackup-db1.service")
	reqs = hook.waitFor(1, 10*time.Second)
	if len(reqs) != 1 || !strings.Contains(reqs[0].Body, "result: unknown (systemctl:") ||
		!strings.Contains(reqs[0].Body, "journal is not available") {
		t.Errorf("without systemd at all: %+v", reqs)
	}

	// This machine's real journalctl, with no journal to read: the excerpt
	// says the journal holds nothing.
	if real, err := lookPathDir("journalctl"); err == nil {
		hook.reset()
		onlyShow := fakeSystemd(t, fakeShow, "")
		mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PATH=" + onlyShow + ":" + real}, "notify", "--unit", "postgresqlBackup-db1.service")
		reqs = hook.waitFor(1, 10*time.Second)
		if len(reqs) != 1 || !strings.Contains(reqs[0].Body, "no journal excerpt") {
			t.Errorf("with the machine's journalctl: %+v", reqs)
		}
	}
}

func lookPathDir(name string) (string, error) {
	for _, dir := range []string{"/usr/bin", "/bin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return dir, nil
		}
	}
	return "", os.ErrNotExist
}

// notify --dry-run prints the message and needs no urls_file; a config
// without [notify] cannot send (exit 2).
func TestNotifyDryRunAndMissingURLs(t *testing.T) {
	_, recipient := keypair(t, false)
	cfg := configFile(t, t.TempDir(), "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()))
	bin := fakeSystemd(t, fakeShow, fakeJournal)
	r := mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PATH=" + bin}, "notify", "--unit", "postgresqlBackup-db1.service", "--dry-run")
	if !strings.HasPrefix(r.stdout, "db1: postgresqlBackup-db1.service failed\n\npgarchive: postgresqlBackup-db1.service failed on db1\n") ||
		!strings.Contains(r.stdout, "failed targets: offsite") {
		t.Errorf("dry run printed:\n%s", r.stdout)
	}
	r = pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PATH=" + bin}, "notify", "--unit", "postgresqlBackup-db1.service")
	if r.code != 2 || !strings.Contains(r.stderr, "notify.urls_file") {
		t.Errorf("without urls_file: %s", r)
	}
}
