package archive

import (
	"errors"
	"testing"
	"time"
)

func TestNameLayout(t *testing.T) {
	at := time.Date(2026, 11, 21, 1, 15, 3, 999, time.FixedZone("CET", 3600))
	n, err := NewName("db1", "forge", at, ".gz")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.Object(), "db1/forge/forge_20261121T001503Z.sql.gz.age"; got != want {
		t.Errorf("Object = %q, want %q (UTC, whole seconds)", got, want)
	}
	if got, want := n.Manifest(), "db1/forge/forge_20261121T001503Z.sql.gz.age.json"; got != want {
		t.Errorf("Manifest = %q, want %q", got, want)
	}
	if n.Compression() != "gzip" {
		t.Errorf("Compression = %q", n.Compression())
	}
}

func TestParseObject(t *testing.T) {
	tests := []struct {
		path   string
		ok     bool
		db     string
		suffix string
		compr  string
	}{
		{"db1/forge/forge_20261121T001503Z.sql.gz.age", true, "forge", ".gz", "gzip"},
		{"db1/all/all_20261121T001503Z.sql.zstd.age", true, "all", ".zstd", "zstd"},
		{"db1/my_db/my_db_20261121T001503Z.sql.age", true, "my_db", "", "none"},
		{"db1/forge/forge_20261121T001503Z.sql.gz.age.json", false, "", "", ""},
		{"db1/forge/other_20261121T001503Z.sql.gz.age", false, "", "", ""},
		{"db1/forge/forge_20261121T251503Z.sql.gz.age", false, "", "", ""},
		{"db1/forge/forge_20261121T001503Z.sql.zst.age", false, "", "", ""},
		{"db1/forge/forge_20261121T001503Z.sql.gz", false, "", "", ""},
		{"forge/forge_20261121T001503Z.sql.gz.age", false, "", "", ""},
		{"x/db1/forge/forge_20261121T001503Z.sql.gz.age", false, "", "", ""},
		{"db1/forge/forge_2026-11-21.sql.gz.age", false, "", "", ""},
		{"", false, "", "", ""},
	}
	for _, tt := range tests {
		n, err := ParseObject(tt.path)
		if tt.ok != (err == nil) {
			t.Errorf("ParseObject(%q) error = %v, want ok=%v", tt.path, err, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrNotArchive) {
				t.Errorf("ParseObject(%q) error %v is not ErrNotArchive", tt.path, err)
			}
			continue
		}
		if n.Database != tt.db || n.Suffix != tt.suffix || n.Compression() != tt.compr || n.Host != "db1" {
			t.Errorf("ParseObject(%q) = %+v", tt.path, n)
		}
		if n.Object() != tt.path {
			t.Errorf("round trip: %q -> %q", tt.path, n.Object())
		}
	}
}

func TestParseStamp(t *testing.T) {
	if _, err := ParseStamp("20261121T011500Z"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"latest", "2026-11-21", "20261121T011500", "20261321T011500Z"} {
		if _, err := ParseStamp(bad); err == nil {
			t.Errorf("ParseStamp(%q) accepted", bad)
		}
	}
}

// FuzzParseObject checks that whatever ParseObject accepts round-trips to
// the same path, so list never mistakes one archive for another.
func FuzzParseObject(f *testing.F) {
	f.Add("db1/forge/forge_20261121T001503Z.sql.gz.age")
	f.Add("h/a_b/a_b_20000101T000000Z.sql.age")
	f.Add("h/x/x_20261121T001503Z.sql.zstd.age.json")
	f.Fuzz(func(t *testing.T, p string) {
		n, err := ParseObject(p)
		if err != nil {
			return
		}
		if n.Object() != p {
			t.Fatalf("ParseObject(%q) round-trips to %q", p, n.Object())
		}
		again, err := ParseObject(n.Object())
		if err != nil || again != n {
			t.Fatalf("re-parse of %q: %+v, %v", p, again, err)
		}
	})
}
