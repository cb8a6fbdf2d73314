package dumpcheck

import (
	"bytes"
	"io"
	"testing"

	"github.com/pgarchive/pgarchive/internal/dump"
)

var formats = []string{dump.FormatPlain, dump.FormatCluster, dump.FormatCustom, dump.FormatTar}

// FuzzCheck feeds arbitrary bytes, as any compression and format, to a
// Checker: it must not panic or hang, its only failures are verdicts, the
// verdict must not depend on how the bytes were split into writes, and a
// cut of an input that passes must fail, unless the bytes cut held none of
// the dump (an empty gzip member, a zstd skippable frame). Scripts holding
// more than one completion line are exempt from that last rule: a cut after
// an inner one is the one cut the tail cannot reveal (see the package
// comment).
func FuzzCheck(f *testing.F) {
	for _, fx := range fixtures {
		plain := readFixture(f, fx.file)
		for ci, comp := range compressions {
			fi := 0
			for i, format := range formats {
				if format == fx.format {
					fi = i
				}
			}
			f.Add(compress(f, plain, comp), uint8(fi*len(compressions)+ci))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		comp := compressions[int(sel)%len(compressions)]
		format := formats[int(sel)/len(compressions)%len(formats)]
		chunk := 1 + int(sel)*37%4096
		res, err := run(data, comp, format, chunk)
		_, err2 := judge(data, comp, format)
		if errString(err) != errString(err2) {
			t.Fatalf("verdict depends on write size: %v, then %v", err, err2)
		}
		if err != nil {
			if kindOf(err) == "" {
				t.Fatalf("failure that is not a verdict: %v", err)
			}
			return
		}
		if (format == dump.FormatPlain || format == dump.FormatCluster) && completionLines(t, data, comp, format) > 1 {
			return
		}
		for _, n := range cutPoints(len(data)) {
			cut, err := judge(data[:n], comp, format)
			if err == nil && cut.PlainBytes != res.PlainBytes {
				t.Fatalf("cut at %d of %d passed, losing %d of %d bytes of dump", n, len(data), res.PlainBytes-cut.PlainBytes, res.PlainBytes)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// cutPoints returns every offset of a short input; of a long one, the
// first 8, the last 24 (where the ends that matter are: trailers, the
// completion line, the end-of-archive marker) and 16 spread between.
func cutPoints(n int) []int {
	if n <= 48 {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	var pts []int
	for i := range 8 {
		pts = append(pts, i)
	}
	for i := range 24 {
		pts = append(pts, n-1-i)
	}
	for i := range 16 {
		pts = append(pts, 8+i*(n-32)/16)
	}
	return pts
}

func completionLines(t *testing.T, data []byte, comp, format string) int {
	r, err := dump.Decompress(bytes.NewReader(data), comp)
	if err != nil {
		t.Fatalf("decompress what passed: %v", err)
	}
	defer r.Close()
	text, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decompress what passed: %v", err)
	}
	n := bytes.Count(text, []byte("\n"+clusterComplete+"\n"))
	if format == dump.FormatPlain {
		n += bytes.Count(text, []byte("\n"+dumpComplete+"\n"))
	}
	return n
}
