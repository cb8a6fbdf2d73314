package fault

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Stored archives damaged on one target: a flipped byte, a truncated
// object, two manifests swapped. verify names each; restore from that
// target refuses each rather than hand over a wrong dump, and restore
// from any target passes over the damaged copy; the other target's copies
// are whole.
func TestDamagedArchives(t *testing.T) {
	t.Parallel()
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "shop")
	pg.Seed(t, "shop")
	dumpDir := t.TempDir()
	dump := harness.ReadFile(t, pg.Dump(t, "shop", dumpDir, "gzip"))
	identity, recipient := keypair(t, false)
	a, b := t.TempDir(), t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", "", ageRecipients(recipient), localTarget("a", a), localTarget("b", b))
	const flipped, truncated, swapped1, swapped2 = "20260301T011500Z", "20260302T011500Z", "20260303T011500Z", "20260304T011500Z"
	stamps := []string{flipped, truncated, swapped1, swapped2}
	for _, s := range stamps {
		mustRun(t, append(pg.Env(), "PGARCHIVE_CONFIG="+cfg, "PGARCHIVE_TEST_NOW="+s), "push", "-d", "shop", "--allow-stale")
	}
	name := func(stamp string) string { return "db1/shop/shop_" + stamp + ".sql.gz.age" }
	object := func(stamp string) string { return filepath.Join(a, name(stamp)) }

	data := harness.ReadFile(t, object(flipped))
	data[len(data)/2] ^= 0x01
	harness.WriteFile(t, filepath.Dir(object(flipped)), filepath.Base(object(flipped)), string(data))
	data = harness.ReadFile(t, object(truncated))
	harness.WriteFile(t, filepath.Dir(object(truncated)), filepath.Base(object(truncated)), string(data[:len(data)-1000]))
	m1, m2 := harness.ReadFile(t, object(swapped1)+".json"), harness.ReadFile(t, object(swapped2)+".json")
	harness.WriteFile(t, filepath.Dir(object(swapped1)), filepath.Base(object(swapped1))+".json", string(m2))
	harness.WriteFile(t, filepath.Dir(object(swapped2)), filepath.Base(object(swapped2))+".json", string(m1))

	env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg, "PGARCHIVE_TEST_NOW=20260305T011500Z")
	const decrypt = "failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with"
	mismatch := func(stamp, other string) string {
		return name(stamp) + ".json on a: manifest describes " + name(other) + ", not this archive"
	}

	// verify, with and without a key, names each of the four and what is
	// wrong with it. With a key, the flipped byte fails age's
	// authentication of its chunk before the digest is complete.
	for _, tc := range []struct {
		key    []string
		causes map[string]string
	}{
		{nil, map[string]string{
			flipped:   "ciphertext SHA-256 is ",
			truncated: "ciphertext is ",
			swapped1:  "manifest describes " + name(swapped2) + ", not this archive",
			swapped2:  "manifest describes " + name(swapped1) + ", not this archive",
		}},
		{[]string{"--identity", identity}, map[string]string{
			flipped:   decrypt,
			truncated: "ciphertext is ",
			swapped1:  "manifest describes " + name(swapped2) + ", not this archive",
			swapped2:  "manifest describes " + name(swapped1) + ", not this archive",
		}},
	} {
		// The error line counts and names them; the rows (here of
		// --json) say what is wrong with each.
		r := pgarchive(t, env, append([]string{"verify"}, tc.key...)...)
		line := mustFailWith(t, r, "verify: 4 of 8 archives bad: ")
		for _, s := range stamps {
			if !strings.Contains(line, name(s)+" on a") {
				t.Errorf("verify %s does not name %s on a:\n%s", strings.Join(tc.key, " "), s, line)
			}
		}
		if strings.Contains(line, " on b") {
			t.Errorf("verify names a copy on b as bad:\n%s", line)
		}
		r = pgarchive(t, env, append([]string{"verify", "--json"}, tc.key...)...)
		var doc struct {
			Archives []struct {
				Target string `json:"target"`
				Object string `json:"object"`
				OK     bool   `json:"ok"`
				Error  string `json:"error"`
			} `json:"archives"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || len(doc.Archives) != 8 {
			t.Fatalf("verify --json %s: %v: %s", strings.Join(tc.key, " "), err, r)
		}
		for _, a := range doc.Archives {
			cause, damaged := "", false
			for _, s := range stamps {
				if a.Object == name(s) && a.Target == "a" {
					cause, damaged = tc.causes[s], true
				}
			}
			if a.OK == damaged || (damaged && !strings.Contains(a.Error, cause)) {
				t.Errorf("verify --json %s says of %s on %s: ok %v, %q; want damaged %v, %q", strings.Join(tc.key, " "), a.Object, a.Target, a.OK, a.Error, damaged, cause)
			}
		}
	}

	// restore of each damaged archive from a refuses and writes nothing.
	for s, cause := range map[string]string{
		flipped:   decrypt,
		truncated: "ciphertext is ",
		swapped1:  mismatch(swapped1, swapped2),
		swapped2:  mismatch(swapped2, swapped1),
	} {
		outDir := t.TempDir()
		r := pgarchive(t, env, "restore", "-d", "shop", "--target", "a", "--at", s, "--identity", identity, "--output", filepath.Join(outDir, "shop.sql.gz"))
		mustFailWith(t, r, cause)
		if left, _ := os.ReadDir(outDir); len(left) != 0 {
			t.Errorf("restore of the damaged %s left %v", s, left)
		}
	}
	// Without --target, latest is the swapped one: a's copy is passed
	// over, saying why, for b's.
	out := filepath.Join(t.TempDir(), "shop.sql.gz")
	r := mustRun(t, env, "restore", "-d", "shop", "--identity", identity, "--output", out)
	if want := "restore: the copy on a failed its check (" + mismatch(swapped2, swapped1) + "); trying the copy on b"; !strings.Contains(r.stderr, want) {
		t.Errorf("restore of latest does not say %q: %s", want, r)
	}
	if !bytes.Equal(harness.ReadFile(t, out), dump) {
		t.Error("restore of latest differs from the dump")
	}
	// Into a database: psql runs the dump in one transaction, so the
	// damage found on the way rolls everything back.
	r = pgarchive(t, env, "restore", "-d", "shop", "--target", "a", "--at", flipped, "--identity", identity, "--into", "shop_copy")
	mustFailWith(t, r, `into "shop_copy"`, decrypt)
	if n := pg.Psql(t, "shop_copy", "SELECT count(*) FROM pg_tables WHERE schemaname = 'shop'"); n != "0" {
		t.Errorf("restore --into of a damaged archive left %s tables", n)
	}

	// The other target is whole, and restores byte for byte.
	mustHold(t, env, identity, "b", stamps...)
	for _, s := range stamps {
		out := filepath.Join(t.TempDir(), "shop.sql.gz")
		mustRun(t, env, "restore", "-d", "shop", "--target", "b", "--at", s, "--identity", identity, "--output", out)
		if !bytes.Equal(harness.ReadFile(t, out), dump) {
			t.Errorf("restore of %s from b differs from the dump", s)
		}
	}

	kept := "the other target's copy, complete and verified; restore --target from it gives the dump byte for byte"
	record(t, "damage-flipped-byte", row{
		Fault: "One byte flipped in a stored object",
		Did:   "verify exits 1 naming it (`verify: … archives bad: … on a`), its row saying `ciphertext SHA-256 is …, manifest says …` (with a key: `failed to decrypt and authenticate payload chunk …`); restore exits 1 (`failed to decrypt and authenticate payload chunk …`) and leaves nothing at --output; restore --into runs psql in one transaction, which rolls back: no table is left",
		Kept:  kept,
	})
	record(t, "damage-truncated", row{
		Fault: "A stored object cut short by 1000 bytes",
		Did:   "verify exits 1 naming it (`verify: … archives bad: … on a`), its row saying `ciphertext is … bytes, manifest says …`; restore exits 1 and leaves nothing at --output",
		Kept:  kept,
	})
	record(t, "damage-swapped-manifests", row{
		Fault: "The manifests of two archives swapped",
		Did:   "verify exits 1 naming both (`verify: … archives bad: … on a; … on a`), their rows saying `manifest describes <the other>, not this archive`; restore --target of either exits 1 saying so before it reads the object, and leaves nothing at --output; restore of latest passes over that copy, saying why, and restores the other target's",
		Kept:  kept,
	})
}
