package dumpcheck

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/pgarchive/pgarchive/internal/dump"
)

// Only pg_dump 15 is installed here, so archives of versions 1.15 (pg_dump
// 16) and 1.16 (17) are made from the 1.14 fixtures by the documented
// differences: since 1.15 the header holds the compression algorithm as one
// byte instead of the level as an int; since 1.16 every TOC entry holds a
// relkind int after its table access method. Data offsets move by what was
// inserted before them.

// upgrade rewrites a 1.14 custom archive as version 1.minor.
func upgrade(t *testing.T, data []byte, minor byte) []byte {
	t.Helper()
	a := &archive{r: bufio.NewReader(bytes.NewReader(data)), format: archCustom}
	if err := a.readHead(); err != nil {
		t.Fatal(err)
	}
	if a.versionString() != "1.14" || a.intSize != 4 {
		t.Fatalf("fixture is version %s, int size %d", a.versionString(), a.intSize)
	}
	compAt := int64(11) // after magic, 3 version bytes, intSize, offSize, format
	intLen := int64(1 + a.intSize)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	count, err := a.int()
	must(err)
	var relkindAt, offsetAt []int64
	for range count {
		for range 2 { // dumpId, hadDumper
			_, err := a.int()
			must(err)
		}
		for range 4 { // tableoid, oid, tag, desc
			must(a.skipStr())
		}
		_, err := a.int() // section
		must(err)
		for range 6 { // defn, dropStmt, copyStmt, namespace, tablespace, tableam
			must(a.skipStr())
		}
		relkindAt = append(relkindAt, a.pos)
		must(a.skipStr()) // owner
		must(a.skipStr()) // withOids
		for {
			_, null, err := a.str(false)
			must(err)
			if null {
				break
			}
		}
		offsetAt = append(offsetAt, a.pos)
		must(a.skip(1 + int64(a.offSize)))
	}

	delta := int64(0)
	if minor >= 15 {
		delta += 1 - intLen
	}
	if minor >= 16 {
		delta += int64(len(relkindAt)) * intLen
	}
	src := bytes.Clone(data)
	src[6] = minor
	for _, at := range offsetAt {
		if src[at] == offsetSet {
			off := binary.LittleEndian.Uint64(src[at+1:])
			binary.LittleEndian.PutUint64(src[at+1:], off+uint64(delta))
		}
	}
	var out bytes.Buffer
	out.Write(src[:compAt])
	prev := compAt
	if minor >= 15 {
		out.WriteByte(1) // gzip, what level -1 (the default) meant
		prev = compAt + intLen
	}
	if minor >= 16 {
		relkind := []byte{0, 'r', 0, 0, 0}
		for _, at := range relkindAt {
			out.Write(src[prev:at])
			out.Write(relkind)
			prev = at
		}
	}
	out.Write(src[prev:])
	if got := int64(out.Len() - len(data)); got != delta {
		t.Fatalf("grew by %d, offsets moved by %d", got, delta)
	}
	return out.Bytes()
}

func TestArchiveVersions(t *testing.T) {
	for _, name := range []string{"custom-pipe.dump", "custom-file.dump"} {
		data := readFixture(t, name)
		for _, minor := range []byte{15, 16} {
			up := upgrade(t, data, minor)
			res, err := judge(up, "none", dump.FormatCustom)
			if err != nil {
				t.Errorf("%s as 1.%d: %v", name, minor, err)
				continue
			}
			if res.ArchiveVersion != fmt.Sprintf("1.%d", minor) || res.DataBlocks != 4 {
				t.Errorf("%s as 1.%d: %+v", name, minor, res)
			}
			// Read with the wrong layout, the archive must not pass.
			wrong := bytes.Clone(up)
			wrong[6] = 31 - minor // 1.16 read as 1.15 and back
			if _, err := judge(wrong, "none", dump.FormatCustom); err == nil {
				t.Errorf("%s: 1.%d read as 1.%d passed", name, minor, wrong[6])
			}
			for n := range len(up) {
				if _, err := judge(up[:n], "none", dump.FormatCustom); kindOf(err) != Truncated {
					t.Fatalf("%s as 1.%d cut at %d: %v", name, minor, n, err)
				}
			}
		}
		for _, v := range [][2]byte{{1, 17}, {2, 0}, {1, 11}} {
			bad := bytes.Clone(data)
			bad[5], bad[6] = v[0], v[1]
			if _, err := judge(bad, "none", dump.FormatCustom); kindOf(err) != Unsupported {
				t.Errorf("%s as %d.%d: %v", name, v[0], v[1], err)
			}
		}
	}
}
