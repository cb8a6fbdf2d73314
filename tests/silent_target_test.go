package tests

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// silentServer accepts TCP connections on loopback and never says a word:
// a NAS that hangs after accept, an S3 endpoint behind a stuck proxy.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func silentTargets(t *testing.T, addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	secrets := t.TempDir()
	id := harness.WriteFile(t, secrets, "id", "AKIAEXAMPLE\n")
	key := harness.WriteFile(t, secrets, "key", "secretexample\n")
	pass := harness.WriteFile(t, secrets, "pass", "hunter2\n")
	return fmt.Sprintf(`[targets.s3]
type = "s3"
path = "bucket/pg"
options = { provider = "Minio", endpoint = "http://%s", region = "us-east-1" }
secret_files = { access_key_id = %s, secret_access_key = %s }

[targets.nas]
type = "sftp"
path = "/pg"
options = { host = %q, port = %s, user = "backup" }
secret_files = { pass = %s }
`, addr, toml(id), toml(key), host, port, toml(pass))
}

// Regression: targets that accept connections and never answer held every
// command for 15 minutes and more (rclone's idle timeout, three times, one
// target after the other), and the healthy local target got nothing all
// that time. Now they drop out after the target timeout (shortened here)
// and the local target holds a complete archive.
func TestSilentTargetsDropOut(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 20_000)
	_, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local), silentTargets(t, silentServer(t)))
	env := []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_TARGET_TIMEOUT=3s"}

	start := time.Now()
	r := pgarchive(t, env, "push", "--database", "forge")
	took := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stderr, "2 of 3 targets failed") {
		t.Fatalf("push with two silent targets: %s", r)
	}
	if took > 30*time.Second {
		t.Errorf("push took %v with a 3s target timeout", took)
	}
	lr := mustRun(t, env, "list", "--target", "local", "--json")
	if !strings.Contains(lr.stdout, `"status": "complete"`) {
		t.Errorf("the local target holds no complete archive:\n%s", lr.stdout)
	}
	for _, secret := range []string{"secretexample", "hunter2"} {
		if strings.Contains(r.stderr, secret) {
			t.Errorf("a secret reached the log:\n%s", r.stderr)
		}
	}
}

// Regression: SIGTERM (systemd stopping the unit at its timeout) did not
// stop a push stuck in an SSH handshake, so the unit was killed without
// its fail ping or a word in the journal. Now it ends at once, saying so.
func TestSigtermDuringSilentHandshake(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 20_000)
	_, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), silentTargets(t, silentServer(t)))
	cmd := exec.Command(harness.Binary(t), "push", "--database", "forge")
	cmd.Env = append(os.Environ(), "PGARCHIVE_CONFIG="+cfg, "PGARCHIVE_LOG=stderr")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("push still running 15s after SIGTERM:\n%s", stderr.String())
	}
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "pgarchive: error: ") {
		t.Errorf("exit %d after SIGTERM, stderr:\n%s", cmd.ProcessState.ExitCode(), stderr.String())
	}
}
