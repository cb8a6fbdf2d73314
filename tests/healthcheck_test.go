package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 4, healthcheck: a good push pings /start then the bare URL, a
// failing push /start then /fail, in order, each pair sharing one run ID,
// with a body naming the database, the bytes or the error.
func TestHealthcheckPingsInOrder(t *testing.T) {
	hc := startHook(t)
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 50_000)
	_, recipient := keypair(t, false)
	urlFile := harness.WriteFile(t, t.TempDir(), "hc-url", "# healthchecks.io check for db1\n"+hc.URL()+"/ping/tk_0123abcd\n")
	section := "[healthcheck]\nurl_file = " + toml(urlFile) + "\n"
	good := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), section)
	bad := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), brokenTarget(t, "offsite"), section)

	r := mustRun(t, []string{"PGARCHIVE_CONFIG=" + good}, "push", "--database", "forge")
	reqs := hc.waitFor(2, 10*time.Second)
	if got := strings.Join(paths(reqs), " "); got != "/ping/tk_0123abcd/start /ping/tk_0123abcd" {
		t.Fatalf("good push pinged %q\n%s", got, r)
	}
	checkRunID(t, reqs)
	for _, want := range []string{"push forge on db1: ok", "local: "} {
		if !strings.Contains(reqs[1].Body, want) {
			t.Errorf("success body lacks %q:\n%s", want, reqs[1].Body)
		}
	}
	if !strings.Contains(reqs[1].Body, "KiB") {
		t.Errorf("success body does not give the bytes:\n%s", reqs[1].Body)
	}

	hc.reset()
	r = pgarchive(t, []string{"PGARCHIVE_CONFIG=" + bad}, "push", "--database", "forge")
	if r.code != 1 {
		t.Fatalf("push with a broken target: %s", r)
	}
	reqs = hc.waitFor(2, 10*time.Second)
	if got := strings.Join(paths(reqs), " "); got != "/ping/tk_0123abcd/start /ping/tk_0123abcd/fail" {
		t.Fatalf("failing push pinged %q", got)
	}
	checkRunID(t, reqs)
	for _, want := range []string{"push forge on db1: FAILED", "offsite: failed", "local: "} {
		if !strings.Contains(reqs[1].Body, want) {
			t.Errorf("fail body lacks %q:\n%s", want, reqs[1].Body)
		}
	}

	// A push that fails before reaching any target (no dump) fails too.
	hc.reset()
	r = pgarchive(t, []string{"PGARCHIVE_CONFIG=" + good}, "push", "--database", "nosuchdb")
	reqs = hc.waitFor(2, 10*time.Second)
	if r.code != 1 || strings.Join(paths(reqs), " ") != "/ping/tk_0123abcd/start /ping/tk_0123abcd/fail" ||
		!strings.Contains(reqs[1].Body, "not found") {
		t.Errorf("push of a missing dump: %s\npings %q", r, reqs)
	}
}

func checkRunID(t *testing.T, reqs []hookRequest) {
	t.Helper()
	for _, r := range reqs {
		if r.Method != "POST" || r.Query["rid"] == "" || r.Query["rid"] != reqs[0].Query["rid"] {
			t.Errorf("ping %s %s rid=%q: want POSTs sharing one rid", r.Method, r.Path, r.Query["rid"])
		}
	}
}

// Issue 4, healthcheck: a ping that cannot be delivered is logged, without
// the URL, and the push still succeeds.
func TestHealthcheckUnreachableDoesNotFailPush(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 10_000)
	_, recipient := keypair(t, false)
	dead := deadAddr(t)
	urlFile := harness.WriteFile(t, t.TempDir(), "hc-url", "http://"+dead+"/ping/tk_secret_token\n")
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local),
		"[healthcheck]\nurl_file = "+toml(urlFile)+"\n")

	start := time.Now()
	r := mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "push", "--database", "forge")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("push took %v with the ping server down", took)
	}
	if strings.Count(r.stderr, "dead-man ping not delivered") != 2 {
		t.Errorf("want the start and the success ping logged as undelivered:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "tk_secret_token") {
		t.Errorf("the ping URL's token is in the log:\n%s", r.stderr)
	}
	if rows := listJSON(t, []string{"PGARCHIVE_CONFIG=" + cfg}); len(rows) != 1 || !rows[0].complete() {
		t.Errorf("archive not stored: %+v", rows)
	}
}

// Regression: with one ping URL for every job, a daily prune's success
// turned the check green while pushes had stopped. A URL without {job}
// is pinged by push only; with placeholders each job and database gets a
// check of its own.
func TestHealthcheckOneCheckPerJob(t *testing.T) {
	hc := startHook(t)
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 10_000)
	_, recipient := keypair(t, false)
	local := localTarget("local", t.TempDir())
	policy := "[retention]\ndaily = 7\n"

	plain := harness.WriteFile(t, t.TempDir(), "hc-plain", hc.URL()+"/ping/KEY\n")
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), local, policy, "[healthcheck]\nurl_file = "+toml(plain)+"\n")
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "push", "--database", "forge")
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "prune")
	time.Sleep(500 * time.Millisecond)
	if got := strings.Join(paths(hc.requests()), " "); got != "/ping/KEY/start /ping/KEY" {
		t.Errorf("without {job}, pings were %q: prune must not ping push's check", got)
	}

	hc.reset()
	slug := harness.WriteFile(t, t.TempDir(), "hc-slug", hc.URL()+"/ping/KEY/{host}-{job}-{database}\n")
	cfg = configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local2", t.TempDir()), policy, "[healthcheck]\nurl_file = "+toml(slug)+"\n")
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "push", "--database", "forge")
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "prune", "--database", "forge")
	reqs := hc.waitFor(4, 10*time.Second)
	want := "/ping/KEY/db1-push-forge/start /ping/KEY/db1-push-forge /ping/KEY/db1-prune-forge/start /ping/KEY/db1-prune-forge"
	if got := strings.Join(paths(reqs), " "); got != want {
		t.Errorf("with placeholders, pings were\n %q\nwant\n %q", got, want)
	}
}
