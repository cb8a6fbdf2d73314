package inflate

import (
	"bytes"
	"testing"
)

// FuzzInflate feeds arbitrary, mostly damaged, gzip members to both
// readers and wants the same bytes out, the same verdict (success,
// truncated, corrupt, checksum, header) and, on success, the same input
// left over.
func FuzzInflate(f *testing.F) {
	for _, plain := range [][]byte{nil, []byte("a"), copyRows(1, 3000), base64Lines(randomBytes(1, 2000)), bytes.Repeat([]byte{0}, 5000)} {
		for _, level := range []int{-2, 0, 1, 6, 9} {
			f.Add(gzipKlauspost(f, plain, level))
		}
		f.Add(gzipStd(f, plain, 1))
	}
	f.Add(gzipMember(flagExtra|flagName|flagComment|flagHeaderCRC, []byte("x"), []byte("n"), []byte("c"), true, []byte{3, 0}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, bufSize := range []int{1 << 10, 64 << 10} {
			if d := compare(data, bufSize, 1000); d != "" {
				t.Fatalf("buffer %d: %s", bufSize, d)
			}
		}
	})
}
