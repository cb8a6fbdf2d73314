package inflate

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"sync"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// gzipCommand compresses plain with the system gzip, as pgarchive's users
// produce their dumps.
func gzipCommand(t testing.TB, plain []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gzip", append([]string{"-c"}, args...)...)
	cmd.Stdin = bytes.NewReader(plain)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("gzip %v: %v", args, err)
	}
	return out
}

var benchData = struct {
	once                sync.Once
	base64Plain, base64 []byte
	sqlPlain, sql       []byte
}{}

func loadBenchData(b *testing.B) {
	benchData.once.Do(func() {
		benchData.base64Plain = base64Lines(randomBytes(3, 48<<20)) // 64 MiB of text
		benchData.base64 = gzipCommand(b, benchData.base64Plain, "-6", "--rsyncable")
		benchData.sqlPlain = copyRows(3, 64<<20)
		benchData.sql = gzipCommand(b, benchData.sqlPlain, "-6")
	})
}

// BenchmarkInflate reports MB/s of decompressed output for this package and
// for klauspost/compress/gzip, reading through a 64 KiB bufio.Reader as the
// dump check does.
func BenchmarkInflate(b *testing.B) {
	loadBenchData(b)
	sets := []struct {
		name      string
		plain, gz []byte
	}{
		{"base64-rsyncable", benchData.base64Plain, benchData.base64},
		{"sql-copy", benchData.sqlPlain, benchData.sql},
	}
	for _, set := range sets {
		b.Logf("%s: %d bytes, gzip ratio %.2f", set.name, len(set.plain), float64(len(set.plain))/float64(len(set.gz)))
		buf := make([]byte, 32<<10)
		b.Run(set.name+"/inflate", func(b *testing.B) {
			b.SetBytes(int64(len(set.plain)))
			var z GzipReader
			for b.Loop() {
				br := bufio.NewReaderSize(bytes.NewReader(set.gz), 64<<10)
				if err := z.Reset(br); err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{&z}, buf)
				if err != nil || n != int64(len(set.plain)) {
					b.Fatal(n, err)
				}
			}
		})
		b.Run(set.name+"/klauspost", func(b *testing.B) {
			b.SetBytes(int64(len(set.plain)))
			var z kgzip.Reader
			for b.Loop() {
				br := bufio.NewReaderSize(bytes.NewReader(set.gz), 64<<10)
				if err := z.Reset(br); err != nil {
					b.Fatal(err)
				}
				z.Multistream(false)
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{&z}, buf)
				if err != nil || n != int64(len(set.plain)) {
					b.Fatal(n, err)
				}
			}
		})
	}
}
