// Package dump finds and recognises the dumps services.postgresqlBackup
// writes, before pgarchive ships them anywhere.
//
// A dump is a file `<dump_dir>/<db>.sql<suffix>`: the output of pg_dump (or
// pg_dumpall for the database name "all") piped through gzip, zstd or
// nothing. Inspect refuses what must not be archived as if it were good: a
// missing or empty file, one older than the allowed age (a hand-run push must
// not ship yesterday's dump as today's), one whose bytes do not match the
// declared compression, and one that is not pg_dump output at all.
//
// Decompress undoes the compression on the way back out, for restore.
package dump

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Dump content formats, as recorded in manifests.
const (
	// FormatPlain is pg_dump's plain SQL script (the services.postgresqlBackup default).
	FormatPlain = "plain"
	// FormatCustom is pg_dump -Fc, restored with pg_restore.
	FormatCustom = "custom"
	// FormatTar is pg_dump -Ft, restored with pg_restore.
	FormatTar = "tar"
	// FormatCluster is pg_dumpall's plain SQL script of the whole cluster.
	FormatCluster = "cluster"
)

// Info describes a dump that passed Inspect.
type Info struct {
	Path        string
	Size        int64
	ModTime     time.Time
	Compression string // gzip, zstd or none
	Format      string // one of the Format constants
	// Stamp is the file's identity when Inspect saw it; push compares it
	// with the file before and after its read.
	Stamp Stamp
}

// Stamp is what changes when a file is replaced or written to: its size,
// modification and change times, device and inode. Two equal stamps taken
// before and after a read mean nothing wrote the file in between (the
// change time moves on every write, even one that restores the old
// modification time).
type Stamp struct {
	Size    int64
	ModTime time.Time
	Ctime   time.Time
	Dev     uint64
	Inode   uint64
}

// StampOf returns the stamp of a file's FileInfo, as os.Stat or File.Stat
// return it.
func StampOf(fi os.FileInfo) Stamp {
	st := Stamp{Size: fi.Size(), ModTime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.Ctime = time.Unix(sys.Ctim.Sec, sys.Ctim.Nsec)
		st.Dev = uint64(sys.Dev)
		st.Inode = sys.Ino
	}
	return st
}

// Diff names what differs between two stamps of one file, "" when nothing.
func (s Stamp) Diff(later Stamp) string {
	var what []string
	if s.Dev != later.Dev || s.Inode != later.Inode {
		what = append(what, "replaced by another file")
	}
	if s.Size != later.Size {
		what = append(what, fmt.Sprintf("size %d -> %d bytes", s.Size, later.Size))
	}
	if !s.ModTime.Equal(later.ModTime) {
		what = append(what, "modification time moved")
	}
	if !s.Ctime.Equal(later.Ctime) {
		what = append(what, "change time moved")
	}
	return strings.Join(what, ", ")
}

// sniffSize is how much decompressed content Inspect reads to recognise the
// format: pg_dump's header comment and the tar header both fit.
const sniffSize = 4096

// Inspect checks the file at path is a non-empty dump with the declared
// compression, no older than maxAge at now (maxAge 0 skips the age check),
// and recognises its format.
func Inspect(path, compression string, maxAge time.Duration, now time.Time) (Info, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("dump %q not found: has services.postgresqlBackup run yet?", path)
	}
	if err != nil {
		return Info{}, fmt.Errorf("dump %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("dump %q is not a regular file", path)
	}
	if fi.Size() == 0 {
		return Info{}, fmt.Errorf("dump %q is empty: the dump itself failed", path)
	}
	if age := now.Sub(fi.ModTime()); maxAge > 0 && age > maxAge {
		return Info{}, fmt.Errorf("dump %q is stale: written %s ago, more than max_dump_age %s (use --allow-stale to push it anyway)",
			path, age.Round(time.Second), maxAge)
	}
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("open dump: %w", err)
	}
	defer f.Close()
	format, err := Sniff(f, compression)
	if err != nil {
		return Info{}, fmt.Errorf("dump %q: %w", path, err)
	}
	return Info{Path: path, Size: fi.Size(), ModTime: fi.ModTime(), Compression: compression, Format: format, Stamp: StampOf(fi)}, nil
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Sniff reads the start of a (compressed) dump from r, checks it matches the
// declared compression, and returns its format.
func Sniff(r io.Reader, compression string) (string, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(zstdMagic))
	isGzip, isZstd := bytes.HasPrefix(head, gzipMagic), bytes.HasPrefix(head, zstdMagic)
	switch {
	case compression == "gzip" && !isGzip,
		compression == "zstd" && !isZstd:
		return "", fmt.Errorf("is not %s-compressed (compression = %q in the config)", compression, compression)
	case compression == "none" && (isGzip || isZstd):
		return "", fmt.Errorf("is compressed, but compression = \"none\" in the config")
	}
	plain, err := Decompress(br, compression)
	if err != nil {
		return "", err
	}
	defer plain.Close()
	buf := make([]byte, sniffSize)
	n, err := io.ReadFull(plain, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s stream: %w", compression, err)
	}
	format := Format(buf[:n])
	if format == "" {
		return "", errors.New("is not pg_dump or pg_dumpall output")
	}
	return format, nil
}

// Format recognises a dump from its first bytes (uncompressed); "" means it
// is not a dump.
func Format(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PGDMP")):
		return FormatCustom
	case len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")) && bytes.Contains(head[:100], []byte("toc.dat")):
		return FormatTar
	case bytes.Contains(head, []byte("-- PostgreSQL database cluster dump")):
		return FormatCluster
	case bytes.Contains(head, []byte("-- PostgreSQL database dump")):
		return FormatPlain
	}
	return ""
}

// Decompress returns the uncompressed content of r for compression gzip,
// zstd or none. Closing the result does not close r.
func Decompress(r io.Reader, compression string) (io.ReadCloser, error) {
	switch compression {
	case "none":
		return io.NopCloser(r), nil
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip stream: %w", err)
		}
		return zr, nil
	case "zstd":
		// One goroutine and no big window up front: restore and verify
		// stream, they do not need zstd's parallel decoding.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd stream: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("unknown compression %q", compression)
}
