package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Issue 4 under a real systemd 252: a Debian 12 root file system
// (debootstrap, cached) booted with systemd-nspawn, the pgarchive binary
// bound in. A oneshot unit stands in for postgresqlBackup-db1 (its
// ExecStart writes a small gzip'd dump, its ExecStartPost runs pgarchive
// push to a local target and to one that is down), with
// OnFailure=pgarchive-notify@%n.service as the NixOS module sets it.

// nspawnRootEnv overrides where the cached root file system lives.
const nspawnRootEnv = "PGARCHIVE_NSPAWN_ROOT"

func nspawnRoot() string {
	if p := os.Getenv(nspawnRootEnv); p != "" {
		return p
	}
	return "/root/.cache/pgarchive-tools/rootfs-bookworm-systemd"
}

// bootstrapRoot returns the cached root file system, building it with
// debootstrap first if it is missing (about a minute, from the Debian
// mirror apt uses). The build goes to a temporary name and is renamed
// when whole, under a lock, so a killed or concurrent run cannot leave a
// half-built root behind.
func bootstrapRoot(t *testing.T) string {
	t.Helper()
	return debootstrapRoot(t, nspawnRoot(), "systemd,systemd-sysv,dbus", "usr/lib/systemd/systemd")
}

// debootstrapRoot returns the Debian 12 root at root with the packages of
// include, building it first unless the file marker is there already:
// once, under a lock, renamed into place only when whole.
func debootstrapRoot(t *testing.T, root, include, marker string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, marker)); err == nil {
		return root
	}
	debootstrap, err := exec.LookPath("debootstrap")
	if err != nil {
		t.Skip("debootstrap not installed (Debian package debootstrap; tests/setup.sh installs it): no root file system to boot")
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(root+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(root, marker)); err == nil {
		return root // built by another run while we waited
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	t.Logf("building %s with debootstrap (once; cached afterwards)", root)
	start := time.Now()
	out, err := exec.Command(debootstrap, "--variant=minbase", "--include="+include, "bookworm", tmp).CombinedOutput()
	if err != nil {
		os.RemoveAll(tmp)
		t.Fatalf("debootstrap: %v\n%s", err, lastLines(string(out), 30))
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %v", root, time.Since(start).Round(time.Second))
	return root
}

// container is a booted systemd-nspawn container.
type container struct {
	t      *testing.T
	cmd    *exec.Cmd
	pid1   int // the container's init, as this machine sees it
	logs   *bytes.Buffer
	exited chan struct{}
}

// bootContainer boots root with systemd as PID 1, the root file system
// read-only under a throwaway overlay (--volatile=overlay), the network
// shared with this machine, and binds ("HOST:CONTAINER") mounted.
func bootContainer(t *testing.T, root string, binds ...string) *container {
	t.Helper()
	nspawn, err := exec.LookPath("systemd-nspawn")
	if err != nil {
		t.Skip("systemd-nspawn not installed (Debian package systemd-container; tests/setup.sh installs it)")
	}
	// nspawn keeps per-container state here; on this machine /run/systemd
	// belongs to no running systemd, so give it a tmpfs of its own.
	if err := os.MkdirAll("/run/systemd/nspawn", 0o755); err != nil {
		t.Fatal(err)
	}
	if exec.Command("mountpoint", "-q", "/run/systemd/nspawn").Run() != nil {
		if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", "/run/systemd/nspawn").CombinedOutput(); err != nil {
			t.Fatalf("mount tmpfs on /run/systemd/nspawn: %v\n%s", err, out)
		}
	}
	args := []string{"-D", root, "--register=no", "--keep-unit", "--boot", "--volatile=overlay",
		"--machine=pgarchive-test-" + strconv.Itoa(os.Getpid())}
	for _, b := range binds {
		args = append(args, "--bind="+b)
	}
	cmd := exec.Command(nspawn, args...)
	c := &container{t: t, cmd: cmd, logs: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.stop)

	deadline := time.Now().Add(60 * time.Second)
	for {
		if c.pid1 == 0 {
			c.pid1 = childOf(cmd.Process.Pid)
		}
		if c.pid1 != 0 {
			out, _ := c.execOutput("systemctl", "is-system-running")
			if s := strings.TrimSpace(out); s == "running" || s == "degraded" {
				return c
			}
		}
		select {
		case <-c.exited:
			t.Fatalf("systemd-nspawn exited while booting:\n%s", lastLines(c.logs.String(), 40))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("container not up after 60s:\n%s", lastLines(c.logs.String(), 40))
		}
	}
}

// childOf returns the first child process of pid, or 0.
func childOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(fields[0])
	return n
}

// execOutput runs a command inside the container (all its namespaces, via
// nsenter into its init) and returns stdout and stderr together.
func (c *container) execOutput(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.pid1), "-a", "--", name}, args...)...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER="}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *container) mustExec(name string, args ...string) string {
	c.t.Helper()
	out, err := c.execOutput(name, args...)
	if err != nil {
		c.t.Fatalf("in the container: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// show returns systemctl show's properties of a unit inside the container.
func (c *container) show(unit string, props ...string) map[string]string {
	c.t.Helper()
	out := c.mustExec("systemctl", "show", "--property="+strings.Join(props, ","), "--", unit)
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// stop powers the container off (SIGTERM makes nspawn ask systemd to shut
// down), and kills it if that takes too long.
func (c *container) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
	if c.t.Failed() {
		c.t.Logf("container console:\n%s", lastLines(c.logs.String(), 60))
	}
}

const fakeDumpUnit = `[Unit]
Description=Backup of PostgreSQL database db1 (a stand-in for services.postgresqlBackup)
OnFailure=pgarchive-notify@%n.service

[Service]
Type=oneshot
Environment=PGARCHIVE_CONFIG=/srv/test/config.toml
ExecStart=/srv/test/fake-pg-dump.sh db1
ExecStartPost=/usr/local/bin/pgarchive push --database db1
`

const notifyTemplate = `[Unit]
Description=Tell someone that %i failed

[Service]
Type=oneshot
Environment=PGARCHIVE_CONFIG=/srv/test/config.toml
ExecStart=/usr/local/bin/pgarchive notify --unit %i
`

// What services.postgresqlBackup's ExecStart does, with a fixed body for
// pg_dump: write to an in-progress name, then rename.
const fakePgDump = `#!/bin/sh
set -e
db=$1
printf -- '--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE t (i int);\n\n--\n-- PostgreSQL database dump complete\n--\n\n' | gzip > "/srv/test/dumps/$db.in-progress.sql.gz"
mv "/srv/test/dumps/$db.in-progress.sql.gz" "/srv/test/dumps/$db.sql.gz"
`

func TestSystemdOnFailureNotifies(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to boot a container")
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		t.Skip("systemd-nspawn not installed (Debian package systemd-container; tests/setup.sh installs it)")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter (util-linux) not installed")
	}
	root := bootstrapRoot(t)
	start := time.Now()

	hook := startHook(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for _, d := range []string{"dumps", "local", "prom", "units"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	_, recipient := keypair(t, false)
	harness.WriteFile(t, dir, "notify-urls", "# team channel\ngeneric+"+hook.URL()+"/hooks/tk_notify\n")
	harness.WriteFile(t, dir, "hc-url", hook.URL()+"/ping/tk_ping\n")
	harness.WriteFile(t, dir, "sftp-pass", "x\n")
	config := fmt.Sprintf(`dump_dir = "/srv/test/dumps"
compression = "gzip"
host = "db1"

[encryption]
%s

%s
%s
[notify]
urls_file = "/srv/test/notify-urls"

[healthcheck]
url_file = "/srv/test/hc-url"

[metrics]
textfile = "/srv/test/prom/pgarchive.prom"
`, ageRecipients(recipient), localTarget("local", "/srv/test/local"), deadSFTPTarget(t, "offsite", "/srv/test/sftp-pass"))
	harness.WriteFile(t, dir, "config.toml", config)
	harness.WriteFile(t, dir, "units/postgresqlBackup-db1.service", fakeDumpUnit)
	harness.WriteFile(t, dir, "units/pgarchive-notify@.service", notifyTemplate)
	if err := os.WriteFile(filepath.Join(dir, "fake-pg-dump.sh"), []byte(fakePgDump), 0o755); err != nil {
		t.Fatal(err)
	}

	c := bootContainer(t, root, harness.Binary(t)+":/usr/local/bin/pgarchive", dir+":/srv/test")
	t.Logf("container up in %v", time.Since(start).Round(time.Millisecond))
	c.mustExec("sh", "-c", "cp /srv/test/units/* /etc/systemd/system/ && systemctl daemon-reload")
	c.mustExec("pgarchive", "--config", "/srv/test/config.toml", "check-config")

	// The dump unit runs and fails: its push could not reach offsite.
	out, err := c.execOutput("systemctl", "start", "postgresqlBackup-db1.service")
	if err == nil {
		t.Fatalf("systemctl start succeeded; want the unit to fail:\n%s", out)
	}
	unit := c.show("postgresqlBackup-db1.service", "ActiveState", "Result", "InvocationID")
	if unit["ActiveState"] != "failed" || unit["Result"] != "exit-code" {
		t.Errorf("dump unit: %v", unit)
	}

	// OnFailure started the notifier, which reached the webhook.
	var msg hookRequest
	deadline := time.Now().Add(60 * time.Second)
	for msg.Path == "" && time.Now().Before(deadline) {
		for _, r := range hook.waitFor(len(hook.requests())+1, time.Second) {
			if strings.HasPrefix(r.Path, "/hooks/") {
				msg = r
			}
		}
	}
	if msg.Path == "" {
		t.Fatalf("no notification arrived; hook got %q\nnotifier journal:\n%s", paths(hook.requests()),
			c.mustExec("journalctl", "--no-pager", "-u", "pgarchive-notify@postgresqlBackup-db1.service.service"))
	}
	for _, want := range []string{
		"pgarchive: postgresqlBackup-db1.service failed on db1",
		"result: exit-code (ExecStartPost /usr/local/bin/pgarchive exited with status 1)",
		"failed targets: offsite\n",
		"invocation: " + unit["InvocationID"],
		"pgarchive: push failed", // the journal excerpt, from the failed run
		"1 of 2 targets failed",
	} {
		if !strings.Contains(msg.Body, want) {
			t.Errorf("notification lacks %q:\n%s", want, msg.Body)
		}
	}
	t.Logf("notification as sent:\n%s", msg.Body)

	notifier := "pgarchive-notify@postgresqlBackup-db1.service.service"
	for time.Now().Before(deadline) {
		if s := c.show(notifier, "ActiveState")["ActiveState"]; s != "activating" && s != "active" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := c.show(notifier, "ActiveState", "Result"); n["Result"] != "success" || n["ActiveState"] != "inactive" {
		t.Errorf("notifier: %v\n%s", n, c.mustExec("journalctl", "--no-pager", "-u", notifier))
	}

	// The journal holds the failure with pgarchive's fields, so an operator
	// can ask for just that target.
	js := c.mustExec("journalctl", "--no-pager", "-o", "json", "-u", "postgresqlBackup-db1.service", "PGARCHIVE_TARGET=offsite")
	var errLines int
	for _, line := range strings.Split(strings.TrimSpace(js), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			t.Fatalf("journalctl -o json: %q", line)
		}
		if e["PGARCHIVE_TARGET"] != "offsite" {
			t.Errorf("entry without PGARCHIVE_TARGET=offsite: %v", e)
		}
		if e["PRIORITY"] == "3" && e["PGARCHIVE_DATABASE"] == "db1" && e["SYSLOG_IDENTIFIER"] == "pgarchive" {
			errLines++
		}
	}
	if errLines == 0 {
		t.Errorf("no error entry with PGARCHIVE_TARGET=offsite and PGARCHIVE_DATABASE=db1:\n%s", js)
	}

	// The healthy target holds a complete archive; the run pinged start
	// and fail; the metrics textfile says which target failed.
	manifests, _ := filepath.Glob(filepath.Join(dir, "local/db1/db1/db1_*.sql.gz.age.json"))
	if len(manifests) != 1 {
		t.Errorf("local target: %d manifests", len(manifests))
	}
	var pings []string
	for _, r := range hook.requests() {
		if strings.HasPrefix(r.Path, "/ping/") {
			pings = append(pings, r.Path)
		}
	}
	if strings.Join(pings, " ") != "/ping/tk_ping/start /ping/tk_ping/fail" {
		t.Errorf("pings %q", pings)
	}
	m := textfileSeries(t, filepath.Join(dir, "prom/pgarchive.prom"))
	if m[`pgarchive_last_run_success{database="db1",operation="push",target="offsite"}`] != 0 ||
		m[`pgarchive_last_run_success{database="db1",operation="push",target="local"}`] != 1 {
		t.Errorf("metrics after the run: %v", m)
	}
	t.Logf("systemd scenario took %v after the root file system was there", time.Since(start).Round(time.Millisecond))
}
