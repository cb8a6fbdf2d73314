package dumpcheck

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// pg_dump's archive format, shared by custom files and the toc.dat of tar
// archives (facts from PostgreSQL's src/bin/pg_dump/pg_backup_archiver.c,
// pg_backup_custom.c and pg_backup_tar.c):
//
//	header: "PGDMP", version major, minor, rev bytes, intSize byte,
//	        offSize byte, format byte, compression (an int before 1.15, an
//	        algorithm byte since), 7 ints of creation time, and the strings
//	        database name, server version, pg_dump version
//	TOC:    an int count, then per entry: dumpId int, hadDumper int,
//	        tableoid, oid, tag, desc strings, section int, defn, dropStmt,
//	        copyStmt, namespace, tablespace, tableam (1.14+) strings,
//	        relkind int (1.16+), owner, withOids strings, dependency strings
//	        up to a null one, then the format's own field: a data offset in
//	        custom files (flag byte, offSize bytes), a file name in tar
//	int:    a sign byte (0 or 1), then intSize bytes, least significant first
//	string: an int length (-1 for null), then the bytes
//
// Versions 1.12 (PostgreSQL 9.x) to 1.16 (17) are read; pg_dump 15 writes
// 1.14, 16 writes 1.15 and 17 writes 1.16.

func archVersion(major, minor int) int { return (major*256 + minor) * 256 }

var (
	vers1_14 = archVersion(1, 14) // tableam
	vers1_15 = archVersion(1, 15) // compression algorithm byte
	vers1_16 = archVersion(1, 16) // relkind
	versMin  = archVersion(1, 12)
	versMax  = archVersion(1, 16) + 255
)

// Archive format bytes in the header, and offset flags of custom files.
const (
	archCustom = 1
	archTar    = 3

	offsetNotSet = 1 // pg_dump wrote to a pipe and could not seek back
	offsetSet    = 2
	offsetNoData = 3
)

// errEnd is what archive's readers return at EOF; the caller turns it into
// a verdict that says where the archive ended.
var errEnd = errors.New("end of archive")

// archive reads pg_dump's archive structures from r, counting offsets.
type archive struct {
	r       *bufio.Reader
	pos     int64
	format  byte // archCustom or archTar
	version int
	intSize int
	offSize int
	where   string // what is being read, for verdicts

	tocCount int
	data     []*tocEntry // entries with data, in TOC order
	byID     map[int64]*tocEntry
}

// tocEntry keeps what the check needs of a TOC entry that has data.
type tocEntry struct {
	id    int64
	desc  string
	tag   string
	state byte   // custom: offset flag
	pos   int64  // custom: data offset when state is offsetSet
	file  string // tar: the member holding the data
	seen  bool
}

func (e *tocEntry) String() string { return fmt.Sprintf("%s %q", e.desc, e.tag) }

func (a *archive) byte() (byte, error) {
	b, err := a.r.ReadByte()
	if err != nil {
		return 0, endErr(err)
	}
	a.pos++
	return b, nil
}

func endErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errEnd
	}
	return err
}

func (a *archive) skip(n int64) error {
	for n > 0 {
		k := int(min(n, 1<<30))
		d, err := a.r.Discard(k)
		a.pos += int64(d)
		n -= int64(d)
		if err != nil {
			return endErr(err)
		}
	}
	return nil
}

// int reads pg_dump's sign-and-magnitude integer.
func (a *archive) int() (int64, error) {
	sign, err := a.byte()
	if err != nil {
		return 0, err
	}
	if sign > 1 {
		return 0, a.corrupt("bad integer sign byte %d at offset %d", sign, a.pos-1)
	}
	var v uint64
	for i := 0; i < a.intSize; i++ {
		b, err := a.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b) << (8 * i)
	}
	if v > 1<<62 {
		return 0, a.corrupt("integer out of range at offset %d", a.pos-int64(a.intSize))
	}
	if sign == 1 {
		return -int64(v), nil
	}
	return int64(v), nil
}

// maxKept bounds the strings the check keeps (tags and names for its
// messages); longer ones, such as function bodies, are skipped.
const maxKept = 200

// str reads a string, keeping at most maxKept bytes of it when keep.
func (a *archive) str(keep bool) (s string, null bool, err error) {
	n, err := a.int()
	if err != nil {
		return "", false, err
	}
	switch {
	case n == -1:
		return "", true, nil
	case n < -1:
		return "", false, a.corrupt("bad string length %d at offset %d", n, a.pos)
	}
	if !keep {
		return "", false, a.skip(n)
	}
	k := min(n, maxKept)
	buf := make([]byte, k)
	got, err := io.ReadFull(a.r, buf)
	a.pos += int64(got)
	if err != nil {
		return "", false, endErr(err)
	}
	return string(buf), false, a.skip(n - k)
}

func (a *archive) skipStr() error {
	_, _, err := a.str(false)
	return err
}

func (a *archive) corrupt(format string, args ...any) *Error {
	return verdict(Corrupt, "%s %s", a.name(), fmt.Sprintf(format, args...))
}

func (a *archive) name() string {
	if a.format == archTar {
		return "tar archive's toc.dat:"
	}
	return "custom-format archive:"
}

// readHead reads the header, refusing versions this check cannot walk.
func (a *archive) readHead() error {
	a.where = "its header"
	magic := make([]byte, 5)
	n, err := io.ReadFull(a.r, magic)
	a.pos += int64(n)
	if err != nil {
		return endErr(err)
	}
	if string(magic) != "PGDMP" {
		return a.corrupt("no PGDMP magic at its start")
	}
	var v [3]byte
	for i := range v {
		b, err := a.byte()
		if err != nil {
			return err
		}
		v[i] = b
	}
	a.version = (int(v[0])*256+int(v[1]))*256 + int(v[2])
	if a.version < versMin || a.version > versMax {
		if a.version > versMax {
			return verdict(Unsupported, "%s version %d.%d is newer than this check knows (1.16)", strings.TrimSuffix(a.name(), ":"), v[0], v[1])
		}
		return verdict(Unsupported, "%s version %d.%d is older than this check reads (1.12)", strings.TrimSuffix(a.name(), ":"), v[0], v[1])
	}
	var intSize, offSize, format byte
	if intSize, err = a.byte(); err != nil {
		return err
	}
	if offSize, err = a.byte(); err != nil {
		return err
	}
	if format, err = a.byte(); err != nil {
		return err
	}
	// pg_dump writes sizeof(int) and sizeof(pgoff_t): 4 and 8 everywhere.
	if intSize < 1 || intSize > 8 || offSize < 1 || offSize > 16 {
		return a.corrupt("implausible integer size %d or offset size %d", intSize, offSize)
	}
	a.intSize, a.offSize = int(intSize), int(offSize)
	if format != a.format {
		return a.corrupt("header names archive format %d, want %d", format, a.format)
	}
	if a.version >= vers1_15 {
		_, err = a.byte() // compression algorithm
	} else {
		_, err = a.int() // compression level
	}
	if err != nil {
		return err
	}
	for range 7 { // creation time
		if _, err := a.int(); err != nil {
			return err
		}
	}
	for range 3 { // database, server version, pg_dump version
		if err := a.skipStr(); err != nil {
			return err
		}
	}
	return nil
}

// readTOC reads the table of contents, keeping the entries that have data.
func (a *archive) readTOC() error {
	a.where = "its table of contents"
	n, err := a.int()
	if err != nil {
		return err
	}
	if n < 0 {
		return a.corrupt("negative TOC entry count %d", n)
	}
	a.byID = map[int64]*tocEntry{}
	for i := int64(1); i <= n; i++ {
		a.where = fmt.Sprintf("its table of contents (entry %d of %d)", i, n)
		if err := a.readEntry(); err != nil {
			return err
		}
	}
	a.tocCount = int(n)
	return nil
}

func (a *archive) readEntry() error {
	id, err := a.int()
	if err != nil {
		return err
	}
	if id <= 0 {
		return a.corrupt("TOC entry with dump id %d", id)
	}
	if _, err := a.int(); err != nil { // hadDumper
		return err
	}
	e := &tocEntry{id: id}
	if err := a.skipStr(); err != nil { // tableoid
		return err
	}
	if err := a.skipStr(); err != nil { // oid
		return err
	}
	if e.tag, _, err = a.str(true); err != nil {
		return err
	}
	if e.desc, _, err = a.str(true); err != nil {
		return err
	}
	if _, err := a.int(); err != nil { // section
		return err
	}
	// defn, dropStmt, copyStmt, namespace, tablespace
	for range 5 {
		if err := a.skipStr(); err != nil {
			return err
		}
	}
	if a.version >= vers1_14 {
		if err := a.skipStr(); err != nil { // tableam
			return err
		}
	}
	if a.version >= vers1_16 {
		if _, err := a.int(); err != nil { // relkind
			return err
		}
	}
	if err := a.skipStr(); err != nil { // owner
		return err
	}
	if err := a.skipStr(); err != nil { // withOids
		return err
	}
	for {
		_, null, err := a.str(false) // dependencies
		if err != nil {
			return err
		}
		if null {
			break
		}
	}
	hasData, err := a.readExtra(e)
	if err != nil {
		return err
	}
	if !hasData {
		return nil
	}
	if a.byID[id] != nil {
		return a.corrupt("two TOC entries with dump id %d", id)
	}
	a.byID[id] = e
	a.data = append(a.data, e)
	return nil
}

// readExtra reads the format's own field of an entry and says whether the
// entry has data.
func (a *archive) readExtra(e *tocEntry) (bool, error) {
	if a.format == archTar {
		name, _, err := a.str(true)
		if err != nil {
			return false, err
		}
		e.file = name
		return name != "", nil
	}
	flag, err := a.byte()
	if err != nil {
		return false, err
	}
	if flag < offsetNotSet || flag > offsetNoData {
		return false, a.corrupt("unknown data offset flag %d at offset %d", flag, a.pos-1)
	}
	var off uint64
	for i := 0; i < a.offSize; i++ {
		b, err := a.byte()
		if err != nil {
			return false, err
		}
		if i < 8 {
			off |= uint64(b) << (8 * i)
		} else if b != 0 {
			return false, a.corrupt("data offset too large at offset %d", a.pos-1)
		}
	}
	e.state, e.pos = flag, int64(off)
	return flag != offsetNoData, nil
}

func (a *archive) versionString() string {
	return fmt.Sprintf("%d.%d", a.version>>16, (a.version>>8)&0xff)
}
