package target

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
)

// openLocal opens a local target rooted at dir.
func openLocal(t *testing.T, dir string) *Target {
	t.Helper()
	tg, err := Open(context.Background(), "disk", config.Target{Type: "local", Path: dir}, config.Rclone{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tg
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// files returns every regular file below dir, relative and sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readAll(t *testing.T, tg *Target, path string) []byte {
	t.Helper()
	rc, err := tg.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", path, err)
	}
	return b
}

func TestString(t *testing.T) {
	dir := t.TempDir()
	tg := openLocal(t, dir)
	if got, want := tg.String(), "disk (local:"+dir+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestPutSizes stores objects below and above rclone's streaming cutoff
// (100 KiB), with the size given and with -1, and reads them back.
func TestPutSizes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tg := openLocal(t, dir)
	tests := []struct {
		path    string
		n       int
		unknown bool
	}{
		{"h/db/empty-known", 0, false},
		{"h/db/empty-unknown", 0, true},
		{"h/db/small-known", 1000, false},
		{"h/db/small-unknown", 1000, true},
		{"h/db/large-known", 3<<20 + 17, false},
		{"h/db/large-unknown", 3<<20 + 17, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			data := randomBytes(t, tt.n)
			size := int64(len(data))
			if tt.unknown {
				size = -1
			}
			// A reader without Seek, Len or WriterTo: a stream, as in push.
			r := struct{ io.Reader }{bytes.NewReader(data)}
			if err := tg.Put(ctx, tt.path, r, size); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got := readAll(t, tg, tt.path); !bytes.Equal(got, data) {
				t.Errorf("read back %d bytes, want the %d put", len(got), len(data))
			}
			onDisk, err := os.ReadFile(filepath.Join(dir, tt.path))
			if err != nil || !bytes.Equal(onDisk, data) {
				t.Errorf("file on disk differs (err %v)", err)
			}
		})
	}
	entries, err := tg.List(ctx, "h/db")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(tests) {
		t.Fatalf("List: %d entries, want %d", len(entries), len(tests))
	}
	for _, e := range entries {
		for _, tt := range tests {
			if e.Path == tt.path && e.Size != int64(tt.n) {
				t.Errorf("List: %s has size %d, want %d", e.Path, e.Size, tt.n)
			}
		}
		if e.ModTime.IsZero() {
			t.Errorf("List: %s has no modification time", e.Path)
		}
	}
}

// countingReader counts what was read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestPutRefusesExisting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tg := openLocal(t, dir)
	if err := tg.Put(ctx, "db/a.age", strings.NewReader("first"), 5); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{6, -1} {
		second := &countingReader{r: strings.NewReader("second")}
		err := tg.Put(ctx, "db/a.age", second, size)
		if !errors.Is(err, ErrExists) {
			t.Fatalf("second Put (size %d) = %v, want ErrExists", size, err)
		}
		if !strings.Contains(err.Error(), `"db/a.age"`) {
			t.Errorf("error %q does not name the path", err)
		}
		if second.n != 0 {
			t.Errorf("refused Put read %d bytes of its input", second.n)
		}
	}
	if got := readAll(t, tg, "db/a.age"); string(got) != "first" {
		t.Errorf("object now holds %q, want %q", got, "first")
	}
}

var errBroken = errors.New("pg_dump went away")

// brokenReader yields n random bytes, then fails.
type brokenReader struct {
	r io.Reader
}

func newBrokenReader(t *testing.T, n int) io.Reader {
	return &brokenReader{r: bytes.NewReader(randomBytes(t, n))}
}

func (b *brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

// TestPutFailingInput checks that an input that fails, or does not match
// the size given, leaves no object behind, below and above the streaming
// cutoff.
func TestPutFailingInput(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		r    func(t *testing.T) io.Reader
		size int64
	}{
		{"small unknown size", func(t *testing.T) io.Reader { return newBrokenReader(t, 50<<10) }, -1},
		{"large unknown size", func(t *testing.T) io.Reader { return newBrokenReader(t, 2<<20) }, -1},
		{"small known size", func(t *testing.T) io.Reader { return newBrokenReader(t, 50<<10) }, 100 << 10},
		{"large known size", func(t *testing.T) io.Reader { return newBrokenReader(t, 2<<20) }, 4 << 20},
		{"shorter than size", func(t *testing.T) io.Reader { return bytes.NewReader(randomBytes(t, 1<<20)) }, 2 << 20},
		{"longer than size", func(t *testing.T) io.Reader { return bytes.NewReader(randomBytes(t, 2<<20)) }, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tg := openLocal(t, dir)
			err := tg.Put(ctx, "h/db/x.age", tt.r(t), tt.size)
			if err == nil {
				t.Fatal("Put succeeded")
			}
			t.Logf("Put: %v", err)
			if ok, err := tg.Exists(ctx, "h/db/x.age"); ok || err != nil {
				t.Errorf("Exists = %v, %v after a failed Put", ok, err)
			}
			if left := files(t, dir); len(left) > 0 {
				t.Errorf("files left behind: %q", left)
			}
		})
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	tg := openLocal(t, root)

	// Nothing there yet, not even the root.
	for _, d := range []string{"", "nope", "h/db"} {
		entries, err := tg.List(ctx, d)
		if err != nil || entries == nil || len(entries) != 0 {
			t.Errorf("List(%q) on a missing directory = %v, %v; want an empty list", d, entries, err)
		}
	}

	for _, p := range []string{"h/db2/b", "h/db1/sub/c", "h/db1/a", "top"} {
		if err := tg.Put(ctx, p, strings.NewReader(p), int64(len(p))); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		dir  string
		want []string
	}{
		{"", []string{"h/db1/a", "h/db1/sub/c", "h/db2/b", "top"}},
		{"h", []string{"h/db1/a", "h/db1/sub/c", "h/db2/b"}},
		{"h/db1", []string{"h/db1/a", "h/db1/sub/c"}},
		{"h/db1/", []string{"h/db1/a", "h/db1/sub/c"}},
		{"h/db3", []string{}},
	}
	for _, tt := range tests {
		entries, err := tg.List(ctx, tt.dir)
		if err != nil {
			t.Fatalf("List(%q): %v", tt.dir, err)
		}
		got := []string{}
		for _, e := range entries {
			got = append(got, e.Path)
			if e.Size != int64(len(e.Path)) {
				t.Errorf("List(%q): %s has size %d, want %d", tt.dir, e.Path, e.Size, len(e.Path))
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.dir, got, tt.want)
		}
	}
}

func TestOpenDeleteExists(t *testing.T) {
	ctx := context.Background()
	tg := openLocal(t, t.TempDir())
	if err := tg.Put(ctx, "h/db/x", strings.NewReader("data"), -1); err != nil {
		t.Fatal(err)
	}
	if ok, err := tg.Exists(ctx, "h/db/x"); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	if ok, err := tg.Exists(ctx, "h/db/y"); ok || err != nil {
		t.Fatalf("Exists(missing) = %v, %v", ok, err)
	}
	if ok, err := tg.Exists(ctx, "h/db"); ok || err == nil {
		t.Errorf("Exists(directory) = %v, %v; want an error", ok, err)
	}
	if err := tg.Delete(ctx, "h/db/x"); err != nil {
		t.Fatal(err)
	}
	if ok, err := tg.Exists(ctx, "h/db/x"); ok || err != nil {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
	if err := tg.Delete(ctx, "h/db/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(missing) = %v, want ErrNotFound", err)
	}
	if _, err := tg.Open(ctx, "h/db/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	if err := tg.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestBadPaths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	tg := openLocal(t, root)
	for _, p := range []string{"", "/etc/passwd", "../escape", "a/../../b", "a//b", "./a", "a/"} {
		if err := tg.Put(ctx, p, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put(%q) succeeded", p)
		}
		if _, err := tg.Exists(ctx, p); err == nil {
			t.Errorf("Exists(%q) succeeded", p)
		}
		if err := tg.Delete(ctx, p); err == nil {
			t.Errorf("Delete(%q) succeeded", p)
		}
	}
	if _, err := tg.List(ctx, "../x"); err == nil {
		t.Error("List(\"../x\") succeeded")
	}
	if left := files(t, dir); len(left) > 0 {
		t.Errorf("files written: %q", left)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, "nas", config.Target{Type: "sftpp"}, config.Rclone{})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "targets.nas.type" {
		t.Errorf("Open(unknown backend) = %v, want a config error for targets.nas.type", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, "disk", config.Target{Type: "local", Path: file}, config.Rclone{}); err == nil {
		t.Error("Open with a file as root succeeded")
	}
}

func TestBackendConfigDefaults(t *testing.T) {
	ri := mustFind(t, "s3")
	m := backendConfig(ri, map[string]string{"provider": "Minio", "upload_concurrency": "8"})
	for key, want := range map[string]string{
		"provider":           "Minio",
		"upload_concurrency": "8",
		"chunk_size":         "5Mi", // rclone's default, not zero
		"max_upload_parts":   "10000",
	} {
		if got, ok := m.Get(key); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if got, ok := m.Get("no_such_option"); ok {
		t.Errorf("Get(no_such_option) = %q, want nothing", got)
	}
}

// TestOpenAppliesDefaults is a regression test: a backend built from the
// given options alone, without rclone's defaults, fails ("s3: chunk size: 0
// is less than 5Mi"). With the bucket as the whole path, s3 makes no request
// while it is built.
func TestOpenAppliesDefaults(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "s3-key")
	if err := os.WriteFile(secret, []byte("s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := config.Target{Type: "s3", Path: "bucket", Options: map[string]any{
		"provider": "Minio", "endpoint": "http://127.0.0.1:1", "access_key_id": "k",
	}, SecretFiles: map[string]string{"secret_access_key": secret}}
	tg, err := Open(context.Background(), "minio", target, config.Rclone{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got, want := tg.String(), "minio (s3:bucket)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestStreamHashOnlyWhereItChecks: rclone's MD5 of the whole stream is
// compared with the stored object's, so it is kept where the store has a
// whole-object MD5 (an s3 upload below upload_cutoff: its ETag) and
// skipped where the backend checks the upload part by part (s3 multipart:
// Content-MD5 per part, ETag of the parts' MD5s), which a 2 GiB push paid
// for with 10% of its CPU.
func TestStreamHashOnlyWhereItChecks(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "s3-key")
	if err := os.WriteFile(secret, []byte("s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3 := func(opts map[string]any) config.Target {
		opts["provider"], opts["endpoint"], opts["access_key_id"] = "Minio", "http://127.0.0.1:1", "k"
		return config.Target{Type: "s3", Path: "bucket", Options: opts, SecretFiles: map[string]string{"secret_access_key": secret}}
	}
	for _, c := range []struct {
		name             string
		target           config.Target
		hashed, unhashed []int64 // sizes whose upload rclone hashes / does not
	}{
		{"s3, rclone's default upload_cutoff", s3(map[string]any{}), []int64{1, 200<<20 - 1}, []int64{200 << 20, 50 << 30}},
		{"s3, upload_cutoff = 10Mi", s3(map[string]any{"upload_cutoff": "10Mi"}), []int64{10<<20 - 1}, []int64{10 << 20}},
		{"local disk", config.Target{Type: "local", Path: t.TempDir()}, nil, []int64{1, 1 << 30}},
	} {
		tg, err := Open(context.Background(), "t", c.target, config.Rclone{})
		if err != nil {
			t.Fatalf("%s: Open: %v", c.name, err)
		}
		for _, size := range c.hashed {
			if !tg.hashesStream(size) {
				t.Errorf("%s: an upload of %d bytes is not hashed", c.name, size)
			}
		}
		for _, size := range c.unhashed {
			if tg.hashesStream(size) {
				t.Errorf("%s: an upload of %d bytes is hashed", c.name, size)
			}
		}
	}
}

// A local target whose directory is missing (a disk that is not mounted)
// must fail, not be created on the disk underneath; require_mount refuses
// a directory that is not a mount point.
func TestLocalRootMustExist(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "usb", "pg")
	_, err := Open(context.Background(), "usb", config.Target{Type: "local", Path: missing}, config.Rclone{})
	if err == nil || !strings.Contains(err.Error(), "is the disk mounted?") {
		t.Fatalf("Open of a missing directory: %v, want a hint about mounting", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created %s: %v", missing, err)
	}
	_, err = Open(context.Background(), "usb", config.Target{Type: "local", Path: dir, RequireMount: true}, config.Rclone{})
	if err == nil || !strings.Contains(err.Error(), "not a mount point") {
		t.Fatalf("require_mount on a plain directory: %v, want it refused", err)
	}
	if _, err := Open(context.Background(), "root", config.Target{Type: "local", Path: "/proc", RequireMount: true}, config.Rclone{}); err != nil {
		t.Errorf("require_mount on /proc, a mount point: %v", err)
	}
}

// Put confirms that what the target holds afterwards is what it wrote: an
// object another writer replaced (other size, or on a local disk another
// modification time than this upload set) is not taken for this upload's.
func TestConfirmTellsAnotherWritersObject(t *testing.T) {
	tg := openLocal(t, t.TempDir())
	data := randomBytes(t, 1<<20)
	if err := tg.Put(context.Background(), "h/db/x.age", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	obj, err := tg.fs.NewObject(context.Background(), "h/db/x.age")
	if err != nil {
		t.Fatal(err)
	}
	mt := obj.ModTime(context.Background())
	if err := tg.confirm(context.Background(), "h/db/x.age", obj, int64(len(data)), mt); err != nil {
		t.Errorf("confirm of the object as written: %v", err)
	}
	if err := tg.confirm(context.Background(), "h/db/x.age", obj, int64(len(data))+1, mt); !errors.Is(err, ErrNotOurs) {
		t.Errorf("confirm with another size = %v, want ErrNotOurs", err)
	}
	if err := tg.confirm(context.Background(), "h/db/x.age", obj, int64(len(data)), mt.Add(-time.Second)); !errors.Is(err, ErrNotOurs) {
		t.Errorf("confirm with another modification time = %v, want ErrNotOurs", err)
	}
}
