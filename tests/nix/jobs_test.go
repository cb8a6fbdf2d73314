package nixeval

// The units beside the dump units: pgarchive-prune, -verify and -drill with
// their timers, the notifier template pgarchive-notify@, and what they share
// (the metrics directory, the secrets of issue 3's observability options).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/tests/harness"
)

const metricsDir = "/var/lib/prometheus-node-exporter-text-files"

// execWords splits an Exec*= value as written by the module: words quoted
// as JSON strings, or bare (a specifier such as %i), separated by spaces.
func execWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	for rest := strings.TrimLeft(line, " "); rest != ""; rest = strings.TrimLeft(rest, " ") {
		if rest[0] != '"' {
			w, after, _ := strings.Cut(rest, " ")
			words, rest = append(words, w), after
			continue
		}
		dec := json.NewDecoder(strings.NewReader(rest))
		var w string
		if err := dec.Decode(&w); err != nil {
			t.Fatalf("exec line %q: %v", line, err)
		}
		words, rest = append(words, w), rest[dec.InputOffset():]
	}
	return words
}

func quoted(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = fmt.Sprintf("%q", w)
	}
	return strings.Join(q, " ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestJobUnits checks pgarchive-prune, -verify and -drill: the command each
// runs with the checked config, as postgres, hardened like the dump
// units, notifying on failure, with a timer.
func TestJobUnits(t *testing.T) {
	r := evaluate(t).Good["observability"]
	pkg := r.Package
	exe := pkg + "/bin/pgarchive"
	for _, c := range []struct {
		unit     string
		args     []string
		calendar string
	}{
		{"pgarchive-prune", []string{"prune"}, "*-*-* 05:30:00"},
		{"pgarchive-verify", []string{"verify", "--sample", "10"}, "weekly"},
		{"pgarchive-drill", []string{"drill", "--age", "30"}, "weekly"},
	} {
		u, ok := r.Units[c.unit]
		if !ok {
			t.Errorf("no unit %s", c.unit)
			continue
		}
		want := quoted(append([]string{exe, "--config", r.ConfigFile.Path}, c.args...)...)
		wantAfter := []string{"network-online.target"}
		if c.unit == "pgarchive-drill" {
			// services.postgresql is enabled and drill.connection unset:
			// the drill uses the local server.
			wantAfter = []string{"postgresql.target network-online.target"}
		}
		for _, l := range []struct {
			section []string
			key     string
			want    []string
		}{
			{u.Service, "ExecStart", []string{want}},
			{u.Service, "Type", []string{"oneshot"}},
			{u.Service, "User", []string{"postgres"}},
			{u.Service, "Group", []string{"postgres"}},
			{u.Service, "TimeoutStartSec", []string{"6h"}},
			{u.Service, "NoNewPrivileges", []string{"true"}},
			{u.Service, "PrivateTmp", []string{"true"}},
			{u.Service, "ProtectSystem", []string{"strict"}},
			{u.Service, "ProtectHome", []string{"true"}},
			{u.Service, "RestrictAddressFamilies", []string{"AF_UNIX", "AF_INET", "AF_INET6"}},
			{u.Service, "ReadWritePaths", []string{metricsDir}},
			{u.Unit, "OnFailure", []string{"pgarchive-notify@%n.service"}},
			{u.Unit, "Wants", wantAfter},
			{u.Unit, "After", wantAfter},
		} {
			if got := lines(l.section, l.key); !equal(got, l.want) {
				t.Errorf("%s: %s=%q, want %q", c.unit, l.key, got, l.want)
			}
		}
		tm, ok := r.Timers[c.unit]
		if !ok {
			t.Errorf("no timer %s", c.unit)
			continue
		}
		for _, l := range []struct {
			section []string
			key     string
			want    []string
		}{
			{tm.Timer, "OnCalendar", []string{c.calendar}},
			{tm.Timer, "Persistent", []string{"true"}},
			{tm.Timer, "RandomizedDelaySec", []string{"1h"}},
			{tm.Install, "WantedBy", []string{"timers.target"}},
		} {
			if got := lines(l.section, l.key); !equal(got, l.want) {
				t.Errorf("%s.timer: %s=%q, want %q", c.unit, l.key, got, l.want)
			}
		}
		for _, l := range append(append(append([]string{}, u.Unit...), u.Service...), tm.Timer...) {
			t.Logf("%s: %s", c.unit, l)
		}
	}

	// The drill keeps its records in /var/lib/pgarchive, owned by its
	// user, and finds psql and pg_restore of the server's package.
	d := r.Units["pgarchive-drill"]
	if got := lines(d.Service, "StateDirectory"); !equal(got, []string{"pgarchive"}) {
		t.Errorf("pgarchive-drill: StateDirectory=%q, want pgarchive (drill.state_dir /var/lib/pgarchive)", got)
	}
	for _, unit := range []string{"pgarchive-drill", "pgarchive-verify"} {
		if p := r.Units[unit].Path; len(p) != 1 || !strings.HasSuffix(p[0], "-postgresql-stub") {
			t.Errorf("%s: path %q: want services.postgresql.package", unit, p)
		}
	}

	// Without retention, verify or drill: no job units, no timers.
	ex := evaluate(t).Good["example"]
	for _, unit := range []string{"pgarchive-prune", "pgarchive-verify", "pgarchive-drill"} {
		if _, ok := ex.Units[unit]; ok {
			t.Errorf("example: %s exists, though nothing enables it", unit)
		}
		if _, ok := ex.Timers[unit]; ok {
			t.Errorf("example: %s.timer exists, though nothing enables it", unit)
		}
	}
}

// TestJobSettings checks the rendered TOML of the observability case as
// config.Parse reads it: every new option under the key config.go defines,
// secrets at their host paths.
func TestJobSettings(t *testing.T) {
	r := evaluate(t).Good["observability"]
	c := parseRendered(t, "observability", r)
	if c == nil {
		t.FailNow()
	}
	p := c.Retention.Policy
	if p.KeepLast != 3 || p.Hourly != 0 || p.Daily != 7 || p.Weekly != 4 || p.Monthly != 6 || p.Yearly != 0 {
		t.Errorf("retention %+v", p)
	}
	if c.Retention.IncompleteGrace.Duration != 48*time.Hour {
		t.Errorf("retention.incomplete_grace %v, want 48h", c.Retention.IncompleteGrace)
	}
	if c.PruneOnHost == nil || !*c.PruneOnHost {
		t.Errorf("prune_on_host %v, want true written out", c.PruneOnHost)
	}
	if c.Drill.StateDir != "/var/lib/pgarchive" || len(c.Drill.Queries) != 1 || c.Drill.Connection != "" {
		t.Errorf("drill %+v", c.Drill)
	}
	if c.Metrics.Textfile != metricsDir+"/pgarchive.prom" {
		t.Errorf("metrics.textfile %q", c.Metrics.Textfile)
	}
	if c.Status.MaxAge.Duration != 26*time.Hour {
		t.Errorf("status.max_age %v, want 26h", c.Status.MaxAge)
	}
	for key, got := range map[string]string{
		"notify.urls_file":     c.Notify.URLsFile,
		"healthcheck.url_file": c.Healthcheck.URLFile,
		"drill.identity_file":  c.Drill.IdentityFile,
	} {
		if !strings.HasPrefix(got, "/run/secrets/pgarchive-") {
			t.Errorf("%s = %q, want the host path", key, got)
		}
	}
}

// TestAppendOnlyPassphrase: pruneOnHost = false renders prune_on_host =
// false and leaves prune off; in passphrase mode the drill decrypts with the
// encryption passphrase, loaded as its own credential; drill.connection
// replaces the local server.
func TestAppendOnlyPassphrase(t *testing.T) {
	r := evaluate(t).Good["passphraseAppendOnly"]
	c := parseRendered(t, "passphraseAppendOnly", r)
	if c == nil {
		t.FailNow()
	}
	if _, ok := r.Units["pgarchive-prune"]; ok {
		t.Error("pruneOnHost = false: pgarchive-prune.service exists")
	}
	if _, ok := r.Timers["pgarchive-prune"]; ok {
		t.Error("pruneOnHost = false: pgarchive-prune.timer exists")
	}
	if c.PruneAllowed() {
		t.Error("prune allowed, want prune_on_host = false")
	}
	if c.Retention.Daily != 30 {
		t.Errorf("retention.daily %d, want 30 (for prune --dry-run)", c.Retention.Daily)
	}
	if c.Drill.Connection != "host=/run/postgresql user=postgres" {
		t.Errorf("drill.connection %q", c.Drill.Connection)
	}
	if want := "/run/agenix/pgarchive-passphrase"; c.Drill.PassphraseFile != want || c.Drill.IdentityFile != "" {
		t.Errorf("drill: passphrase_file %q, identity_file %q; want %q and none", c.Drill.PassphraseFile, c.Drill.IdentityFile, want)
	}
	u := r.Units["pgarchive-drill"]
	if got := lines(u.Service, "LoadCredential"); !contains(got, "drill.passphrase_file:/run/agenix/pgarchive-passphrase") {
		t.Errorf("drill: LoadCredential %q: want the encryption passphrase as drill.passphrase_file", got)
	}
	if got := lines(u.Unit, "After"); !equal(got, []string{"network-online.target"}) {
		t.Errorf("drill with drill.connection: After=%q, want no postgresql.target", got)
	}
}

// TestNotifierUnit checks the template pgarchive-notify@: it runs pgarchive
// notify for %i with the one config, loading only the notify URLs, as a
// system user of its own in the systemd-journal group (not DynamicUser=,
// which dbus-daemon refuses since systemd 255, breaking systemctl show).
func TestNotifierUnit(t *testing.T) {
	ev := evaluate(t)
	for _, name := range []string{"example", "observability", "backupAll"} {
		r := ev.Good[name]
		u, ok := r.Units["pgarchive-notify@"]
		if !ok {
			t.Fatalf("%s: no pgarchive-notify@ template unit", name)
		}
		hasURLs := name == "observability"
		want := quoted(r.Package+"/bin/pgarchive", "--config", r.ConfigFile.Path, "notify", "--unit") + " %i"
		if !hasURLs {
			want += " --dry-run"
		}
		for _, l := range []struct {
			section []string
			key     string
			want    []string
		}{
			{u.Service, "ExecStart", []string{want}},
			{u.Service, "Type", []string{"oneshot"}},
			{u.Service, "DynamicUser", nil},
			{u.Service, "User", []string{"pgarchive-notify"}},
			{u.Service, "Group", []string{"pgarchive-notify"}},
			{u.Service, "SupplementaryGroups", []string{"systemd-journal"}},
			{u.Service, "NoNewPrivileges", []string{"true"}},
			{u.Service, "ProtectSystem", []string{"strict"}},
			{u.Service, "ProtectHome", []string{"true"}},
			{u.Service, "PrivateTmp", []string{"true"}},
			{u.Service, "SyslogLevel", []string{"err"}},
			{u.Unit, "OnFailure", nil},
		} {
			if got := lines(l.section, l.key); !equal(got, l.want) {
				t.Errorf("%s: pgarchive-notify@: %s=%q, want %q", name, l.key, got, l.want)
			}
		}
		if nu, ok := r.Users["pgarchive-notify"]; !ok || !nu.IsSystemUser || nu.Group != "pgarchive-notify" || !contains(r.Groups, "pgarchive-notify") {
			t.Errorf("%s: users.users.pgarchive-notify %+v (declared: %v), groups %q: want a system user with its own group", name, nu, ok, r.Groups)
		}
		if len(u.Path) != 1 || u.Path[0] != r.SystemdPackage {
			t.Errorf("%s: pgarchive-notify@: path %q, want systemd (systemctl, journalctl)", name, u.Path)
		}
		wantCreds := []string(nil)
		wantNet := []string{"AF_UNIX"}
		if hasURLs {
			wantCreds = []string{"notify.urls_file:/run/secrets/pgarchive-notify"}
			wantNet = []string{"AF_UNIX", "AF_INET", "AF_INET6"}
		} else if got := lines(u.Service, "PrivateNetwork"); !equal(got, []string{"true"}) {
			t.Errorf("%s: pgarchive-notify@ without URLs: PrivateNetwork=%q", name, got)
		}
		if got := lines(u.Service, "LoadCredential"); !equal(got, wantCreds) {
			t.Errorf("%s: pgarchive-notify@: LoadCredential=%q, want %q", name, got, wantCreds)
		}
		if got := lines(u.Service, "RestrictAddressFamilies"); !equal(got, wantNet) {
			t.Errorf("%s: pgarchive-notify@: RestrictAddressFamilies=%q, want %q", name, got, wantNet)
		}
		t.Logf("%s: ExecStart=%s", name, want)
	}
}

// TestNotifierRuns runs the notifier's ExecStart, as systemd would for the
// instance postgresqlBackup-db1.service, with the real binary, the one
// rendered config and the URLs as a credential: stand-ins for systemctl and journalctl in
// PATH report a failed push, and the message must reach a webhook listed
// in the urls_file (observability), or standard output with --dry-run
// (example).
func TestNotifierRuns(t *testing.T) {
	ev := evaluate(t)
	bin := harness.Binary(t)
	const failed = "postgresqlBackup-db1.service"

	var mu sync.Mutex
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		bodies = append(bodies, req.URL.Path+"\n"+string(b))
		mu.Unlock()
	}))
	defer hook.Close()

	for _, name := range []string{"observability", "example"} {
		r := ev.Good[name]
		dir := t.TempDir()
		fakes := filepath.Join(dir, "bin")
		if err := os.MkdirAll(fakes, 0o755); err != nil {
			t.Fatal(err)
		}
		systemctl := `#!/bin/sh
case "$*" in
  *"-- ` + failed + `") ;;
  *) echo "unexpected systemctl $*" >&2; exit 1 ;;
esac
cat <<'EOF'
Id=` + failed + `
Result=exit-code
ActiveState=failed
InvocationID=0123456789abcdef0123456789abcdef
ExecMainCode=1
ExecMainStatus=0
ExecStartPost={ path=/nix/store/x-pgarchive/bin/pgarchive ; argv[]=pgarchive push ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=42 ; code=exited ; status=1 }
EOF
`
		journalctl := `#!/bin/sh
case "$*" in
  *"_SYSTEMD_INVOCATION_ID=0123456789abcdef0123456789abcdef"*) ;;
  *) echo "unexpected journalctl $*" >&2; exit 1 ;;
esac
echo '{"MESSAGE":"pushing db1","PRIORITY":"6","SYSLOG_IDENTIFIER":"pgarchive","__REALTIME_TIMESTAMP":"1767225600000000"}'
echo '{"MESSAGE":"push failed target=nas","PRIORITY":"3","SYSLOG_IDENTIFIER":"pgarchive","PGARCHIVE_TARGET":"nas","__REALTIME_TIMESTAMP":"1767225601000000"}'
`
		for file, body := range map[string]string{"systemctl": systemctl, "journalctl": journalctl} {
			if err := os.WriteFile(filepath.Join(fakes, file), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}

		// systemd's part: expand %i, put the credentials in place under
		// their ids, and start the command with $CREDENTIALS_DIRECTORY set.
		// The config is the one file, with the host path of the URLs
		// (/run/secrets/..., absent here): the binary must find them by id.
		localCreds := filepath.Join(dir, "credentials")
		if err := os.MkdirAll(localCreds, 0o700); err != nil {
			t.Fatal(err)
		}
		urls := "# the team's webhook\ngeneric+" + hook.URL + "/hooks/" + name + "\n"
		if err := os.WriteFile(filepath.Join(localCreds, "notify.urls_file"), []byte(urls), 0o600); err != nil {
			t.Fatal(err)
		}
		configFile := filepath.Join(dir, "pgarchive.toml")
		if err := os.WriteFile(configFile, settingsTOML(t, r.Settings), 0o600); err != nil {
			t.Fatal(err)
		}

		execStart := lines(r.Units["pgarchive-notify@"].Service, "ExecStart")
		if len(execStart) != 1 {
			t.Fatalf("%s: ExecStart %q", name, execStart)
		}
		words := execWords(t, execStart[0])
		for i, w := range words {
			w = strings.ReplaceAll(w, "%i", failed)
			if w == r.ConfigFile.Path {
				w = configFile
			}
			words[i] = w
		}
		if words[0] != r.Package+"/bin/pgarchive" {
			t.Fatalf("%s: ExecStart runs %q", name, words[0])
		}
		cmd := exec.Command(bin, words[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+fakes+":/usr/bin:/bin", "PGARCHIVE_LOG=stderr", config.CredentialsEnv+"="+localCreds)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(words[1:], " "), err, stdout.String(), stderr.String())
		}
		t.Logf("%s: pgarchive %s\nstdout:\n%s\nstderr:\n%s", name, strings.Join(words[1:], " "), stdout.String(), stderr.String())

		var message string
		if name == "example" {
			message = stdout.String() // --dry-run: the journal, at priority err
		} else {
			mu.Lock()
			for _, b := range bodies {
				if strings.HasPrefix(b, "/hooks/"+name+"\n") {
					message = b
				}
			}
			mu.Unlock()
			if message == "" {
				t.Fatalf("%s: the webhook got nothing", name)
			}
		}
		for _, want := range []string{
			failed + " failed",
			"result: exit-code (ExecStartPost /nix/store/x-pgarchive/bin/pgarchive exited with status 1)",
			"failed targets: nas",
			"push failed target=nas",
		} {
			if !strings.Contains(message, want) {
				t.Errorf("%s: message lacks %q:\n%s", name, want, message)
			}
		}
	}
}

// TestMetricsDirectory checks the scheme for metrics.textfile: its
// directory exists (tmpfiles, group postgres, group-writable, because the
// jobs replace the file by rename and keep state and lock files beside it)
// and is writable to every unit that writes it.
func TestMetricsDirectory(t *testing.T) {
	ev := evaluate(t)
	r := ev.Good["observability"]
	want := []string{"d " + metricsDir + " 0775 root postgres - -"}
	if !equal(r.Tmpfiles, want) {
		t.Errorf("tmpfiles rules %q, want %q", r.Tmpfiles, want)
	}
	for _, unit := range []string{"postgresqlBackup-db1", "postgresqlBackup-db2", "pgarchive-prune", "pgarchive-verify", "pgarchive-drill"} {
		u, ok := r.Units[unit]
		if !ok {
			t.Errorf("no unit %s", unit)
			continue
		}
		// The dump units have no ProtectSystem (see the module), so only
		// the job units need the directory listed.
		if got := lines(u.Service, "ReadWritePaths"); strings.HasPrefix(unit, "pgarchive-") && !contains(got, metricsDir) {
			t.Errorf("%s: ReadWritePaths %q lacks the metrics directory", unit, got)
		}
		if got := lines(u.Service, "User"); !equal(got, []string{"postgres"}) {
			t.Errorf("%s: User=%q: every writer of the textfile must be postgres", unit, got)
		}
	}
	if got := ev.Good["example"].Tmpfiles; len(got) != 0 {
		t.Errorf("example: tmpfiles rules %q without metrics", got)
	}
}

// TestPruneWritesLocalTargets: prune deletes, so under ProtectSystem=strict
// the paths of local targets must be writable to it as to the dump unit,
// with "-": systemd refuses to start a unit whose ReadWritePaths= entry is
// missing (a disk not mounted, a prune before the first push).
func TestPruneWritesLocalTargets(t *testing.T) {
	r := evaluate(t).Good["localPrune"]
	if r == nil {
		t.Fatal("no good case localPrune")
	}
	if got := lines(r.Units["pgarchive-prune"].Service, "ReadWritePaths"); !equal(got, []string{"-/mnt/usb/pg"}) {
		t.Errorf("pgarchive-prune: ReadWritePaths %q, want the local target, prefixed with -", got)
	}
}

// TestJobCommandsParse runs each job unit's ExecStart with the real binary
// and --help appended: the binary must know the subcommand and every flag
// the module passes (an unknown flag is an error before help is shown).
func TestJobCommandsParse(t *testing.T) {
	r := evaluate(t).Good["observability"]
	bin := harness.Binary(t)
	for _, unit := range []string{"pgarchive-prune", "pgarchive-verify", "pgarchive-drill"} {
		execStart := lines(r.Units[unit].Service, "ExecStart")
		if len(execStart) != 1 {
			t.Errorf("%s: ExecStart %q", unit, execStart)
			continue
		}
		words := execWords(t, execStart[0])
		if len(words) < 4 || words[1] != "--config" {
			t.Errorf("%s: ExecStart %q", unit, words)
			continue
		}
		file := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(file, settingsTOML(t, r.Settings), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--config", file}, words[3:]...)
		out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: pgarchive %s --help: %v\n%s", unit, strings.Join(args, " "), err, out)
		} else {
			t.Logf("%s: pgarchive %s: flags accepted", unit, strings.Join(words[3:], " "))
		}
	}
}
