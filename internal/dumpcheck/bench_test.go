package dumpcheck

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/pgarchive/pgarchive/internal/dump"
)

// benchPlainSize is the size of the script the benchmark checks.
const benchPlainSize = 256 << 20

var benchDump = sync.OnceValues(func() ([]byte, map[string][]byte) {
	plain := syntheticScript(benchPlainSize)
	out := map[string][]byte{"none": plain}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	zw.Write(plain)
	zw.Close()
	out["gzip"] = gz.Bytes()
	var zs bytes.Buffer
	ze, _ := zstd.NewWriter(&zs, zstd.WithEncoderCRC(true))
	ze.Write(plain)
	ze.Close()
	out["zstd"] = zs.Bytes()
	return plain, out
})

// syntheticScript writes a plain dump of about size bytes whose COPY rows
// compress about as well as real ones (4-6x with gzip): sequential keys,
// repeated dates and customers, words from a small vocabulary.
func syntheticScript(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"delivered", "pending", "returned", "express", "standard", "gift wrap",
		"call before delivery", "leave at the door", "fragile", "priority", "\\N", "paid by card"}
	var b bytes.Buffer
	b.Grow(size + 1<<20)
	b.WriteString("--\n-- PostgreSQL database dump\n--\n\n\\restrict benchkey\n\nCOPY public.orders (id, customer, total, placed, status, note) FROM stdin;\n")
	for id := 1; b.Len() < size; id++ {
		fmt.Fprintf(&b, "%d\t%d\t%d.%02d\t2024-%02d-%02d 10:%02d:00+00\t%s\t%s\n",
			id, 1000+rng.IntN(5000), rng.IntN(500), rng.IntN(100), 1+id/2000000%12, 1+id/70000%28,
			id/1000%60, words[rng.IntN(4)], words[4+rng.IntN(len(words)-4)])
	}
	b.WriteString("\\.\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict benchkey\n\n")
	return b.Bytes()
}

// BenchmarkChecker feeds a 256 MiB script to a Checker in 32 KiB writes, as
// io.Copy would, and reports throughput over the stored (compressed) bytes
// (MB/s) and the dump's own bytes (plain-MB/s). The decompress-only cases
// measure the decoder alone, so the cost of the check itself shows.
func BenchmarkChecker(b *testing.B) {
	plain, stored := benchDump()
	for _, comp := range []string{"gzip", "zstd", "none"} {
		data := stored[comp]
		b.Run(comp+"-plain", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			start := time.Now()
			for b.Loop() {
				if _, err := run(data, comp, dump.FormatPlain, 32<<10); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(plain))*float64(b.N)/time.Since(start).Seconds()/1e6, "plain-MB/s")
			b.ReportMetric(float64(len(plain))/float64(len(data)), "ratio")
		})
		if comp == "none" {
			continue
		}
		b.Run(comp+"-decompress-only", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			start := time.Now()
			for b.Loop() {
				r, err := dump.Decompress(bytes.NewReader(data), comp)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			b.ReportMetric(float64(len(plain))*float64(b.N)/time.Since(start).Seconds()/1e6, "plain-MB/s")
		})
	}
}
