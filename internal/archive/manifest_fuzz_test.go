package archive

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzParseManifest checks what must hold for any bytes read where a
// manifest belongs: ParseManifest does not panic; its errors are one line;
// what it accepts has a version this code reads; and a manifest it accepts,
// written again, reads back to the same manifest, so pgarchive never
// changes what a manifest says by reading and writing it.
func FuzzParseManifest(f *testing.F) {
	good := &Manifest{
		Version:     ManifestVersion,
		Tool:        "pgarchive",
		ToolVersion: "0.1.0",
		Host:        "db1",
		Database:    "forge",
		Time:        time.Date(2026, 11, 21, 1, 15, 3, 0, time.UTC),
		Object:      "forge_20261121T011503Z.sql.gz.age",
		Dump: DumpInfo{
			Format: "plain", Compression: "gzip", Size: 73910,
			SHA256:   strings.Repeat("ab", 32),
			File:     "/var/backup/postgresql/forge.sql.gz",
			Modified: time.Date(2026, 11, 21, 1, 15, 2, 0, time.UTC),
			Check:    &ContentCheck{Passed: true, Checked: "gzip-stream,completion-line"},
		},
		Ciphertext: Digest{Size: 74071, SHA256: strings.Repeat("cd", 32)},
		Encryption: Encryption{Kind: "x25519", Recipients: []string{"0123456789abcdef"}},
	}
	body := good.Marshal()
	f.Add(body)
	f.Add(bytes.Replace(body, []byte(`"passed": true`), []byte(`"passed": false`), 1))
	f.Add(bytes.Replace(body, []byte(`"version": 1`), []byte(`"version": 2`), 1))
	f.Add(bytes.Replace(body, []byte(`"version": 1`), []byte(`"version": 0`), 1))
	f.Add(body[:len(body)/2])
	f.Add([]byte(`{"version":1,"time":"2026-11-21T01:15:03+01:00","dump":{"check":null}}`))
	f.Add([]byte(`{"version":1}{"version":9}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if m.Version < 1 || m.Version > ManifestVersion {
			t.Fatalf("accepted version %d", m.Version)
		}
		if m.Good() != (m.Dump.Check == nil || m.Dump.Check.Passed) {
			t.Fatalf("Good() = %v with check %+v", m.Good(), m.Dump.Check)
		}
		written := m.Marshal()
		again, err := ParseManifest(written)
		if err != nil {
			t.Fatalf("a manifest written from an accepted one does not parse: %v\n%s", err, written)
		}
		if rewritten := again.Marshal(); !bytes.Equal(rewritten, written) {
			t.Fatalf("written twice, the manifest changed:\n%s\nthen:\n%s", written, rewritten)
		}
		if !again.Time.Equal(m.Time) || !again.Dump.Modified.Equal(m.Dump.Modified) || again.Good() != m.Good() {
			t.Fatalf("read back, the manifest says other things: %+v, was %+v", again, m)
		}
	})
}
