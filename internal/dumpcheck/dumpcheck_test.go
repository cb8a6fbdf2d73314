package dumpcheck

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/internal/dump"
)

func TestFixturesPass(t *testing.T) {
	wantCheck := map[string]string{
		dump.FormatPlain:   "completion-line",
		dump.FormatCluster: "completion-line",
		dump.FormatCustom:  "custom-archive",
		dump.FormatTar:     "tar-archive",
	}
	for _, f := range fixtures {
		plain := readFixture(t, f.file)
		for _, comp := range compressions {
			t.Run(f.file+"/"+comp, func(t *testing.T) {
				data := compress(t, plain, comp)
				for _, chunk := range []int{1 << 20, 32 << 10, 4093} {
					res, err := run(data, comp, f.format, chunk)
					if err != nil {
						t.Fatalf("chunk %d: %v", chunk, err)
					}
					want := wantCheck[f.format]
					if comp != "none" {
						want = comp + "-stream," + want
					}
					if res.Check != want {
						t.Errorf("Check = %q, want %q", res.Check, want)
					}
					if res.PlainBytes != int64(len(plain)) {
						t.Errorf("PlainBytes = %d, want %d", res.PlainBytes, len(plain))
					}
				}
			})
		}
	}
}

func TestArchiveFacts(t *testing.T) {
	for _, f := range fixtures {
		if f.format != dump.FormatCustom && f.format != dump.FormatTar {
			continue
		}
		res, err := judge(readFixture(t, f.file), "none", f.format)
		if err != nil {
			t.Fatal(err)
		}
		// The fixtures' database has three tables (one empty) and a large
		// object: three TABLE DATA entries and one BLOBS, and a SEQUENCE SET
		// entry without data.
		if res.ArchiveVersion != "1.14" || res.DataBlocks != 4 {
			t.Errorf("%s: version %q, %d data blocks; want 1.14 and 4", f.file, res.ArchiveVersion, res.DataBlocks)
		}
	}
}

// TestRealCompressors runs the dumps through the gzip and zstd commands, in
// the forms dumps are written: gzip --rsyncable, several gzip members
// (pigz, or files concatenated), zstd -c.
func TestRealCompressors(t *testing.T) {
	cases := []struct {
		comp string
		cmd  []string
	}{
		{"gzip", []string{"gzip", "-c", "--rsyncable"}},
		{"gzip", []string{"gzip", "-c", "-9"}},
		{"zstd", []string{"zstd", "-q", "-c"}},
		{"zstd", []string{"zstd", "-q", "-c", "-19", "--no-check"}},
	}
	for _, c := range cases {
		if _, err := exec.LookPath(c.cmd[0]); err != nil {
			t.Logf("%s not installed: skipping %v", c.cmd[0], c.cmd)
			continue
		}
		for _, f := range fixtures {
			plain := readFixture(t, f.file)
			cmd := exec.Command(c.cmd[0], c.cmd[1:]...)
			cmd.Stdin = bytes.NewReader(plain)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v", c.cmd, err)
			}
			if _, err := run(out, c.comp, f.format, 64<<10); err != nil {
				t.Errorf("%v %s: %v", c.cmd, f.file, err)
			}
		}
	}
	// Two members, the second holding the rest of the script.
	plain := readFixture(t, "plain.sql")
	multi := append(compress(t, plain[:5000], "gzip"), compress(t, plain[5000:], "gzip")...)
	if _, err := run(multi, "gzip", dump.FormatPlain, 1000); err != nil {
		t.Errorf("two gzip members: %v", err)
	}
	// Two zstd frames likewise.
	multi = append(compress(t, plain[:5000], "zstd"), compress(t, plain[5000:], "zstd")...)
	if _, err := run(multi, "zstd", dump.FormatPlain, 1000); err != nil {
		t.Errorf("two zstd frames: %v", err)
	}
}

// TestEveryCutFails cuts each dump at every offset, raw and compressed: none
// of the cuts may pass, and each must say the dump is truncated or
// incomplete.
func TestEveryCutFails(t *testing.T) {
	for _, f := range fixtures {
		plain := readFixture(t, f.file)
		for _, comp := range compressions {
			t.Run(f.file+"/"+comp, func(t *testing.T) {
				data := compress(t, plain, comp)
				for n := 0; n < len(data); n++ {
					_, err := judge(data[:n], comp, f.format)
					if k := kindOf(err); k != Truncated && k != Incomplete {
						t.Fatalf("cut at %d of %d: %v", n, len(data), err)
					}
				}
			})
		}
	}
}

func TestCutMessages(t *testing.T) {
	plain := readFixture(t, "plain.sql")
	gz := compress(t, plain, "gzip")
	for i := 1; i <= 8; i++ { // inside the trailer: CRC-32 and length
		_, err := run(gz[:len(gz)-i], "gzip", dump.FormatPlain, 4096)
		if err == nil || err.Error() != "dump is truncated: gzip stream ends before its trailer" {
			t.Errorf("cut %d bytes from the end: %v", i, err)
		}
	}
	zs := compress(t, plain, "zstd")
	if _, err := run(zs[:len(zs)-2], "zstd", dump.FormatPlain, 4096); kindOf(err) != Truncated {
		t.Errorf("zstd cut inside its checksum: %v", err)
	}
	cut := plain[:bytes.Index(plain, []byte("-- PostgreSQL database dump complete"))]
	_, err := judge(cut, "none", dump.FormatPlain)
	if err == nil || err.Error() != `dump is incomplete: no "-- PostgreSQL database dump complete" line at its end` {
		t.Errorf("script cut before its completion line: %v", err)
	}
	// Cut after the completion comment, before \unrestrict.
	cut = plain[:bytes.LastIndex(plain, []byte(`\unrestrict`))]
	if _, err := judge(cut, "none", dump.FormatPlain); kindOf(err) != Truncated {
		t.Errorf("script cut before its \\unrestrict line: %v", err)
	}
}

// TestCustomBlockBoundaries cuts the custom archive written to a file
// exactly where each data block starts (the TOC records those offsets)
// and checks the verdict names the missing block.
func TestCustomBlockBoundaries(t *testing.T) {
	data := readFixture(t, "custom-file.dump")
	a := &archive{r: bufio.NewReader(bytes.NewReader(data)), format: archCustom}
	if err := a.readHead(); err != nil {
		t.Fatal(err)
	}
	if err := a.readTOC(); err != nil {
		t.Fatal(err)
	}
	tocEnd := a.pos
	if len(a.data) != 4 {
		t.Fatalf("%d entries with data, want 4", len(a.data))
	}
	for i, e := range a.data {
		if e.state != offsetSet {
			t.Fatalf("entry %d: offset flag %d, want set", e.id, e.state)
		}
		_, err := judge(data[:e.pos], "none", dump.FormatCustom)
		want := fmt.Sprintf("dump is truncated: custom-format archive ends before data block %d of 4 (%s)", i+1, e)
		if err == nil || err.Error() != want {
			t.Errorf("cut at block %d (offset %d): %v, want %q", i+1, e.pos, err, want)
		}
		if e.pos < tocEnd {
			t.Errorf("block %d at %d, inside the TOC (ends %d)", i+1, e.pos, tocEnd)
		}
		// One byte into the block: its header is cut.
		_, err = judge(data[:e.pos+1], "none", dump.FormatCustom)
		want = fmt.Sprintf("dump is truncated: custom-format archive ends inside data block %d of 4", i+1)
		if err == nil || err.Error() != want {
			t.Errorf("cut inside block %d: %v, want %q", i+1, err, want)
		}
	}
	// The pipe archive has no offsets: the same cuts are found by walking.
	pipe := readFixture(t, "custom-pipe.dump")
	_, err := judge(pipe[:tocEnd], "none", dump.FormatCustom)
	if err == nil || !strings.Contains(err.Error(), "ends before data block 1 of 4") {
		t.Errorf("pipe archive cut after its TOC: %v", err)
	}
}

func TestGarbage(t *testing.T) {
	garbage := bytes.Repeat([]byte("\x00\xffgarbage\x13\x37"), 5000)
	script := append([]byte("--\n-- PostgreSQL database dump\n--\n\n"), garbage...)
	for _, comp := range compressions {
		_, err := run(compress(t, script, comp), comp, dump.FormatPlain, 4096)
		if kindOf(err) != Incomplete {
			t.Errorf("%s: header then garbage: %v", comp, err)
		}
	}
	for _, f := range fixtures {
		for _, comp := range compressions {
			_, err := run(compress(t, garbage, comp), comp, f.format, 4096)
			if err == nil {
				t.Errorf("%s %s: garbage passed", comp, f.format)
			}
		}
	}
	// Not compressed as declared.
	if _, err := run(garbage, "gzip", dump.FormatPlain, 4096); err == nil || err.Error() != "dump is corrupt: not a gzip stream" {
		t.Errorf("garbage as gzip: %v", err)
	}
	if _, err := run(garbage, "zstd", dump.FormatPlain, 4096); kindOf(err) != Corrupt {
		t.Errorf("garbage as zstd: %v", err)
	}
}

// TestTrailingBytes appends bytes after a whole dump: after the compressed
// stream, and inside it after the content.
func TestTrailingBytes(t *testing.T) {
	for _, f := range fixtures {
		plain := readFixture(t, f.file)
		for _, comp := range compressions {
			for _, tail := range []string{"x", "\x00", "\x00\x00\x00\x00\x00\x00\x00\x00", "\x1f", "\x1f\x8b", "garbage after the dump\n"} {
				data := append(compress(t, plain, comp), tail...)
				if _, err := judge(data, comp, f.format); kindOf(err) != Corrupt && kindOf(err) != Truncated {
					t.Errorf("%s %s + %q after the stream: %v", f.file, comp, tail, err)
				}
				if comp == "none" {
					continue
				}
				data = compress(t, append(plain[:len(plain):len(plain)], tail...), comp)
				if _, err := judge(data, comp, f.format); kindOf(err) != Corrupt {
					t.Errorf("%s %s + %q inside the stream: %v", f.file, comp, tail, err)
				}
			}
		}
	}
	gz := append(compress(t, readFixture(t, "plain.sql"), "gzip"), "garbage"...)
	if _, err := judge(gz, "gzip", dump.FormatPlain); err == nil || err.Error() != "dump is corrupt: bytes after the end of the gzip stream" {
		t.Errorf("gzip + garbage: %v", err)
	}
}

// TestFlippedByte damages one byte of the deflate data or the trailer of a
// gzip stream at every position: the CRC-32 or the decoder must notice.
func TestFlippedByte(t *testing.T) {
	for _, name := range []string{"plain.sql", "custom-pipe.dump"} {
		plain := readFixture(t, name)
		format := dump.FormatPlain
		if strings.HasSuffix(name, ".dump") {
			format = dump.FormatCustom
		}
		gz := compress(t, plain, "gzip")
		// Skip the 10-byte header: its time and OS bytes are not checked by
		// any gzip reader, and change nothing in the dump.
		for i := 10; i < len(gz); i++ {
			bad := bytes.Clone(gz)
			bad[i] ^= 0x55
			if _, err := judge(bad, "gzip", format); err == nil {
				t.Errorf("%s: byte %d of %d flipped, passed", name, i, len(gz))
			}
		}
		zs := compress(t, plain, "zstd")
		for i := 4; i < len(zs); i++ {
			bad := bytes.Clone(zs)
			bad[i] ^= 0x55
			if _, err := judge(bad, "zstd", format); err == nil {
				t.Errorf("%s: zstd byte %d of %d flipped, passed", name, i, len(zs))
			}
		}
	}
	gz := compress(t, readFixture(t, "plain.sql"), "gzip")
	gz[len(gz)-6] ^= 1 // CRC-32
	if _, err := judge(gz, "gzip", dump.FormatPlain); err == nil || err.Error() != "dump is corrupt: gzip checksum mismatch" {
		t.Errorf("flipped CRC: %v", err)
	}
}

func TestScriptEnds(t *testing.T) {
	plain := readFixture(t, "plain.sql")
	cluster := readFixture(t, "cluster.sql")
	without := bytes.Replace(plain, []byte("-- PostgreSQL database dump complete\n"), nil, 1)
	oldStyle := []byte("--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE t ();\n\n--\n-- PostgreSQL database dump complete\n--\n\n")
	cases := []struct {
		name   string
		script []byte
		format string
		kind   string // "" passes
	}{
		{"plain", plain, dump.FormatPlain, ""},
		{"cluster", cluster, dump.FormatCluster, ""},
		// Documented: the cluster line closes a plain check too.
		{"cluster judged as plain", cluster, dump.FormatPlain, ""},
		{"plain judged as cluster", plain, dump.FormatCluster, Incomplete},
		{"no completion line", without, dump.FormatPlain, Incomplete},
		{"pg_dump before \\restrict", oldStyle, dump.FormatPlain, ""},
		{"extra blank line", append(bytes.Clone(plain), '\n'), dump.FormatPlain, Corrupt},
		{"extra comment", append(bytes.Clone(plain), "-- x\n"...), dump.FormatPlain, Corrupt},
		{"command after the end", append(bytes.Clone(plain), "DROP TABLE customer;\n\n"...), dump.FormatPlain, Corrupt},
		{"wrong unrestrict key", bytes.Replace(plain, []byte("\n\\unrestrict "), []byte("\n\\unrestrict X"), -1), dump.FormatPlain, Corrupt},
		{"unrestrict without restrict", bytes.Replace(plain, []byte("\n\\restrict "), []byte("\n\\Xrestrict "), -1), dump.FormatPlain, Corrupt},
		{"empty", nil, dump.FormatPlain, Incomplete},
	}
	for _, c := range cases {
		_, err := judge(c.script, "none", c.format)
		if kindOf(err) != c.kind || (c.kind != "" && err == nil) {
			t.Errorf("%s: %v, want kind %q", c.name, err, c.kind)
		}
	}
	// A pg_dumpall script cut after one of its databases fails as plain
	// too: that database's \unrestrict key is not the one at the top.
	for i := 0; ; {
		j := bytes.Index(cluster[i:], []byte("\n-- PostgreSQL database dump complete\n"))
		if j < 0 {
			break
		}
		i += j + 1
		end := i + bytes.Index(cluster[i:], []byte("\n\n\n")) + 2 // after "\unrestrict KEY\n\n"
		if _, err := judge(cluster[:end], "none", dump.FormatPlain); err == nil {
			t.Errorf("cluster cut after an inner database at %d passed as plain", end)
		}
	}
}

func TestTarStructure(t *testing.T) {
	data := readFixture(t, "tar.tar")
	rewrite := func(skip string, zeroBlocks int) []byte {
		var buf bytes.Buffer
		tr := tar.NewReader(bytes.NewReader(data))
		tw := tar.NewWriter(&buf)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if hdr.Name == skip {
				continue
			}
			tw.WriteHeader(hdr)
			io.Copy(tw, tr)
		}
		tw.Flush() // no Close: we write our own end
		buf.Write(make([]byte, 512*zeroBlocks))
		return buf.Bytes()
	}
	if _, err := judge(rewrite("", 2), "none", dump.FormatTar); err != nil {
		t.Fatalf("rewritten tar: %v", err)
	}
	// Names as this pg_dump wrote them: dump ids vary between versions.
	tr := tar.NewReader(bytes.NewReader(data))
	tr.Next()
	a, err := readTarTOC(tr, 0)
	if err != nil {
		t.Fatal(err)
	}
	var orders, blobs *tocEntry
	for _, e := range a.data {
		switch {
		case e.desc == "TABLE DATA" && e.tag == "orders":
			orders = e
		case e.desc == "BLOBS":
			blobs = e
		}
	}
	if orders == nil || blobs == nil {
		t.Fatal("no TABLE DATA orders or BLOBS in the tar's TOC")
	}
	cases := []struct {
		skip  string
		zeros int
		want  string
	}{
		{orders.file, 2, fmt.Sprintf("dump is corrupt: tar archive has no member %q for TABLE DATA \"orders\"", orders.file)},
		{"blobs.toc", 2, fmt.Sprintf("dump is corrupt: tar archive has no member %q for BLOBS \"BLOBS\"", blobs.file)},
		{"toc.dat", 2, fmt.Sprintf("dump is corrupt: tar archive starts with %q, not toc.dat", a.data[0].file)},
		{"", 1, "dump is truncated: tar archive ends inside its end-of-archive marker"},
		{"", 0, `dump is truncated: tar archive ends after member "restore.sql" without its end-of-archive marker`},
		{"", 3, "dump is corrupt: bytes after the tar archive's end-of-archive marker"},
	}
	for _, c := range cases {
		_, err := judge(rewrite(c.skip, c.zeros), "none", dump.FormatTar)
		if err == nil || err.Error() != c.want {
			t.Errorf("without %q, %d zero blocks: %v, want %q", c.skip, c.zeros, err, c.want)
		}
	}
}

func TestCheckerLifecycle(t *testing.T) {
	// A verdict reached early must not block the writer: 64 MiB after a
	// bad header go nowhere, quickly.
	c := New("none", dump.FormatCustom)
	junk := make([]byte, 1<<20)
	copy(junk, "NOTADUMP")
	for range 64 {
		if n, err := c.Write(junk); n != len(junk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if _, err := c.Close(); kindOf(err) != Corrupt {
		t.Errorf("Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if _, err := c.Close(); kindOf(err) != Corrupt {
		t.Errorf("second Close: %v", err)
	}
	c.Abort() // after Close: harmless

	// Abort in the middle, with the checker waiting for more.
	c = New("gzip", dump.FormatPlain)
	gz := compress(t, readFixture(t, "plain.sql"), "gzip")
	c.Write(gz[:len(gz)/2])
	c.Abort()
	c.Abort()
	if n, err := c.Write(gz[len(gz)/2:]); n != len(gz)-len(gz)/2 || err != nil {
		t.Errorf("Write after Abort = %d, %v", n, err)
	}
	if _, err := c.Close(); err == nil || err.Error() != "dump check aborted" {
		t.Errorf("Close after Abort: %v", err)
	}

	// An empty dump.
	if _, err := run(nil, "gzip", dump.FormatPlain, 1); err == nil || err.Error() != "dump is truncated: gzip stream is empty" {
		t.Errorf("empty gzip: %v", err)
	}
	if _, err := run(nil, "none", dump.FormatTar, 1); err == nil || err.Error() != "dump is truncated: tar archive is empty" {
		t.Errorf("empty tar: %v", err)
	}
	// Unknown arguments are programming errors, reported as such.
	if _, err := run(nil, "bzip2", dump.FormatPlain, 1); err == nil || kindOf(err) != "" {
		t.Errorf("unknown compression: %v", err)
	}
}

// TestChanReaderAfterEnd: a decoder may read again after the end of the
// input (io.EOF) or after an abort; it must get the same answer, not a
// panic from the offset into the buffer it already handed back.
func TestChanReaderAfterEnd(t *testing.T) {
	c := &Checker{full: make(chan []byte, 1), free: make(chan []byte, 1), abort: make(chan struct{})}
	r := &chanReader{c: c}
	c.full <- []byte("dump")
	close(c.full)
	p := make([]byte, 8)
	if n, err := r.Read(p); n != 4 || err != nil {
		t.Fatalf("first Read = %d, %v", n, err)
	}
	for i := range 2 {
		if n, err := r.Read(p); n != 0 || err != io.EOF {
			t.Errorf("Read %d after the end = %d, %v; want 0, EOF", i+1, n, err)
		}
	}
}
