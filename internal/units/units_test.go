package units

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/pgarchive/pgarchive/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fullConfig names every kind of secret, a local target, a retention
// policy, a drill key, notify URLs and a metrics textfile.
const fullConfig = `dump_dir = "/var/backup/postgresql"
compression = "gzip"
host = "db1"

[encryption]
recipients_file = "/etc/pgarchive/recipients.txt"

[targets.nas]
type = "sftp"
path = "/srv/pg"
options = { host = "nas.example", user = "backup" }
secret_files = { key_file = "/etc/pgarchive/nas.key" }

[targets.offsite]
type = "s3"
path = "backups/pg"
options = { provider = "Minio", endpoint = "https://s3.example", region = "us-east-1" }
secret_files = { access_key_id = "/etc/pgarchive/s3-id", secret_access_key = "/etc/pgarchive/s3-key" }

[targets.usb]
type = "local"
path = "/mnt/usb/pg"

[rclone]
config_file = "/etc/pgarchive/rclone.conf"

[retention]
daily = 7
weekly = 4

[drill]
identity_file = "/etc/pgarchive/drill-key.txt"

[notify]
urls_file = "/etc/pgarchive/notify-urls"

[healthcheck]
url_file = "/etc/pgarchive/hc-url"

[metrics]
textfile = "/var/lib/prometheus-node-exporter-text-files/pgarchive.prom"
`

// minimalConfig has no secret at all and asks for no job but verify.
const minimalConfig = `dump_dir = "/var/lib/pg dumps"
compression = "none"
host = "db1"

[encryption]
recipients = ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"]

[targets.disk]
type = "local"
path = "/home/backup/pg"
`

func parse(t *testing.T, toml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func options(t *testing.T, toml string) Options {
	return Options{
		Config:        parse(t, toml),
		ConfigPath:    "/etc/pgarchive/config.toml",
		Binary:        "/usr/local/bin/pgarchive",
		Databases:     []string{"db1", "app_prod"},
		OnCalendar:    DefaultOnCalendar,
		User:          DefaultUser,
		NotifyUser:    DefaultNotifyUser,
		PgDumpOptions: DefaultPgDumpOptions,
		TimeoutStart:  DefaultTimeoutStart,
		Verify:        true,
	}
}

func generate(t *testing.T, opts Options) map[string][]*unit.UnitOption {
	t.Helper()
	files, err := Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*unit.UnitOption{}
	for _, f := range files {
		if !bytes.HasPrefix(f.Content, []byte(Header)) || !bytes.HasSuffix(f.Content, []byte("\n")) {
			t.Errorf("%s: not a whole generated file:\n%s", f.Name, f.Content)
		}
		opts, err := unit.Deserialize(bytes.NewReader(f.Content))
		if err != nil {
			t.Fatalf("%s does not parse back: %v", f.Name, err)
		}
		out[f.Name] = opts
	}
	return out
}

func values(opts []*unit.UnitOption, name string) []string {
	var out []string
	for _, o := range opts {
		if o.Name == name {
			out = append(out, o.Value)
		}
	}
	return out
}

func value(t *testing.T, file string, opts []*unit.UnitOption, name string) string {
	t.Helper()
	v := values(opts, name)
	if len(v) != 1 {
		t.Fatalf("%s: %s= set %d times: %q", file, name, len(v), v)
	}
	return v[0]
}

// The golden files are what `pgarchive units` writes for the two configs;
// run `go test ./internal/units -update` after a deliberate change and
// read the diff.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config string
		edit   func(*Options)
	}{
		{"full", fullConfig, nil},
		{"minimal", minimalConfig, func(o *Options) {
			o.Databases = []string{"all"}
			o.OnCalendar = "*-*-* 01:15:00"
			o.PgDumpOptions = "-Fc --exclude-table=audit_*"
			o.ConfigPath = "/etc/pgarchive/my config.toml"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(t, tc.config)
			if tc.edit != nil {
				tc.edit(&opts)
			}
			files, err := Generate(opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", tc.name)
			if *update {
				os.RemoveAll(dir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
				p := filepath.Join(dir, f.Name)
				if *update {
					if err := os.WriteFile(p, f.Content, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(p)
				if err != nil {
					t.Fatalf("%v (run with -update to create)", err)
				}
				if !bytes.Equal(want, f.Content) {
					t.Errorf("%s differs from %s (run with -update after a deliberate change):\n%s", f.Name, p, f.Content)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if !slices.Contains(names, e.Name()) {
					t.Errorf("%s: golden file no longer generated", e.Name())
				}
			}
		})
	}
}

func TestFilesPerConfig(t *testing.T) {
	full := generate(t, options(t, fullConfig))
	want := []string{
		"pgarchive-drill.service", "pgarchive-drill.timer",
		"pgarchive-dump@.service", "pgarchive-dump@app_prod.timer", "pgarchive-dump@db1.timer",
		"pgarchive-notify@.service",
		"pgarchive-prune.service", "pgarchive-prune.timer",
		"pgarchive-verify.service", "pgarchive-verify.timer",
	}
	if got := keys(full); !slices.Equal(got, want) {
		t.Errorf("full config: files %q, want %q", got, want)
	}

	opts := options(t, minimalConfig)
	opts.Verify = false
	opts.Databases = []string{"all", "all"}
	min := generate(t, opts)
	want = []string{"pgarchive-dump@.service", "pgarchive-dump@all.timer", "pgarchive-notify@.service"}
	if got := keys(min); !slices.Equal(got, want) {
		t.Errorf("minimal config, --verify=false: files %q, want %q", got, want)
	}

	// prune_on_host = false: no prune here, whatever [retention] says.
	noPrune := generate(t, options(t, strings.Replace(fullConfig, `host = "db1"`, "host = \"db1\"\nprune_on_host = false", 1)))
	if _, ok := noPrune["pgarchive-prune.service"]; ok {
		t.Error("prune_on_host = false still gets a prune unit")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Each unit loads exactly the secrets its job reads.
func TestCredentialsPerUnit(t *testing.T) {
	units := generate(t, options(t, fullConfig))
	targets := []string{
		"rclone.config_file", "healthcheck.url_file",
		"targets.nas.secret_files.key_file",
		"targets.offsite.secret_files.access_key_id", "targets.offsite.secret_files.secret_access_key",
	}
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"pgarchive-dump@.service", append([]string{"encryption.recipients_file"}, targets...)},
		{"pgarchive-prune.service", targets},
		{"pgarchive-verify.service", append([]string{"drill.identity_file"}, targets...)},
		{"pgarchive-drill.service", append([]string{"drill.identity_file"}, targets...)},
		{"pgarchive-notify@.service", []string{"notify.urls_file"}},
		{"pgarchive-dump@db1.timer", nil},
	} {
		var got []string
		for _, v := range values(units[tc.file], "LoadCredential") {
			id, path, ok := strings.Cut(v, ":")
			if !ok || !strings.HasPrefix(path, "/etc/pgarchive/") {
				t.Errorf("%s: LoadCredential=%s", tc.file, v)
			}
			got = append(got, id)
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s loads %q, want %q", tc.file, got, want)
		}
	}
}

// Every credential id the config package knows goes to a job by its
// kind, not by the fallback that loads an unknown one everywhere.
func TestEverySecretHasAKind(t *testing.T) {
	c := parse(t, fullConfig)
	c.Encryption.PassphraseFile = "/etc/pgarchive/passphrase" // not valid with recipients, but a key all the same
	c.Drill.PassphraseFile = "/etc/pgarchive/drill-passphrase"
	all := secretsTargets | secretsEncrypt | secretsDecrypt | secretsNotify
	for _, s := range c.Secrets() {
		if k := kindOf(s.ID); k == all {
			t.Errorf("credential %q has no kind: say in kindOf which jobs read it", s.ID)
		}
	}
}

// The options that give a unit a mount namespace; systemd 252 keeps
// ExecStartPost= from the credentials of a unit that has one.
var mountNamespaceOptions = []string{
	"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts",
	"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
	"ProtectProc", "ProcSubset", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths",
	"TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths", "RootDirectory", "RootImage",
	"PrivateIPC", "MountFlags", "StateDirectory", "CacheDirectory", "LogsDirectory",
	"RuntimeDirectory", "DynamicUser",
}

func TestHardening(t *testing.T) {
	units := generate(t, options(t, fullConfig))
	process := []string{
		"NoNewPrivileges", "CapabilityBoundingSet", "RestrictAddressFamilies", "RestrictNamespaces",
		"RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute",
		"ProtectClock", "ProtectHostname", "SystemCallArchitectures", "SystemCallFilter",
		"PrivateUsers", "DevicePolicy",
	}
	for name, opts := range units {
		if !strings.HasSuffix(name, ".service") {
			continue
		}
		for _, o := range process {
			if len(values(opts, o)) == 0 {
				t.Errorf("%s lacks %s=", name, o)
			}
		}
		if v := values(opts, "CapabilityBoundingSet"); len(v) != 1 || v[0] != "" {
			t.Errorf("%s: CapabilityBoundingSet=%q, want it empty", name, v)
		}
		user := value(t, name, opts, "User")
		if user == DefaultUser && len(values(opts, "RemoveIPC")) > 0 {
			t.Errorf("%s runs as %s with RemoveIPC=: it would remove the server's shared memory", name, user)
		}
		if name == "pgarchive-dump@.service" {
			for _, o := range mountNamespaceOptions {
				if len(values(opts, o)) > 0 {
					t.Errorf("the dump unit sets %s=: a mount namespace keeps its ExecStartPost from the credentials", o)
				}
			}
			continue
		}
		for _, o := range []string{"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
			"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc"} {
			if len(values(opts, o)) == 0 {
				t.Errorf("%s lacks %s=", name, o)
			}
		}
		if v := value(t, name, opts, "ProtectSystem"); v != "strict" {
			t.Errorf("%s: ProtectSystem=%s", name, v)
		}
	}

	// Writable: prune the local targets and the metrics directory, the
	// drill its state, verify only the metrics, the notifier nothing.
	for _, tc := range []struct{ file, want string }{
		{"pgarchive-prune.service", "-/mnt/usb/pg -/var/lib/prometheus-node-exporter-text-files"},
		{"pgarchive-verify.service", "-/var/lib/prometheus-node-exporter-text-files"},
		{"pgarchive-drill.service", "-/var/lib/prometheus-node-exporter-text-files"},
	} {
		if got := value(t, tc.file, units[tc.file], "ReadWritePaths"); got != tc.want {
			t.Errorf("%s: ReadWritePaths=%s, want %s", tc.file, got, tc.want)
		}
	}
	if v := values(units["pgarchive-notify@.service"], "ReadWritePaths"); len(v) > 0 {
		t.Errorf("the notifier writes %q", v)
	}
	if v := value(t, "drill", units["pgarchive-drill.service"], "StateDirectory"); v != "pgarchive" {
		t.Errorf("drill: StateDirectory=%s", v)
	}

	// Without notify URLs the notifier has no network at all.
	min := generate(t, options(t, minimalConfig))
	n := min["pgarchive-notify@.service"]
	if value(t, "notify", n, "PrivateNetwork") != "yes" || value(t, "notify", n, "RestrictAddressFamilies") != "AF_UNIX" ||
		!strings.HasSuffix(value(t, "notify", n, "ExecStart"), " --dry-run") {
		t.Errorf("notifier without urls_file: %v", n)
	}
	// A local target under /home: ProtectHome= cannot hide it from prune.
	opts := options(t, minimalConfig+"\n[retention]\nkeep_last = 3\n")
	p := generate(t, opts)["pgarchive-prune.service"]
	if value(t, "prune", p, "ProtectHome") != "read-only" || value(t, "prune", p, "ReadWritePaths") != "-/home/backup/pg" {
		t.Errorf("prune of a target under /home: %v", p)
	}
}

// The dump is services.postgresqlBackup's: its compressor, suffix and
// file names, pg_dumpall for "all", the rename, then the push.
func TestDumpCommands(t *testing.T) {
	for _, tc := range []struct {
		compression, suffix, compress string
	}{
		{"gzip", ".gz", " | gzip -c -6 --rsyncable"},
		{"zstd", ".zstd", " | zstd -c -6 --rsyncable"},
		{"none", "", ""},
	} {
		t.Run(tc.compression, func(t *testing.T) {
			cfg := strings.Replace(fullConfig, `compression = "gzip"`, "compression = \""+tc.compression+"\"", 1)
			d := generate(t, options(t, cfg))["pgarchive-dump@.service"]
			pre := values(d, "ExecStartPre")
			start := values(d, "ExecStart")
			if len(pre) != 2 || len(start) != 2 {
				t.Fatalf("ExecStartPre=%q ExecStart=%q", pre, start)
			}
			if want := "+/usr/bin/install -d -m 0700 -o postgres /var/backup/postgresql"; pre[0] != want {
				t.Errorf("directory: %s, want %s", pre[0], want)
			}
			cur := `"/var/backup/postgresql/$$1.sql` + tc.suffix + `"`
			prev := `"/var/backup/postgresql/$$1.prev.sql` + tc.suffix + `"`
			for _, want := range []string{
				"if [ -e " + cur + " ]; then rm -f -- ",
				`"/var/backup/postgresql/$$1.prev.sql" "/var/backup/postgresql/$$1.prev.sql.gz" "/var/backup/postgresql/$$1.prev.sql.zstd"`,
				" && mv -- " + cur + " " + prev + "; fi' pgarchive-dump %i",
			} {
				if !strings.Contains(pre[1], want) {
					t.Errorf("rotation lacks %s:\n%s", want, pre[1])
				}
			}
			want := `/bin/bash -c 'set -o pipefail; umask 0077; if [ "$$1" = all ]; then pg_dumpall; else pg_dump -C "$$1"; fi` +
				tc.compress + ` > "/var/backup/postgresql/$$1.in-progress.sql` + tc.suffix + `"' pgarchive-dump %i`
			if start[0] != want {
				t.Errorf("dump:\n got %s\nwant %s", start[0], want)
			}
			if want := "/bin/mv -- /var/backup/postgresql/%i.in-progress.sql" + tc.suffix + " /var/backup/postgresql/%i.sql" + tc.suffix; start[1] != want {
				t.Errorf("rename: %s, want %s", start[1], want)
			}
			if got := value(t, "dump", d, "ExecStartPost"); got != "/usr/local/bin/pgarchive push --database %i" {
				t.Errorf("ExecStartPost=%s", got)
			}
			for _, kv := range [][2]string{
				{"OnFailure", "pgarchive-notify@%n.service"},
				{"Wants", "network-online.target postgresql.service"},
				{"After", "network-online.target postgresql.service"},
				{"TimeoutStartSec", "6h"},
				{"User", "postgres"},
				{"Type", "oneshot"},
				{"Environment", "PGARCHIVE_CONFIG=/etc/pgarchive/config.toml"},
			} {
				if got := value(t, "dump", d, kv[0]); got != kv[1] {
					t.Errorf("%s=%s, want %s", kv[0], got, kv[1])
				}
			}
		})
	}
}

// Paths and options with spaces, quotes, '$' and '%' reach the shell and
// systemd as they are, never as specifiers, variables or shell text.
func TestQuoting(t *testing.T) {
	opts := options(t, strings.Replace(fullConfig, `dump_dir = "/var/backup/postgresql"`,
		`dump_dir = "/srv/it's 100% $HOME"`, 1))
	opts.PgDumpOptions = `--exclude-table=log_* -T "x"`
	opts.ConfigPath = "/etc/pg archive/50%.toml"
	d := generate(t, opts)["pgarchive-dump@.service"]
	start := values(d, "ExecStart")
	want := `/bin/bash -c 'set -o pipefail; umask 0077; if [ "$$1" = all ]; then pg_dumpall; else pg_dump "--exclude-table=log_*" -T "\\"x\\"" "$$1"; fi | gzip -c -6 --rsyncable > "/srv/it\'s 100%% \\$$HOME/$$1.in-progress.sql.gz"' pgarchive-dump %i`
	if start[0] != want {
		t.Errorf("dump:\n got %s\nwant %s", start[0], want)
	}
	if want := `/bin/mv -- "/srv/it's 100%% $$HOME/%i.in-progress.sql.gz" "/srv/it's 100%% $$HOME/%i.sql.gz"`; start[1] != want {
		t.Errorf("rename:\n got %s\nwant %s", start[1], want)
	}
	if got, want := value(t, "dump", d, "Environment"), `"PGARCHIVE_CONFIG=/etc/pg archive/50%%.toml"`; got != want {
		t.Errorf("Environment=%s, want %s", got, want)
	}
	if got, want := values(d, "ExecStartPre")[0], `+/usr/bin/install -d -m 0700 -o postgres "/srv/it's 100%% $$HOME"`; got != want {
		t.Errorf("ExecStartPre=%s, want %s", got, want)
	}
}

func TestRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"database with a space", func(o *Options) { o.Databases = []string{"my db"} }, `database "my db" cannot be the instance`},
		{"database with a slash", func(o *Options) { o.Databases = []string{"a/b"} }, "cannot be the instance"},
		{"no database", func(o *Options) { o.Databases = nil }, "no database"},
		{"notifier as postgres", func(o *Options) { o.NotifyUser = "postgres" }, "the notifier cannot run as"},
		{"bad user", func(o *Options) { o.User = "post gres" }, `user "post gres" is not a user name`},
		{"relative binary", func(o *Options) { o.Binary = "pgarchive" }, "must be an absolute path"},
		{"relative config", func(o *Options) { o.ConfigPath = "config.toml" }, "must be an absolute path"},
		{"line break", func(o *Options) { o.OnCalendar = "daily\nExecStart=/bin/sh" }, "line break"},
		{"empty calendar", func(o *Options) { o.OnCalendar = " " }, "on-calendar is empty"},
		{"path with a line break", func(o *Options) { o.Config.DumpDir = "/var/backup\n" }, "line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(t, fullConfig)
			tc.edit(&opts)
			_, err := Generate(opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestWriteIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	opts := options(t, fullConfig)
	files, err := Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	// A unit of the same prefix written by hand is never touched.
	own := filepath.Join(dir, "pgarchive-custom.service")
	os.WriteFile(own, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)

	first, err := Write(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(first); got[Written] != len(files) || len(got) != 1 {
		t.Errorf("first run: %v", first)
	}
	stat := func(name string) os.FileInfo {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	before := stat("pgarchive-dump@.service")
	if before.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", before.Mode())
	}

	second, err := Write(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(second); got[Unchanged] != len(files) || len(got) != 1 {
		t.Errorf("second run: %v", second)
	}
	if after := stat("pgarchive-dump@.service"); !after.ModTime().Equal(before.ModTime()) {
		t.Error("an unchanged file was rewritten")
	}

	// db1 dropped, a new timeout: one timer goes, the units that carry
	// the timeout are rewritten, the rest stay.
	opts.Databases = []string{"app_prod"}
	opts.TimeoutStart = "2h"
	files, _ = Generate(opts)
	third, err := Write(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]string{}
	for _, c := range third {
		byPath[filepath.Base(c.Path)] = c.Action
	}
	for name, want := range map[string]string{
		"pgarchive-dump@db1.timer":      Removed,
		"pgarchive-dump@app_prod.timer": Unchanged,
		"pgarchive-dump@.service":       Written,
		"pgarchive-prune.service":       Written,
		"pgarchive-notify@.service":     Unchanged,
		"pgarchive-prune.timer":         Unchanged,
	} {
		if byPath[name] != want {
			t.Errorf("%s: %q, want %q", name, byPath[name], want)
		}
	}
	if _, err := os.Stat(own); err != nil {
		t.Errorf("a hand-written unit was removed: %v", err)
	}
	if _, ok := byPath["pgarchive-custom.service"]; ok {
		t.Error("a hand-written unit was reported")
	}
}

func TestWriteNeedsADirectory(t *testing.T) {
	if _, err := Write(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("wrote into a missing directory")
	}
}

func actions(changes []Change) map[string]int {
	out := map[string]int{}
	for _, c := range changes {
		out[c.Action]++
	}
	return out
}
