package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// credRecipients names every secret of recipients mode; credPassphrase
// those of passphrase mode. {host} is the directory of the configured
// (host) paths. The target off.site-2 has dots in its name, so its ids
// have more dots than a key split on them would suggest.
const (
	credRecipients = `
host = "db1"
[encryption]
recipients_file = "{host}/recipients"
[rclone]
config_file = "{host}/rclone.conf"
[targets.nas]
type = "sftp"
path = "pg"
options = { host = "nas", user = "backup" }
secret_files = { key_file = "{host}/nas_ssh" }
[targets."off.site-2"]
type = "s3"
path = "bucket/pg"
secret_files = { access_key_id = "{host}/s3_id", secret_access_key = "{host}/s3_secret" }
[targets.legacy]
remote = "offsite:pg"
[drill]
identity_file = "{host}/drill-key"
[notify]
urls_file = "{host}/notify-urls"
[healthcheck]
url_file = "{host}/ping-url"
`
	credPassphrase = `
host = "db1"
[encryption]
passphrase_file = "{host}/passphrase"
[targets.usb]
type = "local"
path = "/mnt/usb/pg"
[drill]
passphrase_file = "{host}/drill-passphrase"
`
)

// secretsByID returns c's secret paths by credential id.
func secretsByID(c *Config) map[string]string {
	out := map[string]string{}
	for _, s := range c.Secrets() {
		out[s.ID] = s.Path
	}
	return out
}

func TestSecretsNameEveryPathByDottedKey(t *testing.T) {
	c, err := Parse([]byte(strings.ReplaceAll(credRecipients, "{host}", "/run/secrets")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.Secrets() {
		got = append(got, s.ID+"="+s.Path)
	}
	want := []string{
		"encryption.recipients_file=/run/secrets/recipients",
		"rclone.config_file=/run/secrets/rclone.conf",
		"drill.identity_file=/run/secrets/drill-key",
		"notify.urls_file=/run/secrets/notify-urls",
		"healthcheck.url_file=/run/secrets/ping-url",
		"targets.nas.secret_files.key_file=/run/secrets/nas_ssh",
		"targets.off.site-2.secret_files.access_key_id=/run/secrets/s3_id",
		"targets.off.site-2.secret_files.secret_access_key=/run/secrets/s3_secret",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Secrets():\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadUsesCredentials(t *testing.T) {
	cases := []struct {
		name string
		src  string
		// credsEnv: "" leaves $CREDENTIALS_DIRECTORY empty, "dir" sets it
		// to the credentials directory, "relative" to its name relative
		// to the working directory, "missing" to a directory that does
		// not exist.
		credsEnv string
		// creds are the files in the credentials directory; dirs are
		// directories made there.
		creds, dirs []string
		// fromCreds are the ids whose path must end up in the
		// credentials directory; every other secret keeps its host path.
		fromCreds []string
	}{
		{
			name:     "no CREDENTIALS_DIRECTORY: the configured paths",
			src:      credRecipients,
			creds:    []string{"rclone.config_file", "targets.nas.secret_files.key_file"},
			credsEnv: "",
		},
		{
			name:     "every credential present wins",
			src:      credRecipients,
			credsEnv: "dir",
			creds: []string{"encryption.recipients_file", "rclone.config_file", "drill.identity_file",
				"notify.urls_file", "healthcheck.url_file", "targets.nas.secret_files.key_file",
				"targets.off.site-2.secret_files.access_key_id", "targets.off.site-2.secret_files.secret_access_key"},
			fromCreds: []string{"encryption.recipients_file", "rclone.config_file", "drill.identity_file",
				"notify.urls_file", "healthcheck.url_file", "targets.nas.secret_files.key_file",
				"targets.off.site-2.secret_files.access_key_id", "targets.off.site-2.secret_files.secret_access_key"},
		},
		{
			// A unit loads only the secrets its job uses: the notifier
			// its URLs, and every other path stays the host's.
			name:      "absent credentials fall back to the configured path",
			src:       credRecipients,
			credsEnv:  "dir",
			creds:     []string{"notify.urls_file"},
			fromCreds: []string{"notify.urls_file"},
		},
		{
			name:      "target names with dots: the id is the whole dotted key",
			src:       credRecipients,
			credsEnv:  "dir",
			creds:     []string{"targets.off.site-2.secret_files.secret_access_key", "target.off.site-2.access_key_id", "access_key_id", "key_file", "targets.nas.key_file", "off.site-2"},
			fromCreds: []string{"targets.off.site-2.secret_files.secret_access_key"},
		},
		{
			name:      "passphrase mode",
			src:       credPassphrase,
			credsEnv:  "dir",
			creds:     []string{"encryption.passphrase_file", "drill.passphrase_file"},
			fromCreds: []string{"encryption.passphrase_file", "drill.passphrase_file"},
		},
		{
			name:     "a directory that does not exist changes nothing",
			src:      credPassphrase,
			credsEnv: "missing",
		},
		{
			name:      "a relative CREDENTIALS_DIRECTORY gives absolute paths",
			src:       credPassphrase,
			credsEnv:  "relative",
			creds:     []string{"drill.passphrase_file"},
			fromCreds: []string{"drill.passphrase_file"},
		},
		{
			// An option name is not checked before Load: one that is not
			// a file name must not reach outside the directory.
			name:     "an id that is not a file name is not looked up",
			src:      credPassphrase + "[targets.nas]\ntype = \"sftp\"\npath = \"pg\"\nsecret_files = { \"x/../../escape\" = \"{host}/escape\" }\n",
			credsEnv: "dir",
			dirs:     []string{"targets.nas.secret_files.x"},
			creds:    []string{"../escape"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			host := filepath.Join(root, "host")
			creds := filepath.Join(root, "creds")
			for _, d := range []string{host, creds} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range tc.dirs {
				if err := os.MkdirAll(filepath.Join(creds, d), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tc.creds {
				if err := os.WriteFile(filepath.Join(creds, id), []byte("from the credential\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(root, "config.toml")
			if err := os.WriteFile(file, []byte(strings.ReplaceAll(tc.src, "{host}", host)), 0o600); err != nil {
				t.Fatal(err)
			}
			switch tc.credsEnv {
			case "":
				t.Setenv(CredentialsEnv, "")
			case "dir":
				t.Setenv(CredentialsEnv, creds)
			case "missing":
				t.Setenv(CredentialsEnv, filepath.Join(root, "nothing"))
			case "relative":
				t.Chdir(root)
				t.Setenv(CredentialsEnv, "creds")
			}

			c, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			secrets := c.Secrets()
			if len(secrets) == 0 {
				t.Fatal("no secrets")
			}
			fromCreds := map[string]bool{}
			for _, id := range tc.fromCreds {
				fromCreds[id] = true
			}
			for _, s := range secrets {
				var want string
				if fromCreds[s.ID] {
					want = filepath.Join(creds, s.ID)
					delete(fromCreds, s.ID)
				} else if !strings.HasPrefix(s.Path, host+"/") {
					want = "the configured path under " + host
				}
				if want != "" && s.Path != want {
					t.Errorf("%s = %q, want %s", s.ID, s.Path, want)
				}
			}
			for id := range fromCreds {
				t.Errorf("%s: not a secret of this config", id)
			}
		})
	}
}

// TestLoadReadsNoSecret: the credentials and the configured files are
// FIFOs, which block whoever opens them to read; Load must only look.
func TestLoadReadsNoSecret(t *testing.T) {
	root := t.TempDir()
	host := filepath.Join(root, "host")
	creds := filepath.Join(root, "creds")
	for _, d := range []string{host, creds} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	src := strings.ReplaceAll(credRecipients, "{host}", host)
	file := filepath.Join(root, "config.toml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range c.Secrets() {
		fifo := s.Path
		if i%2 == 0 {
			fifo = filepath.Join(creds, s.ID) // every other one as a credential
		}
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(CredentialsEnv, creds)

	done := make(chan error, 1)
	go func() {
		_, err := Load(file)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		// The goroutine stays blocked in open(2); the test binary ends.
		t.Fatal("Load opened a secret file (it blocked on a FIFO)")
	}
}
