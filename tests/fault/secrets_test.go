package fault

import (
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

	"github.com/pgarchive/pgarchive/tests/harness"
)

// marker is what every secret file of TestSecretsStayOut holds, numbered;
// no output may contain it.
const marker = "SECRET-MARKER-"

// Every command, with and without --verbose, against a config whose every
// secret file holds a marker string: S3 keys, an SFTP key's passphrase and
// an SFTP password, the encryption passphrase, the notify URLs, the
// healthcheck URL and the values of an rclone.conf. Once with secrets that
// work (every target is written) and once with secrets that fail (wrong
// keys, a refused password, a URL that is not one): no marker appears on
// stdout or stderr, in the metrics textfile or its state, or in a body a
// webhook or the healthcheck receiver got.
func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	m := func(n int) string { return fmt.Sprintf("%s%d", marker, n) }
	s3 := startMinIOAs(t, m(1), m(2)+"-long-enough")
	sftp := harness.StartSSHD(t)
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "shop")
	pg.Seed(t, "shop")
	dumpDir := t.TempDir()
	pg.Dump(t, "shop", dumpDir, "gzip")
	hook := startReceiver(t)
	secrets := t.TempDir()
	secret := func(name, value string) string { return harness.WriteFile(t, secrets, name, value) }

	// The SFTP client key, encrypted with a marker as its passphrase.
	sshKey := filepath.Join(secrets, "id_ed25519")
	if err := os.WriteFile(sshKey, harness.ReadFile(t, sftp.KeyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-p", "-P", "", "-N", m(3), "-f", sshKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -p: %v: %s", err, out)
	}
	passphrase := secret("passphrase", m(4)+"\n")
	textfile := filepath.Join(t.TempDir(), "pgarchive.prom")

	// config writes a config with the secret files given: S3 keys,
	// SFTP secret_files, the rclone.conf, notify URLs and ping URL.
	config := func(name, s3ID, s3Key, sftpSecrets, rcloneConf, urls, ping string) string {
		return configFile(t, dumpDir, "gzip", "", "passphrase_file = "+toml(passphrase),
			localTarget("local", t.TempDir()),
			fmt.Sprintf(`[targets.offsite]
type = "s3"
path = "pgarchive-test/%s"
options = { provider = "Minio", endpoint = %s, region = "us-east-1" }
secret_files = { access_key_id = %s, secret_access_key = %s }
`, name, toml(s3.Endpoint), toml(secret(name+"-s3-id", s3ID)), toml(secret(name+"-s3-key", s3Key+"\n"))),
			fmt.Sprintf(`[targets.nas]
type = "sftp"
path = %s
options = { host = %s, port = %d, user = %s, shell_type = "unix", known_hosts_file = %s }
secret_files = %s
`, toml(filepath.Join(sftp.Root, name)), toml(sftp.Host), sftp.Port, toml(sftp.User), toml(sftp.KnownHostsFile), sftpSecrets),
			"[targets.legacy]\nremote = \"legacy:pgarchive-test/"+name+"-legacy\"\n",
			"[rclone]\nconfig_file = "+toml(secret(name+"-rclone.conf", rcloneConf))+"\n",
			"[retention]\nkeep_last = 1\n",
			"[drill]\npassphrase_file = "+toml(passphrase)+"\n",
			"[notify]\nurls_file = "+toml(secret(name+"-notify-urls", urls))+"\n",
			"[healthcheck]\nurl_file = "+toml(secret(name+"-ping-url", ping))+"\n",
			"[metrics]\ntextfile = "+toml(textfile)+"\n",
		)
	}
	rcloneConf := func(id, key string, extra string) string {
		return fmt.Sprintf("[legacy]\ntype = s3\nprovider = Minio\nendpoint = %s\nregion = us-east-1\naccess_key_id = %s\nsecret_access_key = %s\n%s",
			s3.Endpoint, id, key, extra)
	}
	good := config("good", m(1), m(2)+"-long-enough",
		fmt.Sprintf("{ key_file = %s, key_file_pass = %s }", toml(sshKey), toml(secret("good-key-pass", m(3)))),
		rcloneConf(m(1), m(2)+"-long-enough", ""),
		"generic+"+hook.URL()+"/hooks/"+m(5)+"\n",
		hook.URL()+"/ping/"+m(6)+"/{job}\n")
	bad := config("bad", m(7), m(8)+"-long-enough",
		fmt.Sprintf("{ pass = %s }", toml(secret("bad-sftp-pass", m(9)))),
		rcloneConf(m(10), m(11), "\n[other]\ntype = sftp\nhost = 127.0.0.1\nuser = x\npass = "+m(12)+"\n"),
		m(13)+"\ngeneric+"+hook.URL()+"/hooks/"+m(14)+"\nntfy://"+m(15)+"@127.0.0.1:1/"+m(16)+"\n",
		"http://"+m(17)+"@127.0.0.1:1/"+m(18)+"/{job}\n")

	fakeBin := fakeSystemctl(t)
	stamps := map[string]string{"good": "20260301T011500Z", "bad": "20260302T011500Z"}
	for _, tc := range []struct{ name, cfg string }{{"good", good}, {"bad", bad}} {
		for _, verbose := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s secrets, verbose %v", tc.name, verbose), func(t *testing.T) {
				var global []string
				stamp := stamps[tc.name]
				if verbose {
					global = []string{"--verbose"}
					stamp = strings.Replace(stamp, "T01", "T02", 1)
				}
				env := append(pg.Env(), "PGARCHIVE_CONFIG="+tc.cfg, "PGARCHIVE_TEST_NOW="+stamp, "PGARCHIVE_TEST_SCRYPT_WORK_FACTOR=10")
				notifyEnv := append(env, "PATH="+fakeBin+string(os.PathListSeparator)+os.Getenv("PATH"))
				out := filepath.Join(t.TempDir(), "shop.sql.gz")
				units := t.TempDir()
				for _, c := range []struct {
					env  []string
					args []string
				}{
					{env, []string{"check-config"}},
					{env, []string{"units", "--output", units, "--databases", "shop"}},
					{env, []string{"push", "-d", "shop", "--allow-stale"}},
					{env, []string{"list"}},
					{env, []string{"list", "--json"}},
					{env, []string{"status"}},
					{env, []string{"status", "--json"}},
					{env, []string{"verify"}},
					{env, []string{"verify", "--passphrase-file", passphrase, "--json"}},
					{env, []string{"restore", "-d", "shop", "--target", "local", "--passphrase-file", passphrase, "--output", out}},
					{env, []string{"drill", "--target", "local"}},
					{env, []string{"prune", "--dry-run"}},
					{env, []string{"prune", "--json"}},
					{notifyEnv, []string{"notify", "--unit", "postgresqlBackup-shop.service", "--dry-run"}},
					{notifyEnv, []string{"notify", "--unit", "postgresqlBackup-shop.service"}},
				} {
					hook.reset()
					r := pgarchive(t, c.env, append(global, c.args...)...)
					what := "pgarchive " + strings.Join(append(global, c.args...), " ")
					if tc.name == "good" && r.code != 0 {
						t.Errorf("%s with working secrets: %s", what, r)
					}
					if r.code == 2 || (r.code != 0 && harness.FinalError(r.stderr) == "") {
						t.Errorf("%s: %s", what, r)
					}
					noMarker(t, what+": stdout", r.stdout)
					noMarker(t, what+": stderr", r.stderr)
					noMarker(t, what+": metrics textfile", readIfThere(textfile))
					noMarker(t, what+": metrics state", readIfThere(textfile+".state.json"))
					for name, content := range harness.Snapshot(t, units) {
						noMarker(t, what+": unit "+name, string(content))
					}
					for _, req := range hook.requests() {
						noMarker(t, what+": body sent to "+req.Method+" "+req.Kind, req.Body)
					}
					if tc.name == "good" && c.args[0] == "push" {
						if got := hook.requestsOf("ping"); len(got) < 2 {
							t.Errorf("%s: the healthcheck got %d pings, want start and success", what, len(got))
						}
					}
					if tc.name == "good" && c.args[0] == "notify" && len(c.args) == 3 {
						if got := hook.requestsOf("hooks"); len(got) != 1 {
							t.Errorf("%s: the webhook got %d messages, want 1", what, len(got))
						}
					}
				}
			})
		}
	}
	record(t, "secrets-in-output", row{
		Fault: "Every secret file holds a marker string (S3 keys, an SFTP key passphrase and password, the encryption passphrase, notify and ping URLs, rclone.conf values), working or wrong",
		Did:   "check-config, units, push, list, status, verify, restore, drill, prune and notify, each with and without --verbose, print no marker",
		Kept:  "no marker on stdout or stderr, in the metrics textfile or its state, in the unit files, or in a webhook or ping body",
	})
}

// noMarker fails the test if text holds a marker, showing where.
func noMarker(t *testing.T, where, text string) {
	t.Helper()
	if i := strings.Index(text, marker); i >= 0 {
		from, to := max(0, i-200), min(len(text), i+100)
		t.Errorf("%s reveals a secret: …%s…", where, text[from:to])
	}
}

func readIfThere(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// fakeSystemctl writes systemctl and journalctl scripts for notify, which
// asks systemd how the unit ended; here systemd is not PID 1. They answer
// as systemd 252 does for a dump unit whose push failed.
func fakeSystemctl(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script := func(name, out string) {
		body := "#!/bin/sh\ncat <<'EOF'\n" + out + "EOF\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script("systemctl", `Id=postgresqlBackup-shop.service
Result=exit-code
ActiveState=failed
InvocationID=6b1f0c2a9d8e4f7a8b3c5d2e1f0a9b8c
ExecMainCode=1
ExecMainStatus=0
`)
	script("journalctl", `{"__REALTIME_TIMESTAMP":"1795223704000000","PRIORITY":"3","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"push failed database=shop target=offsite","PGARCHIVE_DATABASE":"shop","PGARCHIVE_TARGET":"offsite"}
`)
	return dir
}

// receiver is an HTTP server on loopback standing in for a webhook and a
// healthchecks.io server; it answers 200 and records every request.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
}

// received is one request: its method, the first element of its path
// ("hooks" or "ping") and its body.
type received struct {
	Method, Kind, Body string
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	h := &receiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		kind, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		h.mu.Lock()
		h.reqs = append(h.reqs, received{r.Method, kind, string(body)})
		h.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *receiver) URL() string { return h.srv.URL }

func (h *receiver) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = nil
}

func (h *receiver) requests() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.reqs...)
}

func (h *receiver) requestsOf(kind string) []received {
	var out []received
	for _, r := range h.requests() {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}
