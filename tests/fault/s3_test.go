package fault

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// The S3 server dies in the middle of a 64 MiB upload, and comes back.
func TestS3KilledMidUpload(t *testing.T) {
	t.Parallel()
	s3 := harness.StartMinIO(t)
	// The proxy holds the upload once 8 MiB went through, so the server
	// is stopped while the object is half sent, whatever the machine's
	// speed; then the held bytes go on, to a dead server.
	proxy := startTCPProxy(t, strings.TrimPrefix(s3.Endpoint, "http://"), 8<<20, holdAt)
	dumpDir := t.TempDir()
	dump := randomDump(t, dumpDir, "shop", 64<<20)
	identity, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "none", "", ageRecipients(recipient),
		localTarget("local", t.TempDir()), s3Target(t, "offsite", s3, "http://"+proxy.Addr, "databases"),
		"[retention]\nkeep_last = 1\n")
	const first, second, later = "20260301T011500Z", "20260301T021500Z", "20260301T030000Z"
	env := []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + first}

	done := goPgarchive(t, env, "push", "-d", "shop", "--allow-stale")
	select {
	case <-proxy.Tripped():
	case r := <-done:
		t.Fatalf("push ended before 8 MiB reached S3: %s", r)
	case <-time.After(2 * time.Minute):
		t.Fatal("push sent less than 8 MiB to S3 in 2 minutes")
	}
	s3.Stop()
	proxy.Release()
	r := <-done
	line := mustFailWith(t, r, "1 of 2 targets failed", "offsite: ", "the other 1 hold a complete archive")
	if strings.Contains(line, "local:") {
		t.Errorf("the error names the local target as failed: %s", line)
	}

	// S3 is down: ask the local target only.
	after := []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + later}
	mustHold(t, after, identity, "local", first)

	// Back up: whatever the cut upload left on S3 (MinIO keeps nothing of
	// a PUT cut short) counts nowhere.
	restartMinIO(t, s3)
	mustHold(t, after, identity, "offsite")
	if _, r := restoreFrom(t, after, identity, "shop", "offsite"); r.code != 1 || harness.FinalError(r.stderr) == "" {
		t.Errorf("restore from offsite, which holds no complete archive: %s", r)
	}
	newest, _ := statusNewest(t, after, "shop")
	if newest["offsite"] != "" || newest["local"] != first {
		t.Errorf("status counts newest %v, want local %s and nothing on offsite", newest, first)
	}
	mustPruneKeep(t, after, "offsite", "")

	// The server is back: the next push succeeds everywhere.
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + second}, "push", "-d", "shop", "--allow-stale")
	mustHold(t, after, identity, "local", first, second)
	mustHold(t, after, identity, "offsite", second)
	if left := incomplete(t, after, "offsite"); len(left) != 0 {
		t.Errorf("offsite holds incomplete objects: %q", left)
	}
	got, r := restoreFrom(t, after, identity, "shop", "offsite")
	if r.code != 0 || !bytes.Equal([]byte(got), harness.ReadFile(t, dump)) {
		t.Errorf("restore from offsite after the restart: %s", r)
	}
	newest, r = statusNewest(t, after, "shop")
	if newest["offsite"] != second || newest["local"] != second || r.code != 0 {
		t.Errorf("status after the restart: newest %v: %s", newest, r)
	}
	mustPruneKeep(t, after, "offsite", second)
	mustPruneKeep(t, after, "local", second)

	record(t, "s3-killed", row{
		Fault: "The S3 server stopped while a 64 MiB upload streams, then started again",
		Did:   "push exits 1: `push …: 1 of 2 targets failed (offsite: …); the other 1 hold a complete archive`; the next push after the restart exits 0",
		Kept:  "local: the archive, complete and verified; S3: nothing counted until the next push, which is complete on both",
	})
}

// S3 answers "500 Internal Server Error" for a while and then recovers.
// rclone's S3 client tries each request 3 times and its pacer tries the
// call again: 5 failed answers in a row are absorbed, the 6th fails the
// target. The upload itself streams (a single-part PUT of a pipe), so it
// cannot be sent again: one 500 on it fails the target for this push.
func TestS3Answers500(t *testing.T) {
	t.Parallel()
	s3 := harness.StartMinIO(t)
	proxy := startFailingS3(t, s3.Endpoint)
	identity, recipient := keypair(t, false)
	const first, second, later = "20260301T011500Z", "20260301T021500Z", "20260301T030000Z"

	// setup writes a config with a local target and an S3 target behind
	// the proxy, under a prefix of the bucket of the case's own.
	setup := func(t *testing.T, prefix string) (cfg string) {
		dumpDir := t.TempDir()
		randomDump(t, dumpDir, "shop", 8<<20)
		return configFile(t, dumpDir, "none", "", ageRecipients(recipient),
			localTarget("local", t.TempDir()), s3Target(t, "offsite", s3, proxy.URL, prefix),
			"[retention]\nkeep_last = 1\n")
	}
	env := func(cfg, now string) []string {
		return []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + now}
	}
	// recovered checks that, with the server answering again, the next
	// push is complete on both targets and nothing incomplete is left.
	recovered := func(t *testing.T, cfg string, offsite ...string) {
		proxy.failWhen(nil)
		mustRun(t, env(cfg, second), "push", "-d", "shop", "--allow-stale")
		mustHold(t, env(cfg, later), identity, "local", first, second)
		mustHold(t, env(cfg, later), identity, "offsite", append(offsite, second)...)
		if left := incomplete(t, env(cfg, later), "offsite"); len(left) != 0 {
			t.Errorf("offsite holds incomplete objects: %q", left)
		}
		mustPruneKeep(t, env(cfg, later), "offsite", second)
	}

	t.Run("a burst of 5", func(t *testing.T) {
		cfg := setup(t, "burst")
		proxy.failWhen(func(r *http.Request, n int) bool { return n <= 5 })
		mustRun(t, env(cfg, first), "push", "-d", "shop", "--allow-stale")
		if failed := proxy.failedRequests(); len(failed) != 5 {
			t.Fatalf("the proxy failed %q, want 5 requests", failed)
		}
		mustHold(t, env(cfg, later), identity, "local", first)
		mustHold(t, env(cfg, later), identity, "offsite", first)
		recovered(t, cfg, first)
		record(t, "s3-500-burst", row{
			Fault: "S3 answers 500 to the first 5 requests of a push",
			Did:   "retries them (the S3 client tries each request 3 times, rclone's pacer calls again); push exits 0",
			Kept:  "both targets: the archive, complete and verified",
		})
	})

	t.Run("every request, then recovering", func(t *testing.T) {
		cfg := setup(t, "outage")
		proxy.failWhen(func(*http.Request, int) bool { return true })
		r := pgarchive(t, env(cfg, first), "push", "-d", "shop", "--allow-stale")
		mustFailWith(t, r, "1 of 2 targets failed", "offsite: check ", "StatusCode: 500", "the other 1 hold a complete archive")
		if failed := proxy.failedRequests(); len(failed) != 6 {
			t.Errorf("the proxy failed %q, want 6 tries of the listing", failed)
		}
		proxy.failWhen(nil) // the server recovers
		mustHold(t, env(cfg, later), identity, "local", first)
		mustHold(t, env(cfg, later), identity, "offsite")
		recovered(t, cfg)
		record(t, "s3-500-outage", row{
			Fault: "S3 answers 500 to every request for the length of a push, then recovers",
			Did:   "tries the listing that checks the name is free 6 times, writes nothing there; push exits 1: `1 of 2 targets failed (offsite: check … is free: … StatusCode: 500 …)`; the next push exits 0",
			Kept:  "local: the archive, complete and verified; S3: nothing until the next push, which is complete on both",
		})
	})

	t.Run("the upload, once", func(t *testing.T) {
		cfg := setup(t, "upload")
		puts := 0
		proxy.failWhen(func(r *http.Request, _ int) bool {
			if isObjectPut(r) {
				puts++
				return puts == 1
			}
			return false
		})
		r := pgarchive(t, env(cfg, first), "push", "-d", "shop", "--allow-stale")
		mustFailWith(t, r, "1 of 2 targets failed", `offsite: target "offsite": put `, "the other 1 hold a complete archive")
		if failed := proxy.failedRequests(); len(failed) != 1 {
			t.Errorf("the proxy failed %q, want the one upload", failed)
		}
		mustHold(t, env(cfg, later), identity, "local", first)
		mustHold(t, env(cfg, later), identity, "offsite")
		if keys := s3.Keys(t, "upload/"); len(keys) != 0 {
			t.Errorf("the failed upload left %q on S3", keys)
		}
		recovered(t, cfg)
		record(t, "s3-500-upload", row{
			Fault: "S3 answers 500 once, to the archive's upload",
			Did:   "does not send it again (the upload streams, it cannot be rewound); push exits 1: `1 of 2 targets failed (offsite: target \"offsite\": put …)`; the next push exits 0",
			Kept:  "local: the archive, complete and verified; S3: no object at all, then the next push, complete on both",
		})
	})
}
