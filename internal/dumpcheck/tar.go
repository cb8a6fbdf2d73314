package dumpcheck

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
)

const tarBlock = 512

// checkTar reads a tar archive (pg_dump -Ft) to its end: toc.dat first, as
// pg_dump writes it, then the data members the TOC names, then exactly the
// two zero blocks that end a tar archive and nothing after them.
// archive/tar alone would accept an archive cut at a member boundary, or
// after one zero block, so the position of its end is checked here.
func checkTar(r io.Reader) (Result, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	var (
		a        *archive
		expected map[string]*tocEntry
		lastEnd  int64 // where the last member's padded content ends
		members  int
		current  = "its first header"
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Result{}, tarError(err, "a header after "+current)
		}
		members++
		current = fmt.Sprintf("member %q", hdr.Name)
		lastEnd = cr.n + (hdr.Size+tarBlock-1)/tarBlock*tarBlock
		if members == 1 {
			if hdr.Name != "toc.dat" {
				return Result{}, verdict(Corrupt, "tar archive starts with %q, not toc.dat", hdr.Name)
			}
			if a, err = readTarTOC(tr, hdr.Size); err != nil {
				return Result{}, err
			}
			expected = expectedMembers(a)
			continue
		}
		if e := expected[hdr.Name]; e != nil {
			e.seen = true
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return Result{}, tarError(err, current)
		}
	}
	if members == 0 {
		if cr.n == 0 {
			return Result{}, verdict(Truncated, "tar archive is empty")
		}
		return Result{}, verdict(Corrupt, "tar archive has no members")
	}
	switch cr.n - lastEnd {
	case 2 * tarBlock:
	case tarBlock:
		return Result{}, verdict(Truncated, "tar archive ends inside its end-of-archive marker")
	default:
		return Result{}, verdict(Truncated, "tar archive ends after %s without its end-of-archive marker", current)
	}
	var one [1]byte
	if n, err := io.ReadFull(cr, one[:]); n > 0 {
		return Result{}, verdict(Corrupt, "bytes after the tar archive's end-of-archive marker")
	} else if err != io.EOF {
		return Result{}, err
	}
	data := 0
	for _, e := range a.data {
		if !e.seen {
			return Result{}, verdict(Corrupt, "tar archive has no member %q for %s", e.file, e)
		}
		data++
	}
	return Result{ArchiveVersion: a.versionString(), DataBlocks: data}, nil
}

// readTarTOC parses toc.dat, which must hold a header and TOC and nothing
// more.
func readTarTOC(tr *tar.Reader, size int64) (*archive, error) {
	a := &archive{r: bufio.NewReader(tr), format: archTar}
	err := a.readHead()
	if err == nil {
		err = a.readTOC()
	}
	if err == nil {
		if _, err = a.r.ReadByte(); err == nil {
			return nil, a.corrupt("bytes after the table of contents")
		}
		if err == io.EOF {
			return a, nil
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || (err == errEnd && a.pos < size) {
		// The member was cut short, not written short.
		return nil, verdict(Truncated, "tar archive ends inside toc.dat")
	}
	if err == errEnd {
		return nil, verdict(Corrupt, "tar archive's toc.dat ends inside %s", a.where)
	}
	return nil, err
}

// expectedMembers maps member names to the TOC entries whose data they hold.
// Large objects are the exception: the TOC names a file for the BLOBS entry
// that pg_dump before 17 never writes, putting blobs.toc (17: blobs_ID.toc)
// and one file per object there instead.
func expectedMembers(a *archive) map[string]*tocEntry {
	m := map[string]*tocEntry{}
	for _, e := range a.data {
		m[e.file] = e
		if e.desc == "BLOBS" {
			m["blobs.toc"] = e
			m[fmt.Sprintf("blobs_%d.toc", e.id)] = e
		}
	}
	return m
}

func tarError(err error, where string) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return verdict(Truncated, "tar archive ends inside %s", where)
	case errors.Is(err, errStream), errors.Is(err, errAborted):
		return err
	}
	return verdict(Corrupt, "tar archive is damaged at %s: %v", where, err)
}
