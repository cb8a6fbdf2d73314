package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// status --all-hosts judges every host a store holds from the store's
// side, with no config: a host whose pushes stopped shows as stale and
// makes the exit 1, and the textfile says so per host.
func TestStatusAllHostsFromTheStore(t *testing.T) {
	store := t.TempDir()
	_, recipient := keypair(t, false)
	for _, h := range []struct{ host, stamp string }{
		{"alive", "20261120T011500Z"},
		{"dead", "20261101T011500Z"}, // stopped pushing weeks ago
	} {
		dumpDir := t.TempDir()
		harness.FakeDump(t, dumpDir, "forge", 10_000)
		cfg := strings.Replace(mustReadString(t, configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("nas", store))),
			`host = "db1"`, `host = "`+h.host+`"`, 1)
		env := []string{"PGARCHIVE_CONFIG=" + harness.WriteFile(t, t.TempDir(), "config.toml", cfg), "PGARCHIVE_TEST_NOW=" + h.stamp}
		mustRun(t, env, "push", "--database", "forge", "--allow-stale")
	}
	prom := filepath.Join(t.TempDir(), "fleet.prom")
	env := []string{"PGARCHIVE_TEST_NOW=20261120T120000Z", "HOME=" + t.TempDir()}
	r := pgarchive(t, env, "status", "--remote", store, "--all-hosts", "--metrics-textfile", prom)
	if r.code != 1 || !strings.Contains(r.stderr, "dead: forge on remote: newest archive is 19 days old") {
		t.Errorf("a dead host must fail status: %s", r)
	}
	if !strings.Contains(r.stdout, "alive") || !strings.Contains(r.stdout, "dead") {
		t.Errorf("both hosts must be shown: %s", r)
	}
	data, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`pgarchive_store_ok{host="alive",database="forge",target="remote"} 1`,
		`pgarchive_store_ok{host="dead",database="forge",target="remote"} 0`,
		`pgarchive_store_newest_timestamp_seconds{host="dead",database="forge",target="remote"} 1793495700`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("textfile lacks %s:\n%s", want, data)
		}
	}

	// verify reads the store with no config too.
	r = mustRun(t, env, "verify", "--remote", store, "--host", "alive")
	if !strings.Contains(r.stdout, "forge") {
		t.Errorf("verify --remote: %s", r)
	}
	// --target names a config's target: with --remote there is none.
	if r := pgarchive(t, env, "list", "--remote", store, "--target", "nas"); r.code != 2 {
		t.Errorf("--remote with --target: %s", r)
	}

	// name:path of a remote in an rclone.conf.
	conf := harness.WriteFile(t, t.TempDir(), "rclone.conf", "[vault]\ntype = local\n")
	r = mustRun(t, env, "list", "--remote", "vault:"+store, "--rclone-config", conf, "--host", "alive")
	if !strings.Contains(r.stdout, "forge") {
		t.Errorf("list --remote name:path --rclone-config: %s", r)
	}

	// list with no config and no --host shows both hosts.
	r = mustRun(t, env, "list", "--remote", store)
	if !strings.Contains(r.stdout, "HOST") || !strings.Contains(r.stdout, "alive") || !strings.Contains(r.stdout, "dead") {
		t.Errorf("list --remote: %s", r)
	}
}
