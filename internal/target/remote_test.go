package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/internal/config"
)

// TestRemoteTargets uses an rclone.conf with a union of two local
// directories and an alias. rclone loads one config file per process, so
// the failing loads come first and everything runs in this one test.
func TestRemoteTargets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b, aliased := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "aliased")
	for _, d := range []string{a, b, aliased} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("missing config file", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.conf")
		_, err := Open(ctx, "u", config.Target{Remote: "both:"}, config.Rclone{ConfigFile: missing})
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != "rclone.config_file" || !strings.Contains(err.Error(), missing) {
			t.Errorf("Open = %v, want a config error naming rclone.config_file and %q", err, missing)
		}
	})

	t.Run("unparseable config file", func(t *testing.T) {
		bad := writeFile(t, filepath.Join(dir, "bad.conf"), "[offsite]\ntype = sftp\npass "+secret+"\n")
		_, err := Open(ctx, "u", config.Target{Remote: "offsite:"}, config.Rclone{ConfigFile: bad})
		if err == nil {
			t.Fatal("Open succeeded")
		}
		t.Logf("error: %v", err)
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error shows the config file's content: %v", err)
		}
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("error %q does not name the file", err)
		}
	})

	conf := writeFile(t, filepath.Join(dir, "rclone.conf"), fmt.Sprintf(`[both]
type = union
upstreams = %s %s
create_policy = all

[arch]
type = alias
remote = %s

[objects]
type = s3
provider = Minio
endpoint = http://127.0.0.1:1
upload_cutoff = 50Mi
`, a, b, aliased))
	rc := config.Rclone{ConfigFile: conf}

	t.Run("union", func(t *testing.T) {
		tg, err := Open(ctx, "u", config.Target{Remote: "both:", Path: "pg"}, rc)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got, want := tg.String(), "u (both:pg)"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		data := randomBytes(t, 300<<10)
		if err := tg.Put(ctx, "h/db/x.age", slicesReader(data), int64(len(data))); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := tg.Put(ctx, "h/db/y.age", slicesReader(data[:10]), -1); err != nil {
			t.Fatalf("Put unknown size: %v", err)
		}
		for _, up := range []string{a, b} {
			if got := files(t, up); !slices.Equal(got, []string{"pg/h/db/x.age", "pg/h/db/y.age"}) {
				t.Errorf("upstream %s holds %q", up, got)
			}
		}
		entries, err := tg.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0].Path != "h/db/x.age" || entries[0].Size != int64(len(data)) || entries[1].Path != "h/db/y.age" {
			t.Errorf("List = %+v", entries)
		}
		if err := tg.Put(ctx, "h/db/x.age", slicesReader(data), int64(len(data))); !errors.Is(err, ErrExists) {
			t.Errorf("second Put = %v, want ErrExists", err)
		}
		if got := readAll(t, tg, "h/db/y.age"); string(got) != string(data[:10]) {
			t.Errorf("read back %q", got)
		}
		if err := tg.Put(ctx, "h/db/broken.age", newBrokenReader(t, 1<<20), -1); err == nil {
			t.Error("Put of a failing input succeeded")
		}
		if err := tg.Delete(ctx, "h/db/x.age"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		for _, up := range []string{a, b} {
			if got := files(t, up); !slices.Equal(got, []string{"pg/h/db/y.age"}) {
				t.Errorf("upstream %s holds %q after Delete and a failed Put", up, got)
			}
		}
		if entries, err := tg.List(ctx, "other"); err != nil || len(entries) != 0 {
			t.Errorf("List(missing) = %v, %v", entries, err)
		}
	})

	t.Run("s3 remote hashes only single-part uploads", func(t *testing.T) {
		tg, err := Open(ctx, "o", config.Target{Remote: "objects:bucket"}, rc)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !tg.hashesStream(50<<20-1) || tg.hashesStream(50<<20) {
			t.Errorf("rclone.conf's upload_cutoff = 50Mi: hashesStream(50Mi-1) = %v, (50Mi) = %v; want true, false",
				tg.hashesStream(50<<20-1), tg.hashesStream(50<<20))
		}
	})

	t.Run("alias with path", func(t *testing.T) {
		tg, err := Open(ctx, "al", config.Target{Remote: "arch:sub", Path: "pg"}, rc)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got, want := tg.String(), "al (arch:sub/pg)"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		if err := tg.Put(ctx, "h/db/z.age", strings.NewReader("zzz"), 3); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := files(t, aliased); !slices.Equal(got, []string{"sub/pg/h/db/z.age"}) {
			t.Errorf("aliased directory holds %q", got)
		}
		if ok, err := tg.Exists(ctx, "h/db/z.age"); !ok || err != nil {
			t.Errorf("Exists = %v, %v", ok, err)
		}
	})

	t.Run("remote not in config", func(t *testing.T) {
		_, err := Open(ctx, "x", config.Target{Remote: "nope:pg"}, rc)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != "targets.x.remote" {
			t.Errorf("Open = %v, want a config error for targets.x.remote", err)
		}
	})

	t.Run("second config file", func(t *testing.T) {
		other := writeFile(t, filepath.Join(dir, "other.conf"), "[both]\ntype = alias\nremote = /tmp\n")
		_, err := Open(ctx, "u", config.Target{Remote: "both:"}, config.Rclone{ConfigFile: other})
		if err == nil {
			t.Error("Open with a second rclone config succeeded")
		}
	})

	t.Run("type targets ignore the config file", func(t *testing.T) {
		// A type target named like a remote in rclone.conf is built from
		// its own options only.
		local := t.TempDir()
		tg, err := Open(ctx, "arch", config.Target{Type: "local", Path: local}, config.Rclone{})
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.Put(ctx, "f", strings.NewReader("f"), 1); err != nil {
			t.Fatal(err)
		}
		if got := files(t, local); !slices.Equal(got, []string{"f"}) {
			t.Errorf("local target holds %q", got)
		}
	})
}

func slicesReader(b []byte) *strings.Reader { return strings.NewReader(string(b)) }
