package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// dumpUnitShape is a dump unit as the NixOS module extends it: pg_dump's
// ExecStart, pgarchive push as ExecStartPost as the same (non-root) user,
// the passphrase handed over with LoadCredential, and the hardening the
// module adds (extra holds more directives).
const dumpUnitShape = `[Unit]
Description=Backup of db1 (%[1]s)

[Service]
Type=oneshot
User=pgtest
UMask=0077
LoadCredential=encryption.passphrase_file:/srv/test/passphrase
Environment=PGARCHIVE_CONFIG=/srv/test/%[1]s.toml
ExecStart=/srv/test/fake-pg-dump.sh db1
ExecStartPost=/usr/local/bin/pgarchive push --database db1
NoNewPrivileges=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
%[2]s`

// mountNamespaceHardening is what the module used to add as well; each of
// these gives the unit a mount namespace of its own.
const mountNamespaceHardening = `PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=/srv/test/dumps /srv/test/local
`

// Regression for the module's dump units: pgarchive push runs as the dump
// unit's ExecStartPost and reads its secrets from $CREDENTIALS_DIRECTORY.
// On systemd 252 (Debian 12, and this container) credentials cannot be
// read from ExecStartPost once the unit has a mount namespace, so every
// push with a secret failed. The module's dump units now add no
// mount-namespace hardening; this boots a real systemd and checks that
// shape pushes, reading the passphrase credential as the unit's user.
func TestSystemdExecStartPostReadsCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to boot a container")
	}
	for _, tool := range []string{"systemd-nspawn", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (tests/setup.sh installs it)", tool)
		}
	}
	root := bootstrapRoot(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for _, d := range []string{"dumps", "local", "local/module", "local/namespaced", "units"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
		os.Chmod(filepath.Join(dir, d), 0o777) // the unit's user writes there
	}
	pass := harness.WriteFile(t, dir, "passphrase", "correct horse battery staple\n")
	os.Chmod(pass, 0o600) // root only: the unit's user gets it as a credential
	for _, shape := range []string{"module", "namespaced"} {
		cfg := fmt.Sprintf(`dump_dir = "/srv/test/dumps"
compression = "gzip"
host = "db1"
max_dump_age = "1h"

[encryption]
passphrase_file = "/run/credentials/%s.service/encryption.passphrase_file"

%s`, shape, localTarget("local", "/srv/test/local/"+shape))
		os.Chmod(harness.WriteFile(t, dir, shape+".toml", cfg), 0o644) // like a store path
		extra := ""
		if shape == "namespaced" {
			extra = mountNamespaceHardening
		}
		harness.WriteFile(t, dir, "units/"+shape+".service", fmt.Sprintf(dumpUnitShape, shape, extra))
	}
	if err := os.WriteFile(filepath.Join(dir, "fake-pg-dump.sh"), []byte(fakePgDump), 0o755); err != nil {
		t.Fatal(err)
	}

	c := bootContainer(t, root, harness.Binary(t)+":/usr/local/bin/pgarchive", dir+":/srv/test")
	c.mustExec("sh", "-c", "useradd --system --no-create-home pgtest && cp /srv/test/units/* /etc/systemd/system/ && systemctl daemon-reload")

	out, err := c.execOutput("systemctl", "start", "module.service")
	if err != nil {
		t.Fatalf("the module's dump unit shape failed: %v\n%s\n%s", err, out,
			c.mustExec("journalctl", "--no-pager", "-o", "cat", "-u", "module.service"))
	}
	archives, _ := filepath.Glob(filepath.Join(dir, "local", "module", "db1", "db1", "*.age.json"))
	if len(archives) != 1 {
		t.Fatalf("want one complete archive from the ExecStartPost push, found %v", archives)
	}
	if !strings.Contains(c.mustExec("journalctl", "--no-pager", "-o", "cat", "-u", "module.service"), "pushed") {
		t.Error("the unit's journal does not show the push")
	}

	// Not asserted (it depends on the systemd version): what the mount
	// namespace hardening does to the same push here.
	_, err = c.execOutput("systemctl", "start", "namespaced.service")
	journal, _ := c.execOutput("journalctl", "--no-pager", "-o", "cat", "-u", "namespaced.service")
	version, _ := c.execOutput("systemctl", "--version")
	t.Logf("with mount-namespace hardening on %s: start error %v; last journal lines:\n%s",
		strings.SplitN(version, "\n", 2)[0], err, lastLines(journal, 6))
}
