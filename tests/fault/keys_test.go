package fault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// A key that does not open the archive: restore and verify say so in one
// line and write nothing where the dump was to go.
func TestKeyDoesNotOpen(t *testing.T) {
	t.Parallel()
	dumpDir := t.TempDir()
	dump := harness.FakeDump(t, dumpDir, "shop", 200_000)
	identity, recipient := keypair(t, false)
	otherIdentity, _ := keypair(t, false)
	// The post-quantum identity as an operator makes one.
	pqIdentity := harness.WriteFile(t, t.TempDir(), "pq-key.txt", mustRun(t, nil, "keygen", "--pq").stdout)
	passphrase := harness.WriteFile(t, t.TempDir(), "passphrase", "correct horse battery staple\n")
	wrongPassphrase := harness.WriteFile(t, t.TempDir(), "passphrase", "correct horse battery stapler\n")
	const stamp, later = "20260301T011500Z", "20260301T030000Z"

	x25519 := configFile(t, dumpDir, "gzip", "", ageRecipients(recipient), localTarget("local", t.TempDir()))
	scrypt := configFile(t, dumpDir, "gzip", "", "passphrase_file = "+toml(passphrase), localTarget("local", t.TempDir()))
	for _, cfg := range []string{x25519, scrypt} {
		mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + stamp, "PGARCHIVE_TEST_SCRYPT_WORK_FACTOR=10"}, "push", "-d", "shop", "--allow-stale")
	}

	for _, tc := range []struct {
		id, name, cfg string
		key           []string // the key flag and its file
		good          []string
		fault         string
	}{
		{"key-wrong-identity", "another X25519 identity", x25519, []string{"--identity", otherIdentity}, []string{"--identity", identity},
			"Restore or verify with an X25519 identity the archive was not encrypted to"},
		{"key-wrong-passphrase", "a wrong passphrase", scrypt, []string{"--passphrase-file", wrongPassphrase}, []string{"--passphrase-file", passphrase},
			"Restore or verify of a passphrase archive with a wrong passphrase"},
		{"key-pq-for-x25519", "a post-quantum identity for an X25519 archive", x25519, []string{"--identity", pqIdentity}, []string{"--identity", identity},
			"Restore or verify of an X25519 archive with a post-quantum (ML-KEM-768 + X25519) identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"PGARCHIVE_CONFIG=" + tc.cfg, "PGARCHIVE_TEST_NOW=" + later, "PGARCHIVE_TEST_SCRYPT_WORK_FACTOR=10"}
			outDir := t.TempDir()
			out := filepath.Join(outDir, "shop.sql.gz")
			const object = "db1/shop/shop_" + stamp + ".sql.gz.age"
			const cause = object + " on local: no identity matches this archive: wrong key or passphrase"
			r := pgarchive(t, env, append([]string{"restore", "-d", "shop", "--output", out}, tc.key...)...)
			if line := mustFailWith(t, r); line != "pgarchive: error: "+cause {
				t.Errorf("restore ended on %q, want %q", line, "pgarchive: error: "+cause)
			}
			if left, _ := os.ReadDir(outDir); len(left) != 0 {
				t.Errorf("restore with the wrong key left %v in the output directory", left)
			}
			r = pgarchive(t, env, append([]string{"restore", "-d", "shop", "--output", "-"}, tc.key...)...)
			if mustFailWith(t, r); r.stdout != "" {
				t.Errorf("restore to stdout with the wrong key wrote %d bytes", len(r.stdout))
			}
			r = pgarchive(t, env, append([]string{"verify"}, tc.key...)...)
			if line := mustFailWith(t, r); line != "pgarchive: error: verify: 1 of 1 archive bad: "+object+" on local" ||
				!strings.HasSuffix(strings.Join(strings.Fields(r.stdout), " "), " ciphertext, plaintext, dump BAD: no identity matches this archive: wrong key or passphrase verified 1 archive, 1 bad (decrypted and read to the end)") {
				t.Errorf("verify ended on %q: %s", line, r)
			}

			// The right key opens the same archive.
			mustRun(t, env, append([]string{"restore", "-d", "shop", "--output", out}, tc.good...)...)
			if string(harness.ReadFile(t, out)) != string(harness.ReadFile(t, dump)) {
				t.Error("restore with the right key differs from the dump")
			}
			mustRun(t, env, append([]string{"verify"}, tc.good...)...)

			record(t, tc.id, row{
				Fault: tc.fault,
				Did:   "restore and verify exit 1: `… no identity matches this archive: wrong key or passphrase`; restore writes nothing (no file at --output, nothing on stdout)",
				Kept:  "the archive, untouched; the right key restores it byte for byte",
			})
		})
	}
}
