package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// setup is one host: a PostgreSQL cluster, its dump directory and a config.
type setup struct {
	pg       *harness.Postgres
	dumpDir  string
	identity string
	cfg      string
	env      []string
}

// configFile writes a pgarchive config. encryption is the body of the
// [encryption] table, targets whole [targets.x] tables.
func configFile(t *testing.T, dumpDir, compression, encryption string, targets ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "dump_dir = %s\ncompression = %q\nhost = \"db1\"\n\n[encryption]\n%s\n", toml(dumpDir), compression, encryption)
	for _, tg := range targets {
		b.WriteString("\n" + tg + "\n")
	}
	return harness.WriteFile(t, t.TempDir(), "config.toml", b.String())
}

func localTarget(name, dir string) string {
	return fmt.Sprintf("[targets.%s]\ntype = \"local\"\npath = %s\n", name, toml(dir))
}

func s3Target(t *testing.T, name string, s3 *harness.S3) string {
	secrets := t.TempDir()
	id := harness.WriteFile(t, secrets, "s3-id", s3.AccessKey+"\n")
	key := harness.WriteFile(t, secrets, "s3-key", s3.SecretKey+"\n")
	return fmt.Sprintf(`[targets.%s]
type = "s3"
path = %s
options = { provider = "Minio", endpoint = %s, region = "us-east-1" }
secret_files = { access_key_id = %s, secret_access_key = %s }
`, name, toml(s3.Bucket+"/databases"), toml(s3.Endpoint), toml(id), toml(key))
}

func sftpTarget(name string, s *harness.SFTP) string {
	return fmt.Sprintf(`[targets.%s]
type = "sftp"
path = %s
options = { host = %s, port = %d, user = %s, shell_type = "unix" }
secret_files = { key_file = %s }
`, name, toml(filepath.Join(s.Root, "pg")), toml(s.Host), s.Port, toml(s.User), toml(s.KeyFile))
}

func ageRecipients(recipients ...string) string {
	quoted := make([]string, len(recipients))
	for i, r := range recipients {
		quoted[i] = toml(r)
	}
	return "recipients = [" + strings.Join(quoted, ", ") + "]"
}

// decryptWithStockAge opens an archive with Debian's age CLI, proving the
// archive is a plain age file.
func decryptWithStockAge(t *testing.T, identity string, archive []byte) []byte {
	t.Helper()
	cmd := exec.Command("age", "--decrypt", "--identity", identity)
	cmd.Stdin = bytes.NewReader(archive)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("stock age -d: %v: %s", err, errb.String())
	}
	return out.Bytes()
}

// rcloneCat reads an object with Debian's stock rclone CLI from a local path.
func rcloneCat(t *testing.T, path string) []byte {
	t.Helper()
	out, err := exec.Command("rclone", "cat", "--config", "/dev/null", path).Output()
	if err != nil {
		t.Fatalf("stock rclone cat %s: %v", path, err)
	}
	return out
}

// Issue 2, test 1: one push lands on local, S3 and SFTP at once, and each
// copy opens with the stock age CLI to the dump's exact bytes.
func TestPushToLocalS3AndSFTP(t *testing.T) {
	pg := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	sftp := harness.StartSSHD(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	dumpPath := pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient),
		localTarget("local", local), s3Target(t, "s3", s3), sftpTarget("nas", sftp))
	env := []string{"PGARCHIVE_CONFIG=" + cfg}

	mustRun(t, env, "push", "--database", "forge")

	rows := listJSON(t, env)
	if len(rows) != 3 {
		t.Fatalf("list shows %d archives, want 3: %+v", len(rows), rows)
	}
	targets := map[string]listRow{}
	for _, r := range rows {
		if !r.complete() || r.Database != "forge" {
			t.Errorf("row %+v: want a complete archive of forge", r)
		}
		targets[r.Target] = r
	}
	if len(targets) != 3 {
		t.Fatalf("archives not on three distinct targets: %+v", rows)
	}
	want, err := os.ReadFile(dumpPath)
	if err != nil {
		t.Fatal(err)
	}
	object := rows[0].Object
	copies := map[string][]byte{
		"local": rcloneCat(t, filepath.Join(local, object)),
		"nas":   harness.ReadFile(t, filepath.Join(sftp.Root, "pg", object)),
		"s3":    harness.ReadFile(t, s3.ObjectPath(t, "databases/"+object)),
	}
	for name, data := range copies {
		if int64(len(data)) != targets[name].Size {
			t.Errorf("%s: object is %d bytes, list says %d", name, len(data), targets[name].Size)
		}
		if got := decryptWithStockAge(t, identity, data); !bytes.Equal(got, want) {
			t.Errorf("%s: decrypted copy differs from the dump (%d vs %d bytes)", name, len(got), len(want))
		}
	}
	// The human-readable listing says the same.
	text := mustRun(t, env, "list", "--database", "forge").stdout
	if strings.Count(text, "complete") != 3 || strings.Contains(text, "incomplete") {
		t.Errorf("list output:\n%s", text)
	}
}

// Issue 2, test 3: a target that is down fails alone; the others hold a
// complete archive, and nothing on the failed target is listed complete.
func TestTargetDownFailsOnlyThatTarget(t *testing.T) {
	pg := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	pg.CreateDB(t, "matrix")
	pg.Seed(t, "matrix")
	dumpDir := t.TempDir()
	pg.Dump(t, "matrix", dumpDir, "zstd")
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "zstd", ageRecipients(recipient), localTarget("local", local), s3Target(t, "offsite", s3))
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	s3.Stop()

	r := pgarchive(t, env, "push", "--database", "matrix")
	if r.code != 1 {
		t.Fatalf("want exit 1 with a target down: %s", r)
	}
	if !strings.Contains(r.stderr, "offsite") || !strings.Contains(r.stderr, "1 of 2 targets failed") {
		t.Errorf("stderr does not name the failed target:\n%s", r.stderr)
	}
	if !strings.HasPrefix(lastLines(r.stderr, 1), "pgarchive: error: ") {
		t.Errorf("the last line is not the one error line:\n%s", r.stderr)
	}
	// Listing everything reports the unreachable target and still shows
	// the local archive; nothing from the dead target is called complete.
	all := pgarchive(t, env, "list", "--json")
	if all.code != 1 || !strings.Contains(all.stderr, "offsite") {
		t.Errorf("list with a target down: %s", all)
	}
	var doc struct {
		Archives   []listRow `json:"archives"`
		Unreadable []struct {
			Target string `json:"target"`
			Error  string `json:"error"`
		} `json:"unreadable"`
	}
	err := json.Unmarshal([]byte(all.stdout), &doc)
	complete := 0
	for _, a := range doc.Archives {
		if a.complete() {
			complete++
		}
		if a.Target == "offsite" {
			t.Errorf("an archive of the dead target: %+v", a)
		}
	}
	if err != nil || complete != 1 || len(doc.Unreadable) != 1 || doc.Unreadable[0].Target != "offsite" || doc.Unreadable[0].Error == "" {
		t.Errorf("list shows (%v):\n%s", err, all.stdout)
	}
	lr := mustRun(t, env, "list", "--target", "local", "--json")
	if !strings.Contains(lr.stdout, `"status": "complete"`) {
		t.Errorf("local target does not hold a complete archive:\n%s", lr.stdout)
	}
	// The local copy restores.
	out := filepath.Join(t.TempDir(), "matrix.sql.zstd")
	mustRun(t, env, "restore", "--database", "matrix", "--identity", identity, "--target", "local", "--output", out)
	if !bytes.Equal(harness.ReadFile(t, out), harness.ReadFile(t, filepath.Join(dumpDir, "matrix.sql.zstd"))) {
		t.Error("restored file differs from the dump")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Issue 2, test 4: two pushes make two archives and overwrite nothing; a
// push whose name is already taken is refused on that target.
func TestPushTwiceNeverOverwrites(t *testing.T) {
	pg := harness.StartPostgres(t)
	pg.CreateDB(t, "family")
	pg.Seed(t, "family")
	dumpDir := t.TempDir()
	pg.Dump(t, "family", dumpDir, "gzip")
	_, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", local))
	base := []string{"PGARCHIVE_CONFIG=" + cfg}

	first := append(base, "PGARCHIVE_TEST_NOW=20261121T011500Z")
	mustRun(t, first, "push", "--database", "family", "--allow-stale")
	before := harness.Snapshot(t, local)
	mustRun(t, append(base, "PGARCHIVE_TEST_NOW=20261122T011500Z"), "push", "--database", "family", "--allow-stale")
	after := harness.Snapshot(t, local)
	if len(after) != 4 {
		t.Fatalf("want 2 archives + 2 manifests, have %v", keys(after))
	}
	for name, data := range before {
		if !bytes.Equal(after[name], data) {
			t.Errorf("%s changed after the second push", name)
		}
	}

	r := pgarchive(t, first, "push", "--database", "family", "--allow-stale")
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("name clash not refused: %s", r)
	}
	if final := harness.Snapshot(t, local); !equalSnapshots(final, after) {
		t.Error("a refused push changed the target")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equalSnapshots(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(b[k], v) {
			return false
		}
	}
	return true
}
