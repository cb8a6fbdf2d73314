package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/job"
)

// checkConfig takes the path check-config takes (cmd/pgarchive's
// loadConfig): parse and validate, then job.CheckConfig.
func checkConfig(data []byte) error {
	cfg, err := config.Parse(data)
	if err != nil {
		return err
	}
	return job.CheckConfig(cfg)
}

const (
	recipient = "age1mequd5ffsnsfx6ur3uarj9nfphqec4wcfq30zkyfls4ecvycdfjsdc5tvv"
	enc       = "[encryption]\nrecipients = [\"" + recipient + "\"]\n"
	usb       = "[targets.usb]\ntype = \"local\"\npath = \"/mnt/usb/pg\"\n"
	nas       = "[targets.nas]\ntype = \"sftp\"\npath = \"pg\"\n"
	s3        = "[targets.s3]\ntype = \"s3\"\npath = \"bucket/pg\"\n"
	s3opts    = "options = { provider = \"Minio\", endpoint = \"https://s3.example.net\" }\n"
	legacy    = "[targets.legacy]\nremote = \"offsite:pg\"\n"
	rcloneCfg = "[rclone]\nconfig_file = \"/run/secrets/rclone.conf\"\n"
	// marker stands in for a secret written where it does not belong; no
	// error may repeat it.
	marker = "s3cr3t-MARKER-9f2c"
)

// malformed are configs check-config must refuse with one line naming key
// (and also, when set, a second thing: the other target of a pair). In src,
// {dir} is an existing directory, {file} an existing file and {link} a
// symlink to {dir}.
var malformed = []struct {
	name, src, key, also string
}{
	// Durations and numbers: the decoder knows the key, the error says it.
	{"duration with a space", "max_dump_age = \"1 hour\"\n" + enc + usb, "max_dump_age", `"1 hour"`},
	{"negative duration", "max_dump_age = \"-1h\"\n" + enc + usb, "max_dump_age", "positive"},
	{"duration as a bare integer", "max_dump_age = 3600\n" + enc + usb, "max_dump_age", "bare number"},
	{"duration as a float", "max_dump_age = 1.5\n" + enc + usb, "max_dump_age", "bare number"},
	{"zero duration", "max_dump_age = \"0s\"\n" + enc + usb, "max_dump_age", "positive"},
	{"duration as a boolean", "max_dump_age = true\n" + enc + usb, "max_dump_age", "duration"},
	{"stall_timeout under a second", "stall_timeout = \"500ms\"\n" + enc + usb, "stall_timeout", "shorter than 1s"},
	{"stall_timeout as a bare integer", "stall_timeout = 600\n" + enc + usb, "stall_timeout", "bare number"},
	{"stall_timeout in words", "stall_timeout = \"ten minutes\"\n" + enc + usb, "stall_timeout", "not a duration"},
	{"status max_age in days", enc + usb + "[status]\nmax_age = \"1d\"\n", "status.max_age", "not a duration"},
	{"incomplete_grace too short", enc + usb + "[retention]\ndaily = 7\nincomplete_grace = \"5m\"\n", "retention.incomplete_grace", "shorter"},
	{"integer overflow", enc + usb + "[retention]\ndaily = 99999999999999999999\n", "retention.daily", "out of range"},
	{"float overflow", enc + usb + "[retention]\nmonthly = 1e400\n", "retention.monthly", "out of range"},
	{"count as a string", enc + usb + "[retention]\ndaily = \"seven\"\n", "retention.daily", "must be an integer, not a string"},
	{"count as a float", enc + usb + "[retention]\nweekly = 1.5\n", "retention.weekly", "must be an integer, not a float"},
	{"negative count", enc + usb + "[retention]\nkeep_last = -1\n", "retention.keep_last", "zero or more"},
	{"boolean as a string", "prune_on_host = \"yes\"\n" + enc + usb, "prune_on_host", "boolean"},

	// Bytes the parser cannot read, and syntax.
	{"non-UTF-8 host", "host = \"db\xff1\"\n" + enc + usb, "host", "UTF-8"},
	{"non-UTF-8 path", enc + "[targets.usb]\ntype = \"local\"\npath = \"/mnt/\xffusb\"\n", "targets.usb.path", "UTF-8"},
	{"non-UTF-8 option", enc + nas + "options = { host = \"nas\xfe\" }\n", "targets.nas.options.host", "UTF-8"},
	{"key given twice", "host = \"a\"\nhost = \"b\"\n" + enc + usb, "host", "already been defined"},
	{"value missing", "dump_dir =\n" + enc + usb, "dump_dir", "line 1"},

	// Top level and encryption.
	{"unknown key", "dump_dri = \"/x\"\n" + enc + usb, "dump_dri", "unknown key"},
	{"unknown compression", "compression = \"xz\"\n" + enc + usb, "compression", "gzip, zstd, none"},
	{"relative dump_dir", "dump_dir = \"backups\"\n" + enc + usb, "dump_dir", "absolute"},
	{"dump_dir as an array", "dump_dir = [\"/a\"]\n" + enc + usb, "dump_dir", "must be a string, not an array"},
	{"host with a slash", "host = \"a/b\"\n" + enc + usb, "host", "letters"},
	{"recipients as a string", "[encryption]\nrecipients = \"" + recipient + "\"\n" + usb, "encryption.recipients", "must be an array"},
	{"not a recipient", "[encryption]\nrecipients = [\"age1notakey\"]\n" + usb, "encryption.recipients[0]", "age1notakey"},
	{"recipients and passphrase", "[encryption]\nrecipients = [\"" + recipient + "\"]\npassphrase_file = \"/run/p\"\n" + usb, "encryption.passphrase_file", "cannot be combined"},
	{"relative recipients_file", "[encryption]\nrecipients_file = \"recipients.txt\"\n" + usb, "encryption.recipients_file", "absolute"},
	{"misspelt encryption key", "[encryption]\nrecipient = [\"" + recipient + "\"]\n" + usb, "encryption.recipient", "unknown key"},

	// Files, where they exist.
	{"recipients_file is a directory", "[encryption]\nrecipients_file = \"{dir}\"\n" + usb, "encryption.recipients_file", "is a directory"},
	{"passphrase_file is a directory", "[encryption]\npassphrase_file = \"{dir}\"\n" + usb, "encryption.passphrase_file", "is a directory"},
	{"dump_dir is a file", "dump_dir = \"{file}\"\n" + enc + usb, "dump_dir", "not a directory"},
	{"drill identity_file is a directory", enc + usb + "[drill]\nidentity_file = \"{dir}\"\n", "drill.identity_file", "is a directory"},
	{"drill passphrase_file is a directory", enc + usb + "[drill]\npassphrase_file = \"{dir}\"\n", "drill.passphrase_file", "is a directory"},
	{"drill state_dir is a file", enc + usb + "[drill]\nstate_dir = \"{file}\"\n", "drill.state_dir", "not a directory"},
	{"notify urls_file is a directory", enc + usb + "[notify]\nurls_file = \"{dir}\"\n", "notify.urls_file", "is a directory"},
	{"healthcheck url_file is a directory", enc + usb + "[healthcheck]\nurl_file = \"{dir}\"\n", "healthcheck.url_file", "is a directory"},
	{"rclone config_file is a directory", enc + legacy + "[rclone]\nconfig_file = \"{dir}\"\n", "rclone.config_file", "is a directory"},
	{"metrics textfile is a directory", enc + usb + "[metrics]\ntextfile = \"{dir}\"\n", "metrics.textfile", "is a directory"},
	{"secret file is a directory", enc + nas + "options = { host = \"nas.lan\" }\nsecret_files = { key_file = \"{dir}\" }\n", "targets.nas.secret_files.key_file", "is a directory"},
	{"local path is a file", enc + "[targets.usb]\ntype = \"local\"\npath = \"{file}\"\n", "targets.usb.path", "not a directory"},

	// Passwords in the drill's connection string.
	{"password keyword", enc + usb + "[drill]\nconnection = \"host=db user=drill password=" + marker + "\"\n", "drill.connection", "passfile"},
	{"quoted password with spaces", enc + usb + "[drill]\nconnection = \"host=db password = '" + marker + " x'\"\n", "drill.connection", "passfile"},
	{"password in a URI", enc + usb + "[drill]\nconnection = \"postgresql://drill:" + marker + "@db:5432/postgres\"\n", "drill.connection", "passfile"},
	{"password in a URI query", enc + usb + "[drill]\nconnection = \"postgres://db/postgres?sslmode=require&password=" + marker + "\"\n", "drill.connection", "passfile"},

	// Local targets.
	{"empty local path", enc + "[targets.usb]\ntype = \"local\"\npath = \"\"\n", "targets.usb.path", "absolute"},
	{"no local path", enc + "[targets.usb]\ntype = \"local\"\n", "targets.usb.path", "absolute"},
	{"relative local path", enc + "[targets.usb]\ntype = \"local\"\npath = \"backups/pg\"\n", "targets.usb.path", "absolute"},
	{"dot local path", enc + "[targets.usb]\ntype = \"local\"\npath = \"./pg\"\n", "targets.usb.path", "absolute"},
	{"dotdot in a path", enc + "[targets.usb]\ntype = \"local\"\npath = \"/mnt/../etc\"\n", "targets.usb.path", ".."},
	{"two local targets, one path", enc + usb + "[targets.usb2]\ntype = \"local\"\npath = \"/mnt/usb/pg\"\n", "targets.usb2.path", "targets.usb.path"},
	{"two local targets, one path spelt twice", enc + usb + "[targets.usb2]\ntype = \"local\"\npath = \"/mnt//usb/./pg/\"\n", "targets.usb2.path", "targets.usb.path"},
	{"two local targets through a symlink", enc + "[targets.a]\ntype = \"local\"\npath = \"{dir}/pg\"\n[targets.b]\ntype = \"local\"\npath = \"{link}/pg\"\n", "targets.b.path", "targets.a.path"},
	{"require_mount on s3", enc + s3 + s3opts + "require_mount = true\n", "targets.s3.require_mount", "local"},
	{"require_mount on a remote", enc + legacy + "require_mount = true\n" + rcloneCfg, "targets.legacy.require_mount", "local"},
	{"require_mount as a string", enc + usb + "require_mount = \"yes\"\n", "targets.usb.require_mount", "must be a boolean"},

	// Bucket stores.
	{"s3 without a bucket", enc + "[targets.s3]\ntype = \"s3\"\n" + s3opts, "targets.s3.path", "bucket"},
	{"s3 bucket of slashes", enc + "[targets.s3]\ntype = \"s3\"\npath = \"/\"\n" + s3opts, "targets.s3.path", "bucket"},
	{"s3 without an endpoint", enc + s3 + "options = { provider = \"Other\" }\n", "targets.s3.options.endpoint", "AWS"},
	{"s3 with neither endpoint nor provider", enc + s3, "targets.s3.options.endpoint", "AWS"},
	{"b2 without a bucket", enc + "[targets.b2]\ntype = \"b2\"\noptions = { account = \"0012\" }\n", "targets.b2.path", "bucket"},
	{"gcs without a bucket", enc + "[targets.gcs]\ntype = \"gcs\"\npath = \"\"\n", "targets.gcs.path", "bucket"},
	{"azureblob without a container", enc + "[targets.az]\ntype = \"azureblob\"\noptions = { account = \"acct\" }\n", "targets.az.path", "container"},
	{"two s3 targets, one bucket", enc + "[targets.s3a]\ntype = \"s3\"\npath = \"bucket/pg\"\n" + s3opts + "[targets.s3b]\ntype = \"s3\"\npath = \"/bucket/pg/\"\noptions = { provider = \"Other\", endpoint = \"S3.example.net/\" }\n", "targets.s3b.path", "targets.s3a.path"},
	{"two sftp targets, one directory", enc + nas + "options = { host = \"nas.lan\", user = \"pg\" }\n[targets.nas2]\ntype = \"sftp\"\npath = \"pg/\"\noptions = { host = \"NAS.lan\", user = \"pg\", port = 22 }\n", "targets.nas2.path", "targets.nas.path"},
	{"two remotes, one place", enc + "[targets.a]\nremote = \"offsite:pg\"\n[targets.b]\nremote = \"offsite:\"\npath = \"pg\"\n" + rcloneCfg, "targets.b.remote", "targets.a.remote"},

	// Secrets written inline.
	{"inline s3 secret key", enc + s3 + "options = { provider = \"Minio\", endpoint = \"https://s3.example.net\", secret_access_key = \"" + marker + "\" }\n", "targets.s3.options.secret_access_key", "secret_files"},
	{"inline s3 session token", enc + s3 + "options = { provider = \"AWS\", session_token = \"" + marker + "\" }\n", "targets.s3.options.session_token", "secret_files"},
	{"inline sftp password", enc + nas + "options = { host = \"nas.lan\", pass = \"" + marker + "\" }\n", "targets.nas.options.pass", "secret_files"},
	{"inline sftp key", enc + nas + "options = { host = \"nas.lan\", key_pem = \"-----BEGIN " + marker + "\" }\n", "targets.nas.options.key_pem", "secret_files"},
	{"inline sftp key passphrase", enc + nas + "options = { host = \"nas.lan\", key_file_pass = \"" + marker + "\" }\n", "targets.nas.options.key_file_pass", "secret_files"},
	{"inline sftp bad-typed secret", enc + nas + "options = { host = \"nas.lan\", pass = 12345 }\n", "targets.nas.options.pass", "secret_files"},
	{"inline webdav token", enc + "[targets.dav]\ntype = \"webdav\"\npath = \"pg\"\noptions = { url = \"https://dav.example\", bearer_token = \"" + marker + "\" }\n", "targets.dav.options.bearer_token", "secret_files"},
	{"inline b2 key", enc + "[targets.b2]\ntype = \"b2\"\npath = \"bucket\"\noptions = { account = \"0012\", key = \"" + marker + "\" }\n", "targets.b2.options.key", "secret_files"},
	{"inline gcs credentials", enc + "[targets.gcs]\ntype = \"gcs\"\npath = \"bucket\"\noptions = { service_account_credentials = \"{\\\"key\\\": \\\"" + marker + "\\\"}\" }\n", "targets.gcs.options.service_account_credentials", "secret_files"},
	{"inline azureblob key", enc + "[targets.az]\ntype = \"azureblob\"\npath = \"container\"\noptions = { account = \"acct\", key = \"" + marker + "\" }\n", "targets.az.options.key", "secret_files"},
	{"inline crypt password", enc + "[targets.sealed]\ntype = \"crypt\"\noptions = { remote = \"/srv/raw\", password = \"" + marker + "\" }\n", "targets.sealed.options.password", "secret_files"},

	// Backends and their options.
	{"unknown backend", enc + "[targets.x]\ntype = \"sftpp\"\n", "targets.x.type", "unknown backend"},
	{"unknown option", enc + nas + "options = { hostt = \"nas\" }\n", "targets.nas.options.hostt", "unknown option"},
	{"port not a number", enc + nas + "options = { host = \"nas\", port = \"ssh\" }\n", "targets.nas.options.port", "invalid value"},
	{"option as an array", enc + nas + "options = { host = [\"nas\"] }\n", "targets.nas.options.host", "string, number or boolean"},
	{"relative secret file", enc + nas + "options = { host = \"nas\" }\nsecret_files = { pass = \"pw\" }\n", "targets.nas.secret_files.pass", "absolute"},
	{"secret file as a number", enc + nas + "secret_files = { pass = 1 }\n", "targets.nas.secret_files.pass", "must be a string"},
	{"secret file for no option", enc + nas + "options = { host = \"nas\" }\nsecret_files = { password = \"/run/p\" }\n", "targets.nas.secret_files.password", "unknown option"},
	{"remote without a colon", enc + "[targets.legacy]\nremote = \"offsite\"\n" + rcloneCfg, "targets.legacy.remote", "name:path"},
	{"remote carrying a password", enc + "[targets.legacy]\nremote = \"offsite,pass=" + marker + ":pg\"\n" + rcloneCfg, "targets.legacy.remote", "rclone.conf"},
	{"on-the-fly remote", enc + "[targets.legacy]\nremote = \":sftp:pg\"\n" + rcloneCfg, "targets.legacy.remote", "on-the-fly"},
	{"remote without rclone config", enc + legacy, "targets.legacy.remote", "rclone.config_file"},
	{"type and remote", enc + legacy + "type = \"sftp\"\n" + rcloneCfg, "targets.legacy", "not both"},
	{"target that is not a table", enc + "[targets]\nusb = 1\n", "targets.usb", "must be a table"},
	{"no target", enc, "targets", "at least one"},
	{"queries not strings", enc + usb + "[drill]\nqueries = [1]\n", "drill.queries", "must be a string, not an integer"},
	{"drill key and passphrase", enc + usb + "[drill]\nidentity_file = \"/a\"\npassphrase_file = \"/b\"\n", "drill.passphrase_file", "cannot be combined"},
	{"relative metrics textfile", enc + usb + "[metrics]\ntextfile = \"pgarchive.prom\"\n", "metrics.textfile", "absolute"},
}

// malformedFixture makes the files {dir}, {file} and {link} stand for.
func malformedFixture(t *testing.T) *strings.Replacer {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "dir")
	file := filepath.Join(tmp, "file")
	link := filepath.Join(tmp, "link")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(marker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("{dir}", dir, "{file}", file, "{link}", link)
}

func TestMalformedConfigsNameTheKey(t *testing.T) {
	if len(malformed) < 50 {
		t.Fatalf("only %d malformed configs", len(malformed))
	}
	fill := malformedFixture(t)
	seen := map[string]bool{}
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			if seen[tc.name] {
				t.Fatalf("two cases named %q", tc.name)
			}
			seen[tc.name] = true
			err := checkConfig([]byte(fill.Replace(tc.src)))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.src)
			}
			msg := err.Error()
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Errorf("%q is not a *config.Error", msg)
			}
			if !strings.HasPrefix(msg, "config: "+tc.key+": ") {
				t.Errorf("error %q does not name %s", msg, tc.key)
			}
			if tc.also != "" && !strings.Contains(msg, tc.also) {
				t.Errorf("error %q does not say %q", msg, tc.also)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, marker) {
				t.Errorf("error repeats a secret: %q", msg)
			}
		})
	}
}

// The checks that look at files must not fail a config whose files do not
// exist: the NixOS module runs check-config in a build sandbox, where no
// secret is.
func TestMissingFilesPass(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "gone")
	src := `dump_dir = "` + gone + `/dumps"
stall_timeout = "30s"
[encryption]
recipients_file = "` + gone + `/recipients"
[targets.usb]
type = "local"
path = "` + gone + `/usb"
require_mount = true
[targets.nas]
type = "sftp"
path = "pg"
options = { host = "nas.lan", user = "backup", port = 2222 }
secret_files = { key_file = "` + gone + `/ssh_key", pass = "` + gone + `/pass" }
[targets.offsite]
type = "s3"
path = "bucket/pg"
options = { provider = "AWS", region = "eu-west-1" }
secret_files = { access_key_id = "` + gone + `/id", secret_access_key = "` + gone + `/key" }
[rclone]
config_file = "` + gone + `/rclone.conf"
[drill]
identity_file = "` + gone + `/drill-key"
connection = "host=/run/postgresql user=postgres passfile=` + gone + `/pgpass application_name='password=x'"
state_dir = "` + gone + `/state"
[notify]
urls_file = "` + gone + `/notify"
[healthcheck]
url_file = "` + gone + `/ping"
[metrics]
textfile = "` + gone + `/pgarchive.prom"
`
	if err := checkConfig([]byte(src)); err != nil {
		t.Fatalf("refused a config whose files are merely missing: %v", err)
	}
}

// FuzzParse checks the loader never panics and that anything it accepts
// is valid and has at least one target.
func FuzzParse(f *testing.F) {
	f.Add([]byte(enc + usb))
	f.Add([]byte("[targets.x]\nremote = \"a:b\"\n[rclone]\nconfig_file = \"/c\"\n[encryption]\npassphrase_file = \"/p\"\n"))
	f.Add([]byte("compression = \"zstd\"\nmax_dump_age = \"90m\"\n"))
	f.Add([]byte("stall_timeout = \"30s\"\n" + enc + usb + "require_mount = true\n"))
	for _, tc := range malformed {
		f.Add([]byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data)
		if err != nil {
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if len(c.Targets) == 0 {
			t.Fatal("accepted a config without targets")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
	})
}
