package target

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rfs "github.com/rclone/rclone/fs"

	"github.com/pgarchive/pgarchive/internal/config"
)

func mustFind(t *testing.T, name string) *rfs.RegInfo {
	t.Helper()
	ri, err := rfs.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return ri
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const secret = "hunter2-do-not-print"

// TestSecretFileErrors checks that problems with a secret file name the key
// and the file, and never print what the file holds.
func TestSecretFileErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	unreadable := writeFile(t, filepath.Join(dir, "unreadable"), secret)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string // option the file is for
		file string
		want string // in the message, besides key and path
	}{
		{"missing", "pass", filepath.Join(dir, "missing"), "no such file"},
		{"directory", "pass", dir, "is a directory"},
		{"empty", "pass", writeFile(t, filepath.Join(dir, "empty"), ""), "is empty"},
		{"only a newline", "pass", writeFile(t, filepath.Join(dir, "newline"), "\n"), "is empty"},
		{"only CRLF", "pass", writeFile(t, filepath.Join(dir, "crlf"), "\r\n"), "is empty"},
		{"unreadable", "pass", unreadable, "permission denied"},
		// rclone quotes a value it cannot parse; it must not get out.
		{"not a bool", "copy_links", writeFile(t, filepath.Join(dir, "bool"), secret+"\n"), "***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			typ := "sftp"
			if tt.key == "copy_links" {
				typ = "local"
			}
			target := config.Target{Type: typ, Path: dir, SecretFiles: map[string]string{tt.key: tt.file}}
			if typ == "sftp" {
				// An address nothing listens on: the secret is read (and
				// fails) before any connection is tried.
				target.Options = map[string]any{"host": "127.0.0.1", "port": int64(1)}
			}
			_, err := Open(ctx, "nas", target, config.Rclone{})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if strings.Contains(msg, secret) || strings.Contains(msg, "hunter2") {
				t.Fatalf("error shows the secret: %s", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
			if tt.key == "pass" {
				var ce *config.Error
				if !errors.As(err, &ce) || ce.Key != "targets.nas.secret_files.pass" {
					t.Errorf("error %q is not a config error for targets.nas.secret_files.pass", msg)
				}
				if !strings.Contains(msg, tt.file) {
					t.Errorf("error %q does not name the file %q", msg, tt.file)
				}
			}
		})
	}
}

// TestSecretPasswordObscured builds a crypt target whose password comes from
// a file: rclone only accepts obscured passwords, so this works only if Open
// obscures it, and reading with the same password given inline proves the
// trailing newline was dropped.
func TestSecretPasswordObscured(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw")
	pwFile := writeFile(t, filepath.Join(dir, "pw"), "correct horse battery staple\n")
	cryptTarget := config.Target{
		Type:        "crypt",
		Options:     map[string]any{"remote": raw},
		SecretFiles: map[string]string{"password": pwFile},
	}
	tg, err := Open(ctx, "sealed", cryptTarget, config.Rclone{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := tg.Put(ctx, "db/plain-name.age", strings.NewReader("plaintext content"), -1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	stored := files(t, raw)
	if len(stored) != 1 || strings.Contains(stored[0], "plain-name") {
		t.Fatalf("raw files %q: want one file with an encrypted name", stored)
	}
	if b, _ := os.ReadFile(filepath.Join(raw, stored[0])); strings.Contains(string(b), "plaintext") {
		t.Fatal("raw file holds the plaintext")
	}

	// The same password in a file without a trailing newline opens the
	// same archive: only one newline is ever dropped, nothing else.
	bare := filepath.Join(t.TempDir(), "pass-no-newline")
	if err := os.WriteFile(bare, []byte("correct horse battery staple"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := config.Target{Type: "crypt", Options: map[string]any{"remote": raw}, SecretFiles: map[string]string{"password": bare}}
	tg2, err := Open(ctx, "sealed2", other, config.Rclone{})
	if err != nil {
		t.Fatalf("Open with the bare password file: %v", err)
	}
	if got := readAll(t, tg2, "db/plain-name.age"); string(got) != "plaintext content" {
		t.Errorf("read back %q", got)
	}
	if s := tg.String(); strings.Contains(s, "horse") {
		t.Errorf("String() = %q shows the password", s)
	}
}
