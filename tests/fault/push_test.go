package fault

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// The faults of issue 8 on the push side, which tests/whole_test.go and
// friends pin down in detail; here each is one row of the table.

// A dump that is not whole, or that changes while push reads it, is
// committed nowhere, and the good archive before it survives prune.
func TestPushDumpNotWhole(t *testing.T) {
	t.Parallel()
	s3 := harness.StartMinIO(t)
	identity, recipient := keypair(t, false)
	const good, bad, later = "20260301T011500Z", "20260301T021500Z", "20260301T030000Z"

	t.Run("truncated", func(t *testing.T) {
		dumpDir := t.TempDir()
		whole := harness.ReadFile(t, harness.FakeDump(t, dumpDir, "shop", 2<<20))
		cfg := configFile(t, dumpDir, "gzip", "", ageRecipients(recipient),
			localTarget("local", t.TempDir()), s3Target(t, "offsite", s3, s3.Endpoint, "truncated"),
			"[retention]\nkeep_last = 1\n")
		env := func(now string) []string { return []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + now} }
		mustRun(t, env(good), "push", "-d", "shop", "--allow-stale")
		harness.WriteFile(t, dumpDir, "shop.sql.gz", string(whole[:len(whole)*2/3]))
		r := pgarchive(t, env(bad), "push", "-d", "shop", "--allow-stale")
		mustFailWith(t, r, "dump is truncated")
		mustRun(t, env(later), "prune")
		for _, target := range []string{"local", "offsite"} {
			mustHold(t, env(later), identity, target, good)
			if left := incomplete(t, env(later), target); len(left) != 0 {
				t.Errorf("%s holds incomplete objects: %q", target, left)
			}
		}
		record(t, "dump-truncated", row{
			Fault: "A dump cut short (its gzip stream ends two thirds in)",
			Did:   "push exits 1: `dump is truncated: …`; nothing of it is committed on any target",
			Kept:  "every target: the archive before it, which prune (keep_last = 1) keeps",
		})
	})

	t.Run("changed while read", func(t *testing.T) {
		// The S3 target, behind a proxy that holds the upload after
		// 8 MiB, holds up the read of the dump too: the dump is written
		// to (same size, far past what was read) while push waits.
		proxy := startTCPProxy(t, strings.TrimPrefix(s3.Endpoint, "http://"), 8<<20, holdAt)
		dumpDir := t.TempDir()
		path := randomDump(t, dumpDir, "shop", 64<<20)
		local := t.TempDir()
		cfg := configFile(t, dumpDir, "none", "", ageRecipients(recipient),
			localTarget("local", local), s3Target(t, "offsite", s3, "http://"+proxy.Addr, "changed"))
		done := goPgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + bad}, "push", "-d", "shop", "--allow-stale")
		select {
		case <-proxy.Tripped():
		case r := <-done:
			t.Fatalf("push ended before 8 MiB reached S3: %s", r)
		case <-time.After(2 * time.Minute):
			t.Fatal("push sent less than 8 MiB to S3 in 2 minutes")
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("-- CHANGED"), 60<<20); err != nil {
			t.Fatal(err)
		}
		f.Close()
		proxy.Release()
		r := <-done
		mustFailWith(t, r, "dump changed while it was read", "nothing was stored")
		env := []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + later}
		for _, target := range []string{"local", "offsite"} {
			if rows := listJSON(t, env, "--target", target); len(rows) != 0 {
				t.Errorf("%s holds %+v after a push of a changing dump", target, rows)
			}
		}
		record(t, "dump-changed", row{
			Fault: "The dump written to in place (same size) while push reads it",
			Did:   "push exits 1: `dump changed while it was read (…): nothing was stored`",
			Kept:  "no target holds anything of that push, not even an incomplete object",
		})
	})
}

// Targets that fail in ways of their own: one that stops reading, a disk
// that is not mounted, and two pushes racing for the same names.
func TestPushTargetFaults(t *testing.T) {
	t.Parallel()
	s3 := harness.StartMinIO(t)
	identity, recipient := keypair(t, false)
	const first, later = "20260301T011500Z", "20260301T030000Z"

	t.Run("stalled", func(t *testing.T) {
		// The proxy holds the upload after 2 MiB and never lets go.
		proxy := startTCPProxy(t, strings.TrimPrefix(s3.Endpoint, "http://"), 2<<20, holdAt)
		dumpDir := t.TempDir()
		randomDump(t, dumpDir, "shop", 32<<20)
		cfg := configFile(t, dumpDir, "none", `stall_timeout = "2s"`, ageRecipients(recipient),
			localTarget("local", t.TempDir()), s3Target(t, "offsite", s3, "http://"+proxy.Addr, "stalled"))
		start := time.Now()
		r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + first}, "push", "-d", "shop", "--allow-stale")
		took := time.Since(start)
		line := mustFailWith(t, r, "1 of 2 targets failed", "offsite: stalled: took no data for 2s (stall_timeout)", "the other 1 hold a complete archive")
		t.Logf("push with a stalled target took %v: %s", took.Round(time.Millisecond), line)
		if took > time.Minute {
			t.Errorf("push took %v with stall_timeout 2s", took)
		}
		// The frozen proxy still holds the S3 target: ask the local one.
		mustHold(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + later}, identity, "local", first)
		record(t, "target-stalled", row{
			Fault: "An S3 target that stops taking data mid-upload and never fails (a proxy that freezes), stall_timeout = 2s",
			Did:   "drops it after 2 s and finishes the others: push exits 1: `1 of 2 targets failed (offsite: stalled: took no data for 2s (stall_timeout))`",
			Kept:  "local: the archive, complete and verified",
		})
	})

	t.Run("not mounted", func(t *testing.T) {
		dumpDir := t.TempDir()
		harness.FakeDump(t, dumpDir, "shop", 100_000)
		missing := filepath.Join(t.TempDir(), "usb", "pg")
		plain := t.TempDir()
		cfg := configFile(t, dumpDir, "gzip", "", ageRecipients(recipient),
			localTarget("local", t.TempDir()), localTarget("usb", missing),
			localTarget("nfs", plain)+"require_mount = true\n")
		r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + first}, "push", "-d", "shop", "--allow-stale")
		mustFailWith(t, r, "2 of 3 targets failed",
			fmt.Sprintf("usb: target %q: directory %q does not exist: is the disk mounted?", "usb", missing),
			fmt.Sprintf("nfs: target %q: %q is not a mount point (require_mount = true): is the disk mounted?", "nfs", plain),
			"the other 1 hold a complete archive")
		if _, err := os.Stat(missing); err == nil {
			t.Errorf("push created the missing target directory %s", missing)
		}
		if entries, _ := os.ReadDir(plain); len(entries) != 0 {
			t.Errorf("push wrote into the unmounted %s: %v", plain, entries)
		}
		mustHold(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + later}, identity, "local", first)
		record(t, "target-not-mounted", row{
			Fault: "A local target on a disk that is not mounted: its directory missing, or require_mount = true and the directory not a mount point",
			Did:   "push exits 1 naming each: `… directory … does not exist: is the disk mounted? …`, `… is not a mount point (require_mount = true): is the disk mounted?`",
			Kept:  "nothing written below either path (the missing one is not created); the other target: the archive, complete and verified",
		})
	})

	t.Run("same second", func(t *testing.T) {
		dumpDir := t.TempDir()
		harness.FakeDump(t, dumpDir, "shop", 4<<20)
		cfg := configFile(t, dumpDir, "gzip", "", ageRecipients(recipient),
			localTarget("local", t.TempDir()), s3Target(t, "offsite", s3, s3.Endpoint, "same-second"))
		env := []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + first}
		a, b := goPgarchive(t, env, "push", "-d", "shop", "--allow-stale"), goPgarchive(t, env, "push", "-d", "shop", "--allow-stale")
		results := []result{<-a, <-b}
		slices.SortFunc(results, func(a, b result) int { return a.code - b.code })
		if results[0].code != 0 {
			t.Fatalf("neither push exited 0:\n%s\n%s", results[0], results[1])
		}
		line := mustFailWith(t, results[1])
		if !strings.Contains(line, `another push of "shop" is running on this host (lock `) && !strings.Contains(line, "already exists; refusing to overwrite an archive") {
			t.Errorf("the losing push ended on %q, want the lock or the name taken", line)
		}
		for _, target := range []string{"local", "offsite"} {
			mustHold(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + later}, identity, target, first)
		}
		record(t, "push-same-second", row{
			Fault: "Two pushes of one database in the same second",
			Did:   "one exits 0; the other exits 1 with one line and overwrites nothing: `another push of \"shop\" is running on this host (lock … held): not pushing it twice at once` (or, had the first already finished, `… already exists; refusing to overwrite an archive`)",
			Kept:  "every target: one archive, complete and verified",
		})
	})
}
