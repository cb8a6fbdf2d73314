package dump

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const plainHead = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET statement_timeout = 0;\n"
const clusterHead = "--\n-- PostgreSQL database cluster dump\n--\n\nSET default_transaction_read_only = off;\n"

func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "gzip":
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case "zstd":
		w, _ := zstd.NewWriter(&buf)
		w.Write(data)
		w.Close()
	default:
		buf.Write(data)
	}
	return buf.Bytes()
}

func TestSniff(t *testing.T) {
	custom := append([]byte("PGDMP\x01\x0f\x00"), make([]byte, 100)...)
	tests := []struct {
		name, declared, actual string
		content                []byte
		format, errPart        string
	}{
		{"plain gzip", "gzip", "gzip", []byte(plainHead), FormatPlain, ""},
		{"plain zstd", "zstd", "zstd", []byte(plainHead), FormatPlain, ""},
		{"plain none", "none", "none", []byte(plainHead), FormatPlain, ""},
		{"custom in gzip", "gzip", "gzip", custom, FormatCustom, ""},
		{"cluster", "gzip", "gzip", []byte(clusterHead), FormatCluster, ""},
		{"zstd declared gzip", "gzip", "zstd", []byte(plainHead), "", "not gzip-compressed"},
		{"gzip declared zstd", "zstd", "gzip", []byte(plainHead), "", "not zstd-compressed"},
		{"gzip declared none", "none", "gzip", []byte(plainHead), "", "compression = \"none\""},
		{"not a dump", "gzip", "gzip", []byte("hello world\n"), "", "not pg_dump"},
		{"truncated gzip header", "gzip", "raw-gzip-magic", nil, "", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := compress(t, tt.actual, tt.content)
			if tt.actual == "raw-gzip-magic" {
				data = []byte{0x1f, 0x8b, 0x08}
			}
			format, err := Sniff(bytes.NewReader(data), tt.declared)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format {
				t.Errorf("format = %q, want %q", format, tt.format)
			}
		})
	}
}

func TestInspectRefusals(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	good := filepath.Join(dir, "db.sql.gz")
	os.WriteFile(good, compress(t, "gzip", []byte(plainHead)), 0o600)
	empty := filepath.Join(dir, "empty.sql.gz")
	os.WriteFile(empty, nil, 0o600)
	stale := filepath.Join(dir, "stale.sql.gz")
	os.WriteFile(stale, compress(t, "gzip", []byte(plainHead)), 0o600)
	old := now.Add(-25 * time.Hour)
	os.Chtimes(stale, old, old)

	if info, err := Inspect(good, "gzip", time.Hour, now); err != nil || info.Format != FormatPlain || info.Size == 0 {
		t.Errorf("good dump: %+v, %v", info, err)
	}
	for _, tt := range []struct {
		path, errPart string
		maxAge        time.Duration
	}{
		{filepath.Join(dir, "missing.sql.gz"), "not found", time.Hour},
		{empty, "is empty", time.Hour},
		{stale, "stale", time.Hour},
		{dir, "not a regular file", time.Hour},
	} {
		_, err := Inspect(tt.path, "gzip", tt.maxAge, now)
		if err == nil || !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("Inspect(%s) = %v, want %q", tt.path, err, tt.errPart)
		}
	}
	if _, err := Inspect(stale, "gzip", 0, now); err != nil {
		t.Errorf("maxAge 0 must skip the age check: %v", err)
	}
}

func TestDecompressRoundTrip(t *testing.T) {
	want := []byte(strings.Repeat(plainHead, 1000))
	for _, kind := range []string{"gzip", "zstd", "none"} {
		r, err := Decompress(bytes.NewReader(compress(t, kind, want)), kind)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v", kind, len(got), err)
		}
	}
	if _, err := Decompress(nil, "xz"); err == nil {
		t.Error("unknown compression accepted")
	}
}
