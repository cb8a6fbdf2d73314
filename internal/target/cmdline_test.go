package target

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactRemote(t *testing.T) {
	remote := ":s3,provider=Minio,access_key_id=AKIDEXAMPLE,secret_access_key='s3cr3t/value',endpoint='http://127.0.0.1:9000':bucket/path"
	for _, msg := range []string{
		"couldn't parse " + remote,
		"bad value s3cr3t/value for secret_access_key",
		"key AKIDEXAMPLE refused",
	} {
		got := redactRemote(msg, remote)
		for _, secret := range []string{"s3cr3t/value", "AKIDEXAMPLE"} {
			if strings.Contains(got, secret) {
				t.Errorf("redactRemote(%q) = %q: the secret is still there", msg, got)
			}
		}
	}
}

// A --remote that is a plain directory, or name:path of a remote defined
// in rclone's own environment variables, opens with no config file.
func TestOpenCommandLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pg1", "forge"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg1", "forge", "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RCLONE_CONFIG_VAULT_TYPE", "local")
	for _, remote := range []string{dir, "vault:" + dir, ":local:" + dir} {
		tg, err := OpenCommandLine(context.Background(), "remote", remote, "")
		if err != nil {
			t.Errorf("OpenCommandLine(%q): %v", remote, err)
			continue
		}
		entries, err := tg.List(context.Background(), "pg1")
		if err != nil || len(entries) != 1 || entries[0].Path != "pg1/forge/x" {
			t.Errorf("%q: list = %v, %v", remote, entries, err)
		}
		if strings.Contains(tg.String(), dir) {
			t.Errorf("%q: the target describes itself with the remote string: %s", remote, tg)
		}
	}
	if _, err := OpenCommandLine(context.Background(), "remote", "nosuch:x", ""); err == nil || !strings.Contains(err.Error(), "--rclone-config") {
		t.Errorf("an unknown remote: %v", err)
	}
}
