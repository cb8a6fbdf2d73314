// Package target stores archives on the places a config names: any rclone
// backend compiled into pgarchive, used as a library.
//
// A target is either a type (an rclone backend such as "sftp" or "s3") built
// from the options and secret files in pgarchive's config, or a remote from
// an existing rclone.conf. Check validates one without the network or secret
// files, so check-config can run in a Nix build sandbox:
//
//	if err := target.Check("nas", cfg.Targets["nas"]); err != nil { ... }
//
// Open reads the secrets and builds the backend; the Target it returns
// speaks in paths relative to the target's root:
//
//	t, err := target.Open(ctx, "nas", cfg.Targets["nas"], cfg.Rclone)
//	err = t.Put(ctx, "db1/db1_20250101T030000Z.sql.gz.age", r, size)
//	entries, err := t.List(ctx, "db1")
//
// Put is write-once: it refuses an object that already exists (ErrExists)
// and removes what a failed upload left behind. Only Delete removes objects.
//
// rclone is kept quiet: no rclone.conf is read unless a remote target needs
// one, nothing is printed to stdout, and SetLogHandler routes rclone's own
// log messages to pgarchive's handler.
package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/hash"
	"github.com/rclone/rclone/fs/operations"
)

// ErrExists is returned, wrapped with the path, by Put when the object is
// already there.
var ErrExists = errors.New("object already exists")

// ErrNotFound is returned, wrapped with the path, by Open and Delete when
// there is no object at the path.
var ErrNotFound = errors.New("object not found")

// Target is an opened storage target. Its methods may be called from
// several goroutines at once.
type Target struct {
	// Name is the target's name in the config ("nas").
	Name string

	desc string // "sftp:backups/pg" or "myremote:pg", never a secret
	fs   fs.Fs
	// localDisk skips rclone's upload checksum: for the local backend it
	// hashes the bytes it is handed twice (stream and write) in this very
	// process, which found nothing a disk could break and halved push
	// throughput on two cores. Remote backends keep it: there the server's
	// hash is checked against the stream. The manifest's SHA-256 and
	// `pgarchive verify` cover every target either way.
	localDisk bool
	// partsFrom is the upload size from which the backend sends an object
	// in parts and checks each (s3: every part carries its Content-MD5,
	// and rclone compares the store's ETag with the MD5 of the parts'
	// MD5s); 0 where it checks no parts. rclone's own MD5 of the whole
	// stream is skipped there: the store keeps no whole-object MD5 of a
	// multipart upload to compare it with, so it was a third pass over
	// every byte (10% of a push's CPU) that could catch nothing.
	partsFrom int64
	// confirmHash is the hash Put compares between the object it uploaded
	// and the object the target then holds, for backends that serve it
	// from metadata (object stores); hash.None where reading it would
	// mean reading the whole object again (local disks, SFTP).
	confirmHash hash.Type
	// lock is the lock Put's uploads carry (object_lock), api the S3 API
	// for what rclone lacks (s3 targets only), conditional whether the
	// store refuses an overwrite itself; see lock.go.
	lock        *Lock
	api         *s3API
	conditional bool
}

// Entry is one object in a listing.
type Entry struct {
	// Path is relative to the target's root, with "/" separators.
	Path string
	// Size is the object's size in bytes.
	Size int64
	// ModTime is the modification time the backend reports; on object
	// stores it is the upload time.
	ModTime time.Time
}

// String returns the target's name and where it points, such as
// "nas (sftp:backups/pg)". It never holds a secret.
func (t *Target) String() string {
	return fmt.Sprintf("%s (%s)", t.Name, t.desc)
}

// Exists reports whether an object exists at path, relative to the
// target's root.
func (t *Target) Exists(ctx context.Context, path string) (bool, error) {
	if err := checkPath(path); err != nil {
		return false, t.errorf("exists", path, err)
	}
	_, err := t.object(ctx, path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, t.errorf("exists", path, err)
}

// Put streams r to path. size is the exact number of bytes r will yield,
// or -1 if unknown; given, it lets backends plan the upload (S3 picks part
// sizes for very large objects from it).
//
// Put is write-once: it fails with ErrExists if the object is already
// there, checked right before writing. If the upload fails, r fails, or r
// yields a different number of bytes than size, the error is returned and
// whatever was written is removed, best effort. r is not read after Put
// returns, so a caller feeding it from a pipe can close the pipe then.
func (t *Target) Put(ctx context.Context, path string, r io.Reader, size int64) error {
	if err := checkPath(path); err != nil {
		return t.errorf("put", path, err)
	}
	exists, err := t.Exists(ctx, path)
	if err != nil {
		return err
	}
	if exists {
		return t.errorf("put", path, ErrExists)
	}
	in := &watchedReader{r: r}
	putCtx := ctx
	if !t.hashesStream(size) {
		var ci *fs.ConfigInfo
		putCtx, ci = fs.AddConfig(ctx)
		ci.IgnoreChecksum = true
	}
	putCtx = t.createOnly(putCtx)
	modTime := time.Now()
	obj, err := operations.RcatSize(putCtx, t.fs, path, io.NopCloser(in), size, modTime, nil)
	if err == nil {
		err = in.check(size)
	}
	if refusedOverwrite(err) {
		// The store kept what another writer put there: not ours to remove.
		return t.errorf("put", path, ErrExists)
	}
	if err != nil {
		t.removeFailed(ctx, obj, path)
		return t.errorf("put", path, err)
	}
	if err := t.confirm(ctx, path, obj, size, modTime); err != nil {
		// Not removed: what is there now may be another writer's.
		return t.errorf("put", path, err)
	}
	return nil
}

// hashesStream reports whether Put lets rclone hash an upload of size
// bytes on its way and compare the sum with the stored object's: only
// where that comparison can catch something the backend does not already
// check (see localDisk and partsFrom).
func (t *Target) hashesStream(size int64) bool {
	if t.localDisk {
		return false
	}
	return t.partsFrom == 0 || size < t.partsFrom
}

// ErrNotOurs is returned, wrapped, by Put when the object the target holds
// after the upload is not the one Put wrote: another writer got there in
// between, and its object is left alone.
var ErrNotOurs = errors.New("object on the target is not the one this upload wrote")

// confirm checks that the object at path is the one just uploaded (sent,
// as the backend reported it): its size, the backend's own hash where it
// serves one from metadata, and on local disks the modification time set
// for this upload, which no other writer can have set to the nanosecond.
func (t *Target) confirm(ctx context.Context, path string, sent fs.Object, size int64, modTime time.Time) error {
	got, err := t.fs.NewObject(ctx, path)
	if err != nil {
		return fmt.Errorf("confirm the upload: %w", err)
	}
	if size >= 0 && got.Size() != size {
		return fmt.Errorf("%w: it holds %d bytes, the upload was %d", ErrNotOurs, got.Size(), size)
	}
	if t.confirmHash != hash.None && sent != nil {
		want, _ := sent.Hash(ctx, t.confirmHash)
		have, err := got.Hash(ctx, t.confirmHash)
		if err == nil && want != "" && have != "" && want != have {
			return fmt.Errorf("%w: its %s is %s, the upload's was %s", ErrNotOurs, t.confirmHash, have, want)
		}
	}
	if t.localDisk {
		if d := got.ModTime(ctx).Sub(modTime).Abs(); d > time.Millisecond {
			return fmt.Errorf("%w: its modification time is %s, the upload set %s", ErrNotOurs,
				got.ModTime(ctx).Format(time.RFC3339Nano), modTime.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// removeFailed removes what a failed Put left at path. It runs even when
// ctx was cancelled (that may be why Put failed), for a bounded time.
func (t *Target) removeFailed(ctx context.Context, obj fs.Object, path string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if obj == nil {
		var err error
		if obj, err = t.fs.NewObject(ctx, path); err != nil {
			return // nothing there, or nothing we can see
		}
	}
	if err := obj.Remove(ctx); err != nil {
		fs.Errorf(t.fs, "could not remove incomplete object %q: %v", path, err)
	}
}

// watchedReader remembers how much r yielded and how reading it ended, so
// Put can tell a complete input from one that failed or was cut short,
// whatever the backend made of it.
type watchedReader struct {
	r   io.Reader
	n   int64
	err error // first error other than io.EOF
	eof bool
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n += int64(n)
	switch {
	case err == io.EOF:
		w.eof = true
	case err != nil && w.err == nil:
		w.err = err
	}
	return n, err
}

// check is called after a successful upload. It fails if the input failed,
// or if it did not yield exactly size bytes (when size >= 0).
func (w *watchedReader) check(size int64) error {
	if w.err != nil {
		return fmt.Errorf("read input: %w", w.err)
	}
	if size < 0 {
		if !w.eof {
			return errors.New("upload ended before the input did")
		}
		return nil
	}
	if w.n != size {
		return fmt.Errorf("input was %d bytes, expected %d", w.n, size)
	}
	if !w.eof {
		// The backend read exactly size bytes; the input must end there.
		var b [1]byte
		n, err := io.ReadFull(w, b[:])
		if n > 0 {
			return fmt.Errorf("input is longer than the %d bytes expected", size)
		}
		if err != io.EOF {
			return fmt.Errorf("read input: %w", err)
		}
	}
	return nil
}

// List returns every object below dir (recursively; "" is the whole
// target), with paths relative to the target's root, sorted by path. A
// directory that does not exist yields an empty list.
func (t *Target) List(ctx context.Context, dir string) ([]Entry, error) {
	dir = strings.Trim(dir, "/")
	if dir != "" {
		if err := checkPath(dir); err != nil {
			return nil, t.errorf("list", dir, err)
		}
	}
	var out []Entry
	add := func(entries fs.DirEntries) error {
		for _, e := range entries {
			if o, ok := e.(fs.Object); ok {
				out = append(out, Entry{Path: o.Remote(), Size: o.Size(), ModTime: o.ModTime(ctx)})
			}
		}
		return nil
	}
	var err error
	if listR := t.fs.Features().ListR; listR != nil {
		err = listR(ctx, dir, add)
	} else {
		err = t.walk(ctx, dir, add)
	}
	if errors.Is(err, fs.ErrorDirNotFound) {
		return []Entry{}, nil
	}
	if err != nil {
		return nil, t.errorf("list", dir, err)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	if out == nil {
		out = []Entry{}
	}
	return out, nil
}

// walk lists dir and the directories below it one by one, for backends
// without a recursive listing. A directory that vanishes while walking is
// skipped; only a missing dir itself is reported.
func (t *Target) walk(ctx context.Context, dir string, fn fs.ListRCallback) error {
	entries, err := t.fs.List(ctx, dir)
	if err != nil {
		return err
	}
	if err := fn(entries); err != nil {
		return err
	}
	for _, e := range entries {
		if d, ok := e.(fs.Directory); ok {
			err := t.walk(ctx, d.Remote(), fn)
			if err != nil && !errors.Is(err, fs.ErrorDirNotFound) {
				return err
			}
		}
	}
	return nil
}

// Open returns the content of the object at path. The caller closes it.
func (t *Target) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := checkPath(path); err != nil {
		return nil, t.errorf("open", path, err)
	}
	obj, err := t.object(ctx, path)
	if err != nil {
		return nil, t.errorf("open", path, err)
	}
	rc, err := obj.Open(ctx)
	if err != nil {
		return nil, t.errorf("open", path, err)
	}
	return rc, nil
}

// Delete removes the object at path.
func (t *Target) Delete(ctx context.Context, path string) error {
	if err := checkPath(path); err != nil {
		return t.errorf("delete", path, err)
	}
	if t.Locking() {
		// A plain delete would only hide the object behind a delete
		// marker: prune means gone, so every version goes.
		if err := t.purge(ctx, path); err != nil {
			return t.errorf("delete", path, err)
		}
		return nil
	}
	obj, err := t.object(ctx, path)
	if err != nil {
		return t.errorf("delete", path, err)
	}
	if err := obj.Remove(ctx); err != nil {
		return t.errorf("delete", path, err)
	}
	return nil
}

// Close releases the backend's connections (sftp keeps a pool). The
// Target must not be used afterwards.
func (t *Target) Close(ctx context.Context) error {
	if shutdown := t.fs.Features().Shutdown; shutdown != nil {
		if err := shutdown(ctx); err != nil {
			return fmt.Errorf("target %q: close: %w", t.Name, err)
		}
	}
	return nil
}

// object finds the object at path; a missing one is ErrNotFound.
func (t *Target) object(ctx context.Context, path string) (fs.Object, error) {
	obj, err := t.fs.NewObject(ctx, path)
	switch {
	case err == nil:
		return obj, nil
	case errors.Is(err, fs.ErrorObjectNotFound), errors.Is(err, fs.ErrorDirNotFound):
		return nil, ErrNotFound
	case errors.Is(err, fs.ErrorIsDir), errors.Is(err, fs.ErrorNotAFile):
		return nil, errors.New("is a directory, not an object")
	}
	return nil, err
}

func (t *Target) errorf(op, path string, err error) error {
	return fmt.Errorf("target %q: %s %q: %w", t.Name, op, path, err)
}

// checkPath accepts a relative object path with "/" separators and no
// empty, "." or ".." elements.
func checkPath(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	if strings.HasPrefix(path, "/") {
		return errors.New("path must be relative to the target")
	}
	for _, elem := range strings.Split(path, "/") {
		switch elem {
		case "", ".", "..":
			return errors.New("path must not have empty, \".\" or \"..\" elements")
		}
	}
	return nil
}
