package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 8, item 8: check-config, as the NixOS module runs it at build
// time, refuses what push would fail at, with exit 2 and one line naming
// the key, and never repeats a secret written where it does not belong.
func TestCheckConfigNamesTheKey(t *testing.T) {
	const marker = "s3cr3t-MARKER-7d1a"
	_, recipient := keypair(t, false)
	enc := "[encryption]\n" + ageRecipients(recipient) + "\n"
	usb := localTarget("usb", t.TempDir())
	aDir := t.TempDir()
	aFile := harness.WriteFile(t, t.TempDir(), "not-a-dir", "x\n")

	tests := []struct {
		name, config, key string
	}{
		{"duration in words", "max_dump_age = \"1 hour\"\n" + enc + usb, "max_dump_age"},
		{"duration as a bare number", "stall_timeout = 3600\n" + enc + usb, "stall_timeout"},
		{"integer overflow", enc + usb + "[retention]\ndaily = 99999999999999999999\n", "retention.daily"},
		{"non-UTF-8 byte", enc + "[targets.usb]\ntype = \"local\"\npath = \"/mnt/\xffusb\"\n", "targets.usb.path"},
		{"relative local path", enc + "[targets.usb]\ntype = \"local\"\npath = \"pg\"\n", "targets.usb.path"},
		{"two targets, one place", enc + usb + strings.Replace(usb, "[targets.usb]", "[targets.usb2]", 1), "targets.usb2.path"},
		{"s3 without a bucket", enc + "[targets.s3]\ntype = \"s3\"\noptions = { provider = \"Minio\", endpoint = \"http://127.0.0.1:9000\" }\n", "targets.s3.path"},
		{"s3 without an endpoint", enc + "[targets.s3]\ntype = \"s3\"\npath = \"bucket\"\noptions = { provider = \"Other\" }\n", "targets.s3.options.endpoint"},
		{"inline secret", enc + "[targets.s3]\ntype = \"s3\"\npath = \"bucket\"\noptions = { provider = \"Minio\", endpoint = \"http://127.0.0.1:9000\", secret_access_key = \"" + marker + "\" }\n", "targets.s3.options.secret_access_key"},
		{"inline sftp password", enc + "[targets.nas]\ntype = \"sftp\"\npath = \"pg\"\noptions = { host = \"nas.lan\", pass = \"" + marker + "\" }\n", "targets.nas.options.pass"},
		{"password in drill.connection", enc + usb + "[drill]\nconnection = \"host=db password=" + marker + "\"\n", "drill.connection"},
		{"recipients file is a directory", "[encryption]\nrecipients_file = " + toml(aDir) + "\n" + usb, "encryption.recipients_file"},
		{"dump_dir is a file", "dump_dir = " + toml(aFile) + "\n" + enc + usb, "dump_dir"},
		{"require_mount on s3", enc + "[targets.s3]\ntype = \"s3\"\npath = \"bucket\"\nrequire_mount = true\noptions = { provider = \"AWS\" }\n", "targets.s3.require_mount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := harness.WriteFile(t, t.TempDir(), "config.toml", tt.config)
			r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "check-config")
			if r.code != 2 {
				t.Errorf("exit %d, want 2: %s", r.code, r)
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "pgarchive: error: config: "+tt.key+": ") {
				t.Errorf("want one stderr line naming %s, got: %s", tt.key, r)
			}
			if strings.Contains(r.stdout+r.stderr, marker) {
				t.Errorf("the secret got out: %s", r)
			}
		})
	}
}

// The module's build-time check runs where no secret exists: files that
// are missing must not fail check-config.
func TestCheckConfigPassesWithoutSecrets(t *testing.T) {
	_, recipient := keypair(t, false)
	gone := filepath.Join(t.TempDir(), "not-here")
	cfg := harness.WriteFile(t, t.TempDir(), "config.toml", `dump_dir = `+toml(gone+"/dumps")+`
host = "db1"
[encryption]
`+ageRecipients(recipient)+`
recipients_file = `+toml(gone+"/recipients")+`
[targets.usb]
type = "local"
path = `+toml(gone+"/usb")+`
require_mount = true
[targets.offsite]
type = "s3"
path = "bucket/pg"
options = { provider = "Other", endpoint = "https://s3.example.net" }
secret_files = { access_key_id = `+toml(gone+"/id")+`, secret_access_key = `+toml(gone+"/key")+` }
[drill]
identity_file = `+toml(gone+"/drill-key")+`
connection = "host=/run/postgresql user=postgres passfile=`+gone+`/pgpass"
`)
	r := mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "check-config")
	if !strings.HasPrefix(r.stdout, "config ok: ") {
		t.Errorf("stdout: %s", r)
	}
	if _, err := os.Stat(gone); err == nil {
		t.Errorf("check-config created %s", gone)
	}
}
