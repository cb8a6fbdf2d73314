// Package tests holds pgarchive's end-to-end tests: the real binary against
// a real PostgreSQL 15, real dumps made the way services.postgresqlBackup
// makes them, MinIO for S3, sshd for SFTP, local directories, and Debian's
// stock age and rclone for interoperability.
package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/tests/harness"
)

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// pgarchive runs the real binary with the given extra environment.
func pgarchive(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Env = append(append(os.Environ(), "PGARCHIVE_LOG=stderr"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run pgarchive: %v", err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// mustRun runs pgarchive and fails the test unless it exits 0.
func mustRun(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := pgarchive(t, env, args...)
	if r.code != 0 {
		t.Fatalf("pgarchive %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// keypair makes an age identity file and returns its path and recipient.
func keypair(t *testing.T, pq bool) (identityFile, recipient string) {
	t.Helper()
	id, err := crypt.Generate(pq)
	if err != nil {
		t.Fatal(err)
	}
	return harness.WriteFile(t, t.TempDir(), "key.txt", id.Secret+"\n"), id.Recipient
}

type listRow struct {
	Database string `json:"database"`
	Target   string `json:"target"`
	Status   string `json:"status"`
	Object   string `json:"object"`
	Size     int64  `json:"size"`
}

// complete reports whether the row's status is complete.
func (r listRow) complete() bool { return r.Status == "complete" }

func listJSON(t *testing.T, env []string, args ...string) []listRow {
	t.Helper()
	r := mustRun(t, env, append([]string{"list", "--json"}, args...)...)
	var doc struct {
		Schema   int       `json:"schema"`
		Archives []listRow `json:"archives"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Schema != 1 || doc.Archives == nil {
		t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	return doc.Archives
}

// toml quotes a string for a TOML basic string.
func toml(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
