// Package dumpcheck judges whether a PostgreSQL dump is whole, from the bytes
// push reads once anyway, before any of them is committed to a target.
//
// A dump that pg_dump did not finish (a full disk, a killed unit, a copy cut
// short) still starts like a good one, so looking at its first bytes proves
// nothing; pushing it would make it "the newest archive" and let retention
// delete the good one before it. A Checker reads the whole file instead, on
// its own goroutine beside hashing and encryption, and says at Close whether
// the dump is whole:
//
//   - The compression decodes to its end: every gzip member's CRC-32 and
//     length (several members, as pigz and `gzip --rsyncable` write them, are
//     fine), every zstd frame's checksum where the frame has one. Bytes after
//     the last member or frame are an error: nothing that writes dumps puts
//     them there.
//   - A plain script (pg_dump) ends exactly as pg_dump ends one: the line
//     `-- PostgreSQL database dump complete`, a closing `--`, a blank line
//     and, when the script opens with `\restrict KEY` (pg_dump since 17.6,
//     16.10, 15.14), `\unrestrict KEY` and a blank line. Exactly, because
//     any looser rule (extra blank or comment lines, say) would also pass
//     some cut of a whole script. A pg_dumpall script (format cluster) ends
//     with `-- PostgreSQL database cluster dump complete`, `--` and a blank
//     line; each database inside it has its own completion line, which is
//     why the cluster line is required there. A pg_dumpall script judged as
//     plain passes on its cluster line, which pg_dumpall writes only after
//     every database; cut after an inner database it fails, because that
//     database's \unrestrict key is not the one at the script's top (a
//     pg_dumpall from before \restrict existed has no such key: judge it as
//     cluster, as push does for the database name "all").
//   - A custom archive (pg_dump -Fc) parses as one: header, table of
//     contents, then data blocks to EOF. EOF must fall on a block boundary,
//     every TOC entry with data must have had its block (at the offset the TOC
//     names, where pg_dump could seek back to record it), and any other byte
//     is an error. Block contents are skipped by their chunk lengths, not
//     decompressed: a damaged chunk inside is left to the compression check
//     of the outer stream and to restore drills.
//   - A tar archive (pg_dump -Ft) reads to its end-of-archive marker, starts
//     with a toc.dat that parses, and holds a member for every TOC entry with
//     data.
//
// Only the last few KiB of a plain script are kept, and archives are walked,
// not buffered, so memory stays flat whatever the dump's size. The verdict
// is an *Error whose text is one line, e.g. "dump is truncated: gzip stream
// ends before its trailer".
package dumpcheck

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pgarchive/pgarchive/internal/dump"
)

// Result describes a dump that passed.
type Result struct {
	// Check names what was checked, for the archive manifest: the
	// compression layer and the content check, comma-separated, e.g.
	// "gzip-stream,completion-line" or "zstd-stream,custom-archive".
	Check string
	// PlainBytes is the dump's size after decompression.
	PlainBytes int64
	// ArchiveVersion is the custom or tar archive's format version, e.g.
	// "1.14"; empty for plain scripts.
	ArchiveVersion string
	// DataBlocks counts the custom archive's data blocks or the tar
	// archive's data members.
	DataBlocks int
}

// Kinds of Error.
const (
	// Truncated means the dump ends early: what is there is consistent, but
	// more had to follow.
	Truncated = "truncated"
	// Incomplete means the dump decodes to its end but lacks what pg_dump
	// writes last.
	Incomplete = "incomplete"
	// Corrupt means bytes are wrong: a checksum, a structure, or bytes after
	// the end.
	Corrupt = "corrupt"
	// Unsupported means the dump is in a form this check cannot judge, such
	// as an archive version newer than it knows.
	Unsupported = "unsupported"
)

// Error is the verdict on a dump that is not whole.
type Error struct {
	Kind   string // Truncated, Incomplete, Corrupt or Unsupported
	Reason string
}

func (e *Error) Error() string { return "dump is " + e.Kind + ": " + e.Reason }

func verdict(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// check reads a whole dump as stored from r and judges it.
func check(r io.Reader, compression, format string) (Result, error) {
	var checks []string
	src := &stream{}
	switch compression {
	case "gzip":
		checks = append(checks, "gzip-stream")
		src.r = newGzipStream(r)
	case "zstd":
		checks = append(checks, "zstd-stream")
		zs, err := newZstdStream(r)
		if err != nil {
			return Result{}, err
		}
		defer zs.close()
		src.r = zs
	case "none":
		src.r = r
	default:
		return Result{}, fmt.Errorf("dumpcheck: unknown compression %q", compression)
	}

	var res Result
	var err error
	switch format {
	case dump.FormatPlain, dump.FormatCluster:
		checks = append(checks, "completion-line")
		err = checkScript(src, format == dump.FormatCluster)
	case dump.FormatCustom:
		checks = append(checks, "custom-archive")
		res, err = checkCustom(bufio.NewReaderSize(src, 64<<10))
	case dump.FormatTar:
		checks = append(checks, "tar-archive")
		res, err = checkTar(src)
	default:
		return Result{}, fmt.Errorf("dumpcheck: unknown format %q", format)
	}
	// A broken compressed stream also breaks whatever was read from it; the
	// stream's own error says what happened first.
	if src.err != nil {
		return Result{}, src.err
	}
	if err != nil {
		return Result{}, err
	}
	res.Check = strings.Join(checks, ",")
	res.PlainBytes = src.n
	return res, nil
}

// stream counts the decompressed bytes and keeps the compression layer's
// error apart from the content check's.
type stream struct {
	r     io.Reader
	n     int64
	err   error
	empty int // reads in a row that returned nothing
}

// errStream stops a content check when the stream beneath it failed; check
// reports stream.err instead.
var errStream = errors.New("compressed stream failed")

func (s *stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, errStream
	}
	if len(p) == 0 {
		return 0, nil // some decoders spin on an empty buffer
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
		return n, errStream
	}
	// A decoder that returns nothing, again and again, must not hold the
	// check forever.
	if n == 0 && err == nil {
		if s.empty++; s.empty > 100 {
			s.err = verdict(Corrupt, "the decompressor makes no progress")
			return 0, errStream
		}
	} else {
		s.empty = 0
	}
	return n, err
}
