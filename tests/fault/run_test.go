package fault

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/tests/harness"
)

// Small helpers copied from the package tests (cli_test.go, push_test.go,
// whole_test.go, ops_helpers_test.go), which this package cannot import.

// result is what one run of the binary did.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("pgarchive %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// pgarchive runs the real binary with the given extra environment, logging
// to stderr as it does without journald.
func pgarchive(t testing.TB, env []string, args ...string) result {
	t.Helper()
	return pgarchiveIn(t, nil, env, args...)
}

// pgarchiveIn is pgarchive with stdin.
func pgarchiveIn(t testing.TB, stdin io.Reader, env []string, args ...string) result {
	t.Helper()
	r, err := run(binary(t), stdin, env, args)
	if err != nil {
		t.Fatalf("run pgarchive: %v", err)
	}
	return r
}

// goPgarchive starts pgarchive in a goroutine and returns a channel that
// yields its result. The binary is built first, here: a goroutine must not
// fail the test. A run that cannot start yields exit code -1.
func goPgarchive(t testing.TB, env []string, args ...string) <-chan result {
	t.Helper()
	bin := binary(t)
	done := make(chan result, 1)
	go func() {
		r, err := run(bin, nil, env, args)
		if err != nil {
			r = result{args: args, stderr: "run pgarchive: " + err.Error(), code: -1}
		}
		done <- r
	}()
	return done
}

func run(bin string, stdin io.Reader, env, args []string) (result, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "PGARCHIVE_LOG=stderr"), env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return result{args, stdout.String(), stderr.String(), exit.ExitCode()}, nil
	}
	if err != nil {
		return result{}, err
	}
	return result{args, stdout.String(), stderr.String(), 0}, nil
}

// mustRun runs pgarchive and fails the test unless it exits 0.
func mustRun(t testing.TB, env []string, args ...string) result {
	t.Helper()
	r := pgarchive(t, env, args...)
	if r.code != 0 {
		t.Fatalf("want exit 0: %s", r)
	}
	return r
}

// mustFailWith checks a run exited 1 and ended on its error line (log
// lines at level error, which look alike, may come before it), and that
// the line holds every one of want. It returns the line.
func mustFailWith(t testing.TB, r result, want ...string) string {
	t.Helper()
	line := harness.FinalError(r.stderr)
	if r.code != 1 || line == "" {
		t.Fatalf("want exit 1 ending on an error line: %s", r)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("error line %q does not say %q", line, w)
		}
	}
	return line
}

// keypair makes an age identity file and returns its path and recipient.
func keypair(t testing.TB, pq bool) (identityFile, recipient string) {
	t.Helper()
	id, err := crypt.Generate(pq)
	if err != nil {
		t.Fatal(err)
	}
	return harness.WriteFile(t, t.TempDir(), "key.txt", id.Secret+"\n"), id.Recipient
}

// toml quotes a string for a TOML basic string.
func toml(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// configFile writes a pgarchive config for host "db1". encryption is the
// body of the [encryption] table, tables whole [targets.x] tables and any
// other tables; top holds top-level keys.
func configFile(t testing.TB, dumpDir, compression, top, encryption string, tables ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "dump_dir = %s\ncompression = %q\nhost = \"db1\"\n%s\n[encryption]\n%s\n", toml(dumpDir), compression, top, encryption)
	for _, tg := range tables {
		b.WriteString("\n" + tg + "\n")
	}
	return harness.WriteFile(t, t.TempDir(), "config.toml", b.String())
}

func localTarget(name, dir string) string {
	return fmt.Sprintf("[targets.%s]\ntype = \"local\"\npath = %s\n", name, toml(dir))
}

// s3Target is a target on the harness's MinIO at endpoint (the server's, or
// a proxy's in front of it), under <bucket>/<prefix>.
func s3Target(t testing.TB, name string, s3 *harness.S3, endpoint, prefix string) string {
	t.Helper()
	secrets := t.TempDir()
	id := harness.WriteFile(t, secrets, "s3-id", s3.AccessKey+"\n")
	key := harness.WriteFile(t, secrets, "s3-key", s3.SecretKey+"\n")
	return fmt.Sprintf(`[targets.%s]
type = "s3"
path = %s
options = { provider = "Minio", endpoint = %s, region = "us-east-1" }
secret_files = { access_key_id = %s, secret_access_key = %s }
`, name, toml(s3.Bucket+"/"+prefix), toml(endpoint), toml(id), toml(key))
}

// sftpTarget is a target on the harness's sshd at host:port (the server's,
// or a proxy's in front of it).
func sftpTarget(name string, s *harness.SFTP, host string, port int) string {
	return fmt.Sprintf(`[targets.%s]
type = "sftp"
path = %s
options = { host = %s, port = %d, user = %s, shell_type = "unix" }
secret_files = { key_file = %s }
`, name, toml(filepath.Join(s.Root, "pg")), toml(host), port, toml(s.User), toml(s.KeyFile))
}

func ageRecipients(recipients ...string) string {
	quoted := make([]string, len(recipients))
	for i, r := range recipients {
		quoted[i] = toml(r)
	}
	return "recipients = [" + strings.Join(quoted, ", ") + "]"
}

// randomDump writes <dir>/<db>.sql, a plain dump (compression "none") of
// about size bytes that compression cannot shrink, ending as pg_dump ends
// one: big enough to be mid-stream when a fault strikes.
func randomDump(t testing.TB, dir, db string, size int) string {
	t.Helper()
	path := filepath.Join(dir, db+".sql")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	io.WriteString(f, "--\n-- PostgreSQL database dump\n--\n\n")
	raw := make([]byte, 48<<10)
	for n := 0; n < size; n += 64 << 10 {
		rand.Read(raw)
		io.WriteString(f, "-- "+base64.StdEncoding.EncodeToString(raw)+"\n")
	}
	io.WriteString(f, "\n--\n-- PostgreSQL database dump complete\n--\n\n")
	return path
}

// listRow is a row of list --json.
type listRow struct {
	Database string `json:"database"`
	Target   string `json:"target"`
	Object   string `json:"object"`
	Status   string `json:"status"` // complete, incomplete, missing or deleted
	Size     int64  `json:"size"`
}

func listJSON(t testing.TB, env []string, args ...string) []listRow {
	t.Helper()
	r := mustRun(t, env, append([]string{"list", "--json"}, args...)...)
	var doc struct {
		Archives []listRow `json:"archives"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Archives == nil {
		t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	return doc.Archives
}

// complete returns the objects list --json shows complete on target.
func complete(rows []listRow, target string) []string {
	var out []string
	for _, r := range rows {
		if r.Target == target && r.Status == "complete" {
			out = append(out, r.Object)
		}
	}
	sort.Strings(out)
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
