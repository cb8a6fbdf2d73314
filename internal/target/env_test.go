package target

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoRcloneConfigDir runs this test binary again with an empty home
// directory: loading rclone must not create ~/.config/rclone there, and must
// not leave RCLONE_CONFIG set for child processes.
func TestNoRcloneConfigDir(t *testing.T) {
	if os.Getenv("PGARCHIVE_TARGET_CHILD") == "1" {
		if v, ok := os.LookupEnv("RCLONE_CONFIG"); ok {
			t.Fatalf("RCLONE_CONFIG is still set to %q", v)
		}
		return
	}
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoRcloneConfigDir$", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RCLONE_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, "PGARCHIVE_TARGET_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS") {
		t.Fatalf("child did not run the test:\n%s", out)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("loading rclone created %s in the home directory", e.Name())
	}
}
