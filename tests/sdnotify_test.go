package tests

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 4, sd_notify: a push with NOTIFY_SOCKET set sends STATUS= lines
// with the bytes so far to the service manager's socket, ending with the
// outcome. The test listens on that socket itself, as systemd would.
func TestPushSendsSDNotifyStatus(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()

	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 3_000_000)
	_, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), localTarget("nas", t.TempDir()))
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "NOTIFY_SOCKET=" + sock}, "push", "--database", "forge")

	deadline := time.Now().Add(5 * time.Second)
	var msgs []string
	for time.Now().Before(deadline) {
		mu.Lock()
		msgs = append([]string(nil), got...)
		mu.Unlock()
		if len(msgs) > 0 && strings.HasPrefix(msgs[len(msgs)-1], "STATUS=pushed") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(msgs) < 3 {
		t.Fatalf("got %q, want progress lines and the outcome", msgs)
	}
	for _, m := range msgs[:len(msgs)-1] {
		if !strings.HasPrefix(m, "STATUS=pushing forge: ") || !strings.Contains(m, " of ") {
			t.Errorf("progress line %q", m)
		}
	}
	if !strings.HasSuffix(msgs[len(msgs)-2], "(100%)") {
		t.Errorf("last progress line %q, want 100%%", msgs[len(msgs)-2])
	}
	if last := msgs[len(msgs)-1]; !strings.HasPrefix(last, "STATUS=pushed forge (") || !strings.HasSuffix(last, "2 of 2 targets ok") {
		t.Errorf("outcome line %q", last)
	}
	// At most about one a second, plus the first and the last.
	if len(msgs) > 6 {
		t.Errorf("%d STATUS lines for a push of a few seconds at most: %q", len(msgs), msgs)
	}
	t.Logf("STATUS lines: %q", msgs)
}

// Issue 4: restore draws a progress line on stderr when stderr is a
// terminal (here a pseudo-terminal from script(1)), and none otherwise.
func TestRestoreProgressOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script (util-linux) not installed: no pseudo-terminal to test with")
	}
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 1_000_000)
	identity, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()))
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	mustRun(t, env, "push", "--database", "forge")

	out := filepath.Join(t.TempDir(), "forge.sql.gz")
	r := mustRun(t, env, "restore", "--database", "forge", "--identity", identity, "--output", out)
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("progress drawn on a stderr that is not a terminal:\n%q", r.stderr)
	}

	out2 := filepath.Join(t.TempDir(), "forge.sql.gz")
	line := strings.Join([]string{harness.Binary(t), "restore", "--database", "forge", "--identity", identity, "--output", out2}, " ")
	cmd := exec.Command(script, "-qec", line, "/dev/null")
	cmd.Env = append(cmd.Environ(), "PGARCHIVE_LOG=stderr", "PGARCHIVE_CONFIG="+cfg)
	tty, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restore on a terminal: %v\n%s", err, tty)
	}
	text := string(tty)
	if !strings.Contains(text, "\rrestoring forge_") || !strings.Contains(text, "100%") || !strings.Contains(text, "/s") {
		t.Errorf("no progress line on the terminal:\n%q", text)
	}
	if !bytesEqualFiles(t, out, out2) {
		t.Error("the restore with a progress line wrote other bytes")
	}
}

func bytesEqualFiles(t *testing.T, a, b string) bool {
	t.Helper()
	return string(harness.ReadFile(t, a)) == string(harness.ReadFile(t, b))
}
