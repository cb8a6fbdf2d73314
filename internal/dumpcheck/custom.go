package dumpcheck

import (
	"bufio"
	"fmt"
)

// Data block types of custom archives.
const (
	blockData = 1 // table data: chunks
	blockLOs  = 3 // large objects: (oid, chunks) pairs up to a zero oid
)

// checkCustom walks a custom archive (pg_dump -Fc) to its end: header, TOC,
// then every data block, chunk by chunk, without decompressing them.
func checkCustom(r *bufio.Reader) (Result, error) {
	a := &archive{r: r, format: archCustom}
	if err := a.readHead(); err != nil {
		return Result{}, a.verdictAt(err)
	}
	if err := a.readTOC(); err != nil {
		return Result{}, a.verdictAt(err)
	}
	blocks := 0
	for {
		start := a.pos
		t, err := a.r.ReadByte()
		if err != nil {
			if endErr(err) != errEnd {
				return Result{}, err
			}
			break // EOF on a block boundary: the archive may be whole
		}
		a.pos++
		blocks++
		a.where = fmt.Sprintf("data block %d of %d", blocks, len(a.data))
		if err := a.readBlock(t, start); err != nil {
			return Result{}, a.verdictAt(err)
		}
	}
	for i, e := range a.data {
		if !e.seen {
			return Result{}, verdict(Truncated, "custom-format archive ends before data block %d of %d (%s)", i+1, len(a.data), e)
		}
	}
	return Result{ArchiveVersion: a.versionString(), DataBlocks: blocks}, nil
}

// verdictAt turns the end of input into a verdict naming where it came.
func (a *archive) verdictAt(err error) error {
	if err == errEnd {
		return verdict(Truncated, "custom-format archive ends inside %s", a.where)
	}
	return err
}

func (a *archive) readBlock(t byte, start int64) error {
	if t != blockData && t != blockLOs {
		return a.corrupt("unknown data block type %d at offset %d", t, start)
	}
	id, err := a.int()
	if err != nil {
		return err
	}
	e := a.byID[id]
	switch {
	case e == nil:
		return a.corrupt("data block at offset %d for dump id %d, which has no data in the TOC", start, id)
	case e.seen:
		return a.corrupt("second data block for dump id %d at offset %d", id, start)
	case e.state == offsetSet && e.pos != start:
		return a.corrupt("data block for dump id %d at offset %d, the TOC says %d", id, start, e.pos)
	case (e.desc == "BLOBS") != (t == blockLOs):
		return a.corrupt("data block of type %d for %s", t, e)
	}
	e.seen = true
	if t == blockData {
		return a.skipChunks()
	}
	for {
		oid, err := a.int()
		if err != nil {
			return err
		}
		if oid == 0 {
			return nil
		}
		if err := a.skipChunks(); err != nil {
			return err
		}
	}
}

// skipChunks skips length-prefixed chunks up to the zero length that ends
// them.
func (a *archive) skipChunks() error {
	for {
		n, err := a.int()
		if err != nil {
			return err
		}
		switch {
		case n == 0:
			return nil
		case n < 0:
			return a.corrupt("negative chunk length %d at offset %d", n, a.pos)
		}
		if err := a.skip(n); err != nil {
			return err
		}
	}
}
