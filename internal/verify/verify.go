// Package verify checks that stored archives are what their manifests say
// they are, and, given a key, that the dumps inside still read to the end.
//
// Archive checks one complete archive on one target, at one of two depths:
//
//   - without identities it downloads the object and compares its size and
//     SHA-256 with the manifest's ciphertext fields. This needs no secret, so
//     it can run on the database host, which holds recipients only;
//   - with identities it also decrypts (archive.Open checks the plaintext's
//     size and SHA-256 against the manifest), undoes the dump's compression to
//     the end of the stream, and checks the dump itself: a plain pg_dump
//     script must end with pg_dump's completion line ("-- PostgreSQL
//     database dump complete", or "... cluster dump complete" for
//     pg_dumpall), allowing the blank, "--" and "\unrestrict" lines that
//     follow it; a custom or tar archive is read through by
//     `pg_restore --file=/dev/null`, which, unlike `pg_restore --list`,
//     reads every data block, not only the table of contents.
//
// The archive is streamed, never stored: memory use does not grow with
// its size.
//
// NoMatch is the error of a run whose selection matched no archive at all:
// a run that checked nothing has proved nothing.
//
// Sample picks the archives of a partial run (verify --sample): a fixed
// share, the same all day and different the next, so a daily 5% check walks
// through the archives over time.
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/dumpcheck"
	"github.com/pgarchive/pgarchive/internal/target"
)

// Depths of a check, as reported in Result.Checked.
const (
	// Ciphertext: the object's size and SHA-256 match the manifest.
	Ciphertext = "ciphertext"
	// Full: ciphertext, then decryption, plaintext and the dump's end.
	Full = "ciphertext, plaintext, dump"
	// Listing: the listing alone, which showed a manifest whose object
	// is gone; there is nothing left to read.
	Listing = "listing"
)

// Options says how deep Archive checks.
type Options struct {
	// Identities decrypt the archives; none means a ciphertext check only.
	// pg_restore, for custom and tar dumps, is looked up in PATH.
	Identities []age.Identity
}

// Result is the outcome of checking one archive.
type Result struct {
	Entry archive.Entry
	// Checked is Ciphertext or Full: what was checked, or attempted.
	Checked string
	// Bytes is how many bytes of the object were read.
	Bytes int64
	// Err says what is wrong with the archive; nil when it is good.
	Err error
}

// Archive checks the complete archive e on t.
func Archive(ctx context.Context, t *target.Target, e archive.Entry, opts Options) Result {
	res := Result{Entry: e, Checked: Ciphertext}
	if len(opts.Identities) > 0 {
		res.Checked = Full
	}
	m, err := archive.ReadManifest(ctx, t, e.Name)
	if err != nil {
		res.Err = err
		return res
	}
	if len(opts.Identities) == 0 {
		res.Bytes, res.Err = checkCiphertext(ctx, t, e.Name, m)
		return res
	}
	res.Bytes, res.Err = checkFull(ctx, t, e.Name, m, opts)
	return res
}

// checkCiphertext streams the object through SHA-256.
func checkCiphertext(ctx context.Context, t *target.Target, n archive.Name, m *archive.Manifest) (int64, error) {
	rc, err := t.Open(ctx, n.Object())
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	h := sha256.New()
	size, err := io.Copy(h, rc)
	if err != nil {
		return size, fmt.Errorf("read %s on %s: %w", n.Object(), t.Name, err)
	}
	if size != m.Ciphertext.Size {
		return size, fmt.Errorf("ciphertext is %d bytes, manifest says %d", size, m.Ciphertext.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.Ciphertext.SHA256 {
		return size, fmt.Errorf("ciphertext SHA-256 is %s, manifest says %s", got, m.Ciphertext.SHA256)
	}
	return size, nil
}

// checkFull decrypts the archive and judges the dump in it whole exactly
// as push does (package dumpcheck: the compressed stream to its end, then
// pg_dump's completion line or a well-formed archive). Custom and tar
// dumps are also read by pg_restore, which decompresses the table data
// inside them that dumpcheck only walks past.
func checkFull(ctx context.Context, t *target.Target, n archive.Name, m *archive.Manifest, opts Options) (int64, error) {
	plain, err := archive.Open(ctx, t, n, m, opts.Identities)
	if err != nil {
		return 0, err
	}
	defer plain.Close()
	checker := dumpcheck.New(m.Dump.Compression, m.Dump.Format)
	defer checker.Abort()
	src := io.TeeReader(plain, checker)
	if m.Dump.Format == dump.FormatCustom || m.Dump.Format == dump.FormatTar {
		data, err := dump.Decompress(src, m.Dump.Compression)
		if err != nil {
			return 0, err
		}
		err = checkArchive(ctx, data)
		data.Close()
		if err != nil {
			return 0, err
		}
	}
	// Read on to the end, so that archive.Open's size and digest checks
	// run and the checker sees every byte.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return 0, err
	}
	if _, err := checker.Close(); err != nil {
		return 0, err
	}
	return m.Ciphertext.Size, nil
}
