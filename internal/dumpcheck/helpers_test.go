package dumpcheck

import (
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/pgarchive/pgarchive/internal/dump"
)

// fixture is a dump made by a real pg_dump (see testdata/make-fixtures.sh).
type fixture struct {
	file   string
	format string
}

var fixtures = []fixture{
	{"plain.sql", dump.FormatPlain},
	{"cluster.sql", dump.FormatCluster},
	{"custom-pipe.dump", dump.FormatCustom},
	{"custom-file.dump", dump.FormatCustom},
	{"tar.tar", dump.FormatTar},
}

var compressions = []string{"none", "gzip", "zstd"}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compress stores plain as services.postgresqlBackup would: gzip through
// the standard library (an encoder other than the decoder under test),
// zstd with a checksum, as `zstd -c` writes it.
func compress(t testing.TB, plain []byte, compression string) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch compression {
	case "none":
		return plain
	case "gzip":
		zw := stdgzip.NewWriter(&buf)
		zw.Write(plain)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case "zstd":
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderCRC(true))
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(plain)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown compression %q", compression)
	}
	return buf.Bytes()
}

// run feeds data to a Checker in writes of chunk bytes, as push would.
func run(data []byte, compression, format string, chunk int) (Result, error) {
	c := New(compression, format)
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := c.Write(data[:n]); err != nil {
			c.Abort()
			return Result{}, err
		}
		data = data[n:]
	}
	return c.Close()
}

// judge runs the check without the goroutine, for loops over many inputs.
func judge(data []byte, compression, format string) (Result, error) {
	return check(bytes.NewReader(data), compression, format)
}

func kindOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
