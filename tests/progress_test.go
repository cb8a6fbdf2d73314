package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// openPTY opens a pseudo-terminal pair with the kernel's /dev/ptmx: the
// few ioctls creack/pty makes, without the module.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("TIOCGPTN: %v", e)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("TIOCSPTLCK: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty's other end: %v", err)
	}
	return m, s
}

// pgarchiveOnTTY runs the binary with stderr on a pseudo-terminal, as a
// person at a shell runs it, and returns what the terminal showed.
func pgarchiveOnTTY(t *testing.T, env []string, args ...string) result {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Env = append(append(os.Environ(), "PGARCHIVE_LOG=stderr"), env...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var tty bytes.Buffer
	copied := make(chan struct{})
	go func() {
		// Once the child has exited, reading the master ends in EIO.
		io.Copy(&tty, master)
		close(copied)
	}()
	err := cmd.Wait()
	<-copied
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout.String(), tty.String(), code}
}

// progressLines are the states a progress line was drawn in: the text
// between carriage returns that ends in "erase to end of line".
func progressLines(tty string) []string {
	var out []string
	for _, part := range strings.Split(tty, "\r") {
		// An empty one is the line erased for a log line.
		if text, ok := strings.CutSuffix(strings.TrimRight(part, "\r\n"), "\x1b[K"); ok && text != "" {
			out = append(out, text)
		}
	}
	return out
}

// Issue 12: push by hand, verify and restore show bytes, rate and (while
// it runs) time left on a terminal, and nothing of the kind when stderr is
// not one (a unit's journal, a pipe).
func TestProgressOnlyOnATerminal(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 8<<20)
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local))
	env := []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=20260301T011500Z"}
	out := filepath.Join(t.TempDir(), "forge.sql.gz")

	for _, c := range []struct {
		args  []string
		label string
	}{
		{[]string{"push", "--database", "forge", "--allow-stale"}, "pushing forge: "},
		{[]string{"verify", "--identity", identity}, "verifying: "},
		{[]string{"restore", "--database", "forge", "--identity", identity, "--output", out}, "restoring forge_20260301T011500Z.sql.gz.age: "},
	} {
		r := pgarchiveOnTTY(t, env, c.args...)
		if r.code != 0 {
			t.Fatalf("%s on a terminal: %s", c.args[0], r)
		}
		lines := progressLines(r.stderr)
		if len(lines) == 0 {
			t.Fatalf("%s drew no progress line on a terminal:\n%q", c.args[0], r.stderr)
		}
		last := lines[len(lines)-1]
		// The last state: everything done, of a known total, at a rate.
		if !strings.HasPrefix(last, c.label) || !strings.Contains(last, "100%") || !strings.HasSuffix(last, "/s") {
			t.Errorf("%s: last progress line %q", c.args[0], last)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, c.label) {
				t.Errorf("%s: progress line %q", c.args[0], l)
			}
		}
		// A log line starts a line of its own: the progress line is
		// erased before it and drawn again after.
		for i := strings.Index(r.stderr, "pgarchive: "); i >= 0; {
			if i > 0 && !strings.HasSuffix(r.stderr[:i], "\n") && !strings.HasSuffix(r.stderr[:i], "\r\x1b[K") {
				t.Errorf("%s: a log line runs into the progress line:\n%q", c.args[0], r.stderr)
				break
			}
			j := strings.Index(r.stderr[i+1:], "pgarchive: ")
			if j < 0 {
				break
			}
			i += 1 + j
		}
		os.Remove(out)
	}

	// Not a terminal: the same commands draw nothing.
	env = []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=20260302T011500Z"}
	for _, args := range [][]string{
		{"push", "--database", "forge", "--allow-stale"},
		{"verify", "--identity", identity},
		{"restore", "--database", "forge", "--identity", identity, "--output", out},
	} {
		r := mustRun(t, env, args...)
		if strings.Contains(r.stderr, "\r") || strings.Contains(r.stderr, "\x1b[") || strings.Contains(r.stderr, "/s") {
			t.Errorf("%s drew progress without a terminal:\n%q", args[0], r.stderr)
		}
	}
}

// A drill run by hand at a terminal draws its progress line too.
func TestDrillProgressOnATerminal(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()))
	cfg := drillConfig(t, base, pg, filepath.Join(t.TempDir(), "state"), "identity_file = "+toml(identity))
	mustRun(t, append(pg.Env(), "PGARCHIVE_CONFIG="+base, "PGARCHIVE_TEST_NOW=20260301T011500Z"), "push", "--database", "forge", "--allow-stale")
	r := pgarchiveOnTTY(t, drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260301T120000Z"), "drill")
	if r.code != 0 {
		t.Fatalf("drill on a terminal: %s", r)
	}
	lines := progressLines(r.stderr)
	if len(lines) == 0 {
		t.Fatalf("drill drew no progress line on a terminal:\n%q", r.stderr)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "drilling forge: ") || !strings.Contains(last, "100%") {
		t.Errorf("drill: last progress line %q", last)
	}
}
