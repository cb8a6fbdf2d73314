package tests

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

type verifyRowJSON struct {
	Database string `json:"database"`
	Target   string `json:"target"`
	Object   string `json:"object"`
	Status   string `json:"status"`
	Checked  string `json:"checked"`
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
}

// verifyJSON returns the archives of verify --json (docs/json.md).
func verifyJSON(t *testing.T, r result) []verifyRowJSON {
	t.Helper()
	var doc struct {
		Schema   int             `json:"schema"`
		Archives []verifyRowJSON `json:"archives"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Schema != 1 || doc.Archives == nil {
		t.Fatalf("verify --json: schema %d, %v\n%s", doc.Schema, err, r)
	}
	return doc.Archives
}

// verifyObject is the path of the archive of db at stamp in a local target.
func verifyObject(local, db, stamp, suffix string) string {
	return filepath.Join(local, "db1", db, db+"_"+stamp+".sql"+suffix+".age")
}

// verifyEditManifest rewrites one field of an archive's manifest.
func verifyEditManifest(t *testing.T, object string, edit func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(harness.ReadFile(t, object+".json"), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(object+".json", data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// verifyErrorLine is the one-line error verify ended with.
func verifyErrorLine(t *testing.T, r result) string {
	t.Helper()
	last := lastLines(r.stderr, 1)
	if !strings.HasPrefix(last, "pgarchive: error: verify: ") {
		t.Fatalf("verify did not end with its error line: %s", r)
	}
	return last
}

// Issue 5: verify names every damaged archive and what is wrong with it —
// a flipped byte, a truncated object, manifests that disagree, a wrong key —
// and passes good archives with and without a key, plain and custom dumps.
func TestVerifyFindsDamage(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	pg.CreateDB(t, "ledger")
	pg.Seed(t, "ledger")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	pg.Dump(t, "ledger", dumpDir, "custom-gzip")
	identity, recipient := keypair(t, false)
	otherIdentity, _ := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local))
	env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg, "PGARCHIVE_TEST_NOW=20260301T120000Z")
	stamps := pruneStamps(t, "20260225", "20260301")
	prunePushAt(t, env, "forge", stamps...)
	prunePushAt(t, env, "ledger", stamps[len(stamps)-1])

	t.Run("good archives pass with and without a key", func(t *testing.T) {
		r := mustRun(t, env, "verify")
		if lines := tableLines(r.stdout); len(lines) != 8 || lines[0] != "DATABASE TARGET TIME SIZE CHECKED RESULT" {
			t.Errorf("want a header, 6 rows and the summary:\n%s", r.stdout)
		}
		if n := len(tableRowsWith(r.stdout, " ciphertext ok")); n != 6 || len(tableRowsWith(r.stdout, " local ")) != 6 {
			t.Errorf("want 6 good archives:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "verified 6 archives, 0 bad (ciphertext only: no identity given)") {
			t.Errorf("summary:\n%s", r.stdout)
		}
		rows := verifyJSON(t, mustRun(t, env, "verify", "--identity", identity, "--json"))
		if len(rows) != 6 {
			t.Fatalf("verify --identity checked %d archives, want 6", len(rows))
		}
		for _, row := range rows {
			if !row.OK || row.Checked != "ciphertext, plaintext, dump" {
				t.Errorf("%+v", row)
			}
		}
		// The key may come from [drill] identity_file too.
		withKey := pruneConfigWith(t, cfg, "", "[drill]\nidentity_file = "+toml(identity)+"\n")
		r = mustRun(t, append(env, "PGARCHIVE_CONFIG="+withKey), "verify", "--database", "ledger")
		if len(tableRowsWith(r.stdout, "ledger local 2026-03-01 01:15:00Z")) != 1 || !strings.HasSuffix(tableRow(t, r.stdout, "ledger local"), " ciphertext, plaintext, dump ok") || !strings.Contains(r.stdout, "verified 1 archive, 0 bad (decrypted and read to the end)") {
			t.Errorf("verify with [drill] identity_file:\n%s", r.stdout)
		}
	})

	t.Run("a wrong key fails every archive", func(t *testing.T) {
		r := pgarchive(t, env, "verify", "--identity", otherIdentity)
		if r.code != 1 {
			t.Fatalf("want exit 1: %s", r)
		}
		line := verifyErrorLine(t, r)
		if strings.Count(line, " on local") != 6 || !strings.Contains(line, "6 of 6 archives bad: ") {
			t.Errorf("error line: %s", line)
		}
		if n := len(tableRowsWith(r.stdout, "BAD: no identity matches this archive")); n != 6 {
			t.Errorf("%d rows say the key does not match, want 6:\n%s", n, r.stdout)
		}
		if strings.Contains(r.stderr, "bad archive") {
			t.Errorf("each bad archive is said twice, row and log line:\n%s", r.stderr)
		}
	})

	// Damage four of the forge archives, each its own way.
	flipped := verifyObject(local, "forge", stamps[0], ".gz")
	data := harness.ReadFile(t, flipped)
	data[len(data)/2] ^= 0x01
	os.WriteFile(flipped, data, 0o644)

	truncated := verifyObject(local, "forge", stamps[1], ".gz")
	data = harness.ReadFile(t, truncated)
	os.WriteFile(truncated, data[:len(data)-100], 0o644)

	wrongCipher := verifyObject(local, "forge", stamps[2], ".gz")
	verifyEditManifest(t, wrongCipher, func(m map[string]any) {
		m["ciphertext"].(map[string]any)["sha256"] = strings.Repeat("ab", 32)
	})
	wrongPlain := verifyObject(local, "forge", stamps[3], ".gz")
	verifyEditManifest(t, wrongPlain, func(m map[string]any) {
		m["dump"].(map[string]any)["sha256"] = strings.Repeat("cd", 32)
	})
	name := func(p string) string { rel, _ := filepath.Rel(local, p); return rel }

	t.Run("without a key: ciphertext damage", func(t *testing.T) {
		r := pgarchive(t, env, "verify")
		if r.code != 1 {
			t.Fatalf("want exit 1: %s", r)
		}
		line := verifyErrorLine(t, r)
		for _, want := range []string{
			name(flipped) + " on local",
			name(truncated) + " on local",
			name(wrongCipher) + " on local",
			"3 of 6 archives bad: ",
		} {
			if !strings.Contains(line, want) {
				t.Errorf("error line lacks %q:\n%s", want, line)
			}
		}
		for i, want := range []string{"BAD: ciphertext SHA-256 is ", "BAD: ciphertext is ", "BAD: ciphertext SHA-256 is "} {
			if row := tableRow(t, r.stdout, "forge local "+humanTime(t, stamps[i])); !strings.Contains(row, want) {
				t.Errorf("row %q lacks %q", row, want)
			}
		}
		if strings.Contains(line, name(wrongPlain)) {
			t.Errorf("the plaintext digest was judged without a key:\n%s", line)
		}
		if c := len(tableRowsWith(r.stdout, " BAD: ")); c != 3 {
			t.Errorf("%d BAD rows, want 3:\n%s", c, r.stdout)
		}
	})

	t.Run("with a key: every damaged archive", func(t *testing.T) {
		r := pgarchive(t, env, "verify", "--identity", identity)
		if r.code != 1 {
			t.Fatalf("want exit 1: %s", r)
		}
		line := verifyErrorLine(t, r)
		for _, want := range []string{
			name(flipped) + " on local",
			name(truncated) + " on local",
			name(wrongCipher) + " on local",
			name(wrongPlain) + " on local",
			"4 of 6 archives bad: ",
		} {
			if !strings.Contains(line, want) {
				t.Errorf("error line lacks %q:\n%s", want, line)
			}
		}
		for i, want := range []string{" BAD: ", " BAD: ", "BAD: ciphertext SHA-256 is ", "BAD: plaintext SHA-256 is "} {
			if row := tableRow(t, r.stdout, "forge local "+humanTime(t, stamps[i])); !strings.Contains(row, want) {
				t.Errorf("row %q lacks %q", row, want)
			}
		}
		rows := verifyJSON(t, pgarchive(t, env, "verify", "--identity", identity, "--json", "--database", "forge"))
		for _, row := range rows {
			good := strings.Contains(row.Object, stamps[4])
			if row.OK != good {
				t.Errorf("%s: ok=%v error=%q", row.Object, row.OK, row.Error)
			}
		}
	})

	t.Run("sample", func(t *testing.T) {
		// 10% of forge's 5 archives rounds up to 1; the same one all day.
		var picked []string
		for _, now := range []string{"20260301T000001Z", "20260301T120000Z", "20260301T235959Z"} {
			r := pgarchive(t, append(env, "PGARCHIVE_TEST_NOW="+now), "verify", "--database", "forge", "--sample", "10", "--json")
			rows := verifyJSON(t, r)
			if len(rows) != 1 {
				t.Fatalf("--sample 10 of 5 archives checked %d", len(rows))
			}
			picked = append(picked, rows[0].Object)
		}
		if picked[0] != picked[1] || picked[1] != picked[2] {
			t.Errorf("the sample changed within a day: %q", picked)
		}
		// Over some days each archive comes up.
		seen := map[string]bool{}
		for _, day := range pruneStamps(t, "20260302", "20260331") {
			rows := verifyJSON(t, pgarchive(t, append(env, "PGARCHIVE_TEST_NOW="+day), "verify", "--database", "forge", "--sample", "10", "--json"))
			for _, row := range rows {
				seen[row.Object] = true
			}
		}
		if len(seen) != 5 {
			t.Errorf("30 daily samples checked %d of the 5 archives", len(seen))
		}
		for _, bad := range []string{"0", "101", "-5"} {
			if r := pgarchive(t, env, "verify", "--sample", bad); r.code != 2 {
				t.Errorf("--sample %s: %s", bad, r)
			}
		}
	})
}

// Issue 5: with a key, verify reads the dump to its end: a dump that was
// already cut short when it was pushed (the manifest matches it) fails,
// plain or custom; an intact zstd dump passes.
func TestVerifyReadsDumpsToTheEnd(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	identity, recipient := keypair(t, false)
	local := t.TempDir()

	gzDir := t.TempDir()
	plain := pg.Dump(t, "forge", gzDir, "gzip")
	cut := t.TempDir()
	plainCut := harness.WriteFile(t, cut, "forge.sql.gz", string(verifyRegzip(t, harness.ReadFile(t, plain), 0.7)))
	customDir := t.TempDir()
	custom := pg.Dump(t, "forge", customDir, "custom-gzip")
	customCut := harness.WriteFile(t, cut, "forge-custom.sql.gz", string(verifyRegzip(t, harness.ReadFile(t, custom), 0.7)))
	cfg := configFile(t, gzDir, "gzip", ageRecipients(recipient), localTarget("local", local))
	env := append(pg.Env(), "PGARCHIVE_CONFIG="+cfg)
	// push refuses dumps cut short, so the two bad archives are planted as
	// an older pgarchive (or a disk) would have left them: a good push
	// whose object and manifest are then replaced.
	for i, file := range []string{plainCut, customCut, custom} {
		stamp := []string{"20260301T010000Z", "20260302T010000Z", "20260303T010000Z"}[i]
		mustRun(t, append(env, "PGARCHIVE_TEST_NOW="+stamp), "push", "--database", "forge", "--file", custom, "--allow-stale")
		if file != custom {
			format := map[string]string{plainCut: "plain", customCut: "custom"}[file]
			plantArchive(t, filepath.Join(local, "db1", "forge", "forge_"+stamp+".sql.gz.age"), harness.ReadFile(t, file), recipient, format)
		}
	}
	zstdDir := t.TempDir()
	pg.Dump(t, "forge", zstdDir, "zstd")
	zcfg := configFile(t, zstdDir, "zstd", ageRecipients(recipient), localTarget("local", local))
	mustRun(t, append(pg.Env(), "PGARCHIVE_CONFIG="+zcfg, "PGARCHIVE_TEST_NOW=20260304T010000Z"), "push", "--database", "forge", "--allow-stale")

	// The stored bytes are what was pushed: without a key all is well.
	r := mustRun(t, env, "verify")
	if !strings.Contains(r.stdout, "verified 4 archives, 0 bad") {
		t.Errorf("verify without a key:\n%s", r.stdout)
	}
	r = pgarchive(t, env, "verify", "--identity", identity)
	if r.code != 1 {
		t.Fatalf("want exit 1: %s", r)
	}
	line := verifyErrorLine(t, r)
	for _, want := range []string{
		"2 of 4 archives bad: ",
		"forge_20260301T010000Z.sql.gz.age on local",
		"forge_20260302T010000Z.sql.gz.age on local",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("error line lacks %q:\n%s", want, line)
		}
	}
	for stamp, want := range map[string]string{
		"20260301T010000Z": `BAD: dump is incomplete: no "-- PostgreSQL database dump complete" line at its end`,
		"20260302T010000Z": "BAD: pg_restore cannot read the dump",
		"20260303T010000Z": "ciphertext, plaintext, dump ok",
		"20260304T010000Z": "ciphertext, plaintext, dump ok",
	} {
		if row := tableRow(t, r.stdout, "forge local "+humanTime(t, stamp)); !strings.Contains(row, want) {
			t.Errorf("row %q lacks %q", row, want)
		}
	}
}

// verifyRegzip decompresses a gzip file, keeps the first share of it, and
// compresses that again: a dump cut short whose gzip stream is whole.
func verifyRegzip(t *testing.T, gz []byte, share float64) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(plain[:int(float64(len(plain))*share)])
	zw.Close()
	return out.Bytes()
}

// plantArchive replaces the archive at object (on a local target) with dump
// (of format) encrypted by the stock age CLI to recipient, and rewrites its manifest to
// match, without the content check a current push records: an archive of a
// dump that was never whole, as an older pgarchive could store one.
func plantArchive(t *testing.T, object string, dump []byte, recipient, format string) {
	t.Helper()
	cmd := exec.Command("age", "-r", recipient)
	cmd.Stdin = bytes.NewReader(dump)
	enc, err := cmd.Output()
	if err != nil {
		t.Fatalf("age -r: %v", err)
	}
	if err := os.WriteFile(object, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(harness.ReadFile(t, object+".json"), &m); err != nil {
		t.Fatal(err)
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	d := m["dump"].(map[string]any)
	d["size"], d["sha256"], d["format"] = len(dump), sum(dump), format
	delete(d, "check")
	m["ciphertext"] = map[string]any{"size": len(enc), "sha256": sum(enc)}
	out, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(object+".json", out, 0o600); err != nil {
		t.Fatal(err)
	}
}
