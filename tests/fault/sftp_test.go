package fault

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// The SFTP connection is cut, both sides, in the middle of the upload.
func TestSFTPConnectionDropped(t *testing.T) {
	t.Parallel()
	sftp := harness.StartSSHD(t)
	proxy := startTCPProxy(t, net.JoinHostPort(sftp.Host, strconv.Itoa(sftp.Port)), 8<<20, cutAt)
	host, portText, _ := net.SplitHostPort(proxy.Addr)
	port, _ := strconv.Atoi(portText)
	dumpDir := t.TempDir()
	randomDump(t, dumpDir, "shop", 32<<20)
	identity, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "none", "", ageRecipients(recipient),
		localTarget("local", t.TempDir()), sftpTarget("nas", sftp, host, port),
		"[retention]\nkeep_last = 1\n")
	const first, second, later = "20260301T011500Z", "20260301T021500Z", "20260301T030000Z"
	env := func(now string) []string { return []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + now} }

	r := pgarchive(t, env(first), "push", "-d", "shop", "--allow-stale")
	select {
	case <-proxy.Tripped():
	default:
		t.Fatalf("the connection was never cut: %s", r)
	}
	mustFailWith(t, r, "1 of 2 targets failed", `nas: target "nas": put `, "connection lost", "the other 1 hold a complete archive")
	mustHold(t, env(later), identity, "local", first)
	mustHold(t, env(later), identity, "nas")
	// The partial object was removed over a new connection.
	if left, _ := filepath.Glob(filepath.Join(sftp.Root, "pg", "db1", "shop", "*")); len(left) != 0 {
		t.Errorf("the cut upload left %q on the server", left)
	}
	if _, r := restoreFrom(t, env(later), identity, "shop", "nas"); r.code != 1 || harness.FinalError(r.stderr) == "" {
		t.Errorf("restore from nas, which holds no complete archive: %s", r)
	}
	newest, _ := statusNewest(t, env(later), "shop")
	if newest["nas"] != "" || newest["local"] != first {
		t.Errorf("status counts newest %v, want local %s and nothing on nas", newest, first)
	}
	mustPruneKeep(t, env(later), "nas", "")

	mustRun(t, env(second), "push", "-d", "shop", "--allow-stale")
	mustHold(t, env(later), identity, "local", first, second)
	mustHold(t, env(later), identity, "nas", second)
	mustPruneKeep(t, env(later), "nas", second)

	record(t, "sftp-cut", row{
		Fault: "SFTP connection cut, both sides, after 8 MiB of a 32 MiB upload",
		Did:   "push exits 1: `1 of 2 targets failed (nas: target \"nas\": put …: connection lost)`; removes the partial object over a new connection; the next push exits 0",
		Kept:  "local: the archive, complete and verified; SFTP: nothing, then the next push, complete on both",
	})
}
