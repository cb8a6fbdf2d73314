package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const minimal = `
host = "db1"
[encryption]
recipients = ["age1example"]
[targets.local]
type = "local"
path = "/srv/backup"
`

func TestParseMinimalAppliesDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.DumpDir != "/var/backup/postgresql" || c.Compression != "gzip" || c.MaxDumpAge.Duration != time.Hour || c.StallTimeout.Duration != DefaultStallTimeout {
		t.Errorf("defaults not applied: %+v", c)
	}
	if got := c.DumpPath("db1"); got != "/var/backup/postgresql/db1.sql.gz" {
		t.Errorf("DumpPath = %q", got)
	}
}

func TestParseIssueExample(t *testing.T) {
	src := `
dump_dir = "/var/backup/postgresql"
compression = "zstd"
host = "db1"
max_dump_age = "2h"

[encryption]
recipients = ["age1..."]
recipients_file = "/path"

[targets.nas]
type = "sftp"
path = "backups/pg"
options = { host = "nas.lan", user = "backup", key_file = "/run/credentials/x/ssh_key", port = 2222, disable_hashcheck = true }
secret_files = { pass = "/run/secrets/nas" }

[targets.legacy]
remote = "archive-target-database:db"

[rclone]
config_file = "/run/secrets/rclone/database-archive.conf"
`
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DumpPath("all"); got != "/var/backup/postgresql/all.sql.zstd" {
		t.Errorf("DumpPath(all) = %q", got)
	}
	opts, err := c.Targets["nas"].StringOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts["port"] != "2222" || opts["disable_hashcheck"] != "true" || opts["host"] != "nas.lan" {
		t.Errorf("options = %v", opts)
	}
	if c.MaxDumpAge.Duration != 2*time.Hour {
		t.Errorf("max_dump_age = %v", c.MaxDumpAge)
	}
	if got := strings.Join(c.TargetNames(), ","); got != "legacy,nas" {
		t.Errorf("TargetNames = %q", got)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	base := `
[encryption]
recipients = ["age1x"]
[targets.a]
type = "local"
path = "/srv/a"
`
	tests := []struct {
		name, src, key, contains string
	}{
		{"unknown top-level key", "dump_dri = \"/x\"\n" + base, "dump_dri", "unknown key"},
		{"unknown target key", base + "pth = \"x\"\n", "targets.a.pth", "unknown key"},
		{"unknown encryption key", strings.Replace(base, "recipients =", "recipient =", 1), "encryption.recipient", "unknown key"},
		{"bad compression", "compression = \"xz\"\n" + base, "compression", "gzip, zstd, none"},
		{"relative dump dir", "dump_dir = \"backups\"\n" + base, "dump_dir", "absolute"},
		{"bad duration", "max_dump_age = \"soon\"\n" + base, "max_dump_age", "duration"},
		{"no targets", "[encryption]\nrecipients = [\"age1x\"]\n", "targets", "at least one"},
		{"no encryption", "[targets.a]\ntype = \"local\"\n", "encryption", "recipients"},
		{"both type and remote", base + "remote = \"r:p\"\n", "targets.a", "not both"},
		{"neither type nor remote", "[encryption]\nrecipients = [\"age1x\"]\n[targets.a]\npath = \"x\"\n", "targets.a", "set type"},
		{"remote without rclone config", "[encryption]\nrecipients = [\"age1x\"]\n[targets.a]\nremote = \"r:p\"\n", "targets.a.remote", "rclone.config_file"},
		{"relative secret file", base + "secret_files = { pass = \"pw\" }\n", "targets.a.secret_files.pass", "absolute"},
		{"secret also inline", base + "options = { pass = \"x\" }\nsecret_files = { pass = \"/pw\" }\n", "targets.a.secret_files.pass", "also set"},
		{"option of odd type", base + "options = { x = [1] }\n", "targets.a.options.x", "string, number or boolean"},
		{"dotdot in path", strings.Replace(base, "/srv/a", "/srv/../up", 1), "targets.a.path", ".."},
		{"bad target name", strings.Replace(base, "targets.a", "targets.\"a b\"", 1), "targets.a b", "letters"},
		{"toml syntax", "dump_dir = \n", "", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("no error for:\n%s", tt.src)
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if cerr.Key != tt.key && tt.key != "" {
				t.Errorf("key = %q, want %q (error: %v)", cerr.Key, tt.key, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestPassphraseExclusiveWithRecipients(t *testing.T) {
	src := `
[encryption]
recipients = ["age1x"]
passphrase_file = "/run/pass"
[targets.a]
type = "local"
`
	_, err := Parse([]byte(src))
	if err == nil || !strings.Contains(err.Error(), "encryption.passphrase_file") {
		t.Fatalf("err = %v, want one naming encryption.passphrase_file", err)
	}
}

func TestParseOperationsSections(t *testing.T) {
	src := "prune_on_host = false\n" + minimal + `
[retention]
daily = 7
weekly = 4
monthly = 6
incomplete_grace = "12h"
[drill]
identity_file = "/run/credentials/drill/key"
queries = ["SELECT count(*) > 0 FROM users"]
[notify]
urls_file = "/run/secrets/notify"
[healthcheck]
url_file = "/run/secrets/hc"
[metrics]
textfile = "/var/lib/prometheus-node-exporter-text-files/pgarchive.prom"
[status]
max_age = "49h"
`
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.PruneAllowed() {
		t.Error("prune_on_host = false not honoured")
	}
	if c.Retention.Daily != 7 || c.Retention.Weekly != 4 || c.Retention.Monthly != 6 || c.Retention.IncompleteGrace.Duration != 12*time.Hour {
		t.Errorf("retention = %+v", c.Retention)
	}
	if c.Status.MaxAge.Duration != 49*time.Hour || c.Drill.StateDir != DefaultDrillStateDir || len(c.Drill.Queries) != 1 {
		t.Errorf("status/drill = %+v %+v", c.Status, c.Drill)
	}

	d, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if !d.PruneAllowed() || d.Retention.IncompleteGrace.Duration != DefaultIncompleteGrace || d.Status.MaxAge.Duration != DefaultStatusMaxAge {
		t.Errorf("defaults: %+v", d)
	}

	for _, bad := range []struct{ src, key string }{
		{minimal + "[retention]\ndaily = -1\n", "retention.daily"},
		{minimal + "[retention]\ndaily = 7\nincomplete_grace = \"5m\"\n", "retention.incomplete_grace"},
		{minimal + "[retention]\ndayly = 7\n", "retention.dayly"},
		{minimal + "[metrics]\ntextfile = \"pgarchive.prom\"\n", "metrics.textfile"},
		{minimal + "[drill]\nidentity_file = \"/a\"\npassphrase_file = \"/b\"\n", "drill.passphrase_file"},
	} {
		_, err := Parse([]byte(bad.src))
		var cerr *Error
		if !errors.As(err, &cerr) || cerr.Key != bad.key {
			t.Errorf("want error on key %q, got %v", bad.key, err)
		}
	}
}

func TestLines(t *testing.T) {
	got := Lines([]byte("# team channel\n\n  ntfy://a  \r\n#x\ngeneric+https://b\n"))
	if strings.Join(got, "|") != "ntfy://a|generic+https://b" {
		t.Errorf("Lines = %q", got)
	}
}

func TestHasPassword(t *testing.T) {
	for _, tt := range []struct {
		conn string
		want bool
	}{
		{"", false},
		{"host=/run/postgresql user=postgres", false},
		{"host=db passfile=/run/secrets/pgpass", false},
		{"host=db user=password", false},
		{"application_name='password=x' host=db", false},
		{`application_name=a\ password=x`, false},
		{"postgresql://drill@db:5432/postgres", false},
		{"postgresql://db/postgres?passfile=/run/pgpass", false},
		{"postgresql:///postgres?host=%2Frun%2Fpostgresql", false},
		{"host=db password=x", true},
		{"password = 'a b' host=db", true},
		{"host=db\tpassword\t=\tx", true},
		{"host = db junk password=x", true},
		{"postgresql://drill:x@db/postgres", true},
		{"postgres://drill:@db", true},
		{"postgresql://db/postgres?sslmode=require&password=x", true},
		{"postgresql://db?pass%77ord=x", true},
	} {
		if got := hasPassword(tt.conn); got != tt.want {
			t.Errorf("hasPassword(%q) = %v, want %v", tt.conn, got, tt.want)
		}
	}
}

// Targets that only look alike must not be taken for one place.
func TestDistinctPlacesPass(t *testing.T) {
	src := minimal + `
[targets.usb2]
type = "local"
path = "/srv/backup2"
[targets.s3a]
type = "s3"
path = "bucket/pg"
options = { provider = "Minio", endpoint = "https://a.example" }
[targets.s3b]
type = "s3"
path = "bucket/pg"
options = { provider = "Minio", endpoint = "https://b.example" }
[targets.s3c]
type = "s3"
path = "bucket/pg2"
options = { provider = "Minio", endpoint = "https://a.example" }
[targets.nas]
type = "sftp"
path = "pg"
options = { host = "nas", port = 22 }
[targets.nas2]
type = "sftp"
path = "pg"
options = { host = "nas", port = 2222 }
[targets.nas3]
type = "sftp"
path = "/pg"
options = { host = "nas" }
[targets.sealed]
type = "crypt"
options = { remote = "/srv/backup" }
[targets.r1]
remote = "offsite:pg"
[targets.r2]
remote = "offsite:/pg"
[rclone]
config_file = "/etc/rclone.conf"
`
	if _, err := Parse([]byte(src)); err != nil {
		t.Fatal(err)
	}
}
