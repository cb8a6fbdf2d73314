package archive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pgarchive/pgarchive/internal/target"
)

// ManifestVersion is the manifest format this code writes. Readers accept
// this version and refuse newer ones rather than misread them.
const ManifestVersion = 1

// Manifest describes a complete archive. Its JSON form is documented in
// docs/design.md.
type Manifest struct {
	Version     int        `json:"version"`
	Tool        string     `json:"tool"`
	ToolVersion string     `json:"tool_version"`
	Host        string     `json:"host"`
	Database    string     `json:"database"`
	Time        time.Time  `json:"time"`
	Object      string     `json:"object"`
	Dump        DumpInfo   `json:"dump"`
	Ciphertext  Digest     `json:"ciphertext"`
	Encryption  Encryption `json:"encryption"`
	// Lock is the object lock the target put on the object and on this
	// manifest when they were pushed (prune may extend it since); nil
	// where the target locks nothing.
	Lock *target.Lock `json:"lock,omitempty"`
}

// DumpInfo describes the plaintext: the dump file byte for byte.
type DumpInfo struct {
	Format      string    `json:"format"`      // plain, custom, tar, cluster
	Compression string    `json:"compression"` // gzip, zstd, none
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	File        string    `json:"file"`
	Modified    time.Time `json:"modified"`
	// Check is the content check push made while reading the dump; nil in
	// manifests written before pgarchive checked content, which count as
	// before (good).
	Check *ContentCheck `json:"check,omitempty"`
}

// ContentCheck records that the dump was whole when it was pushed: it
// decompressed to its end and ended the way pg_dump ends a dump.
type ContentCheck struct {
	Passed  bool   `json:"passed"`
	Checked string `json:"checked"` // what was checked, e.g. "gzip-stream,completion-line"
}

// Good reports whether the archive counts as a good restore point: its
// dump passed the content check, or it predates the check.
func (m *Manifest) Good() bool { return m.Dump.Check == nil || m.Dump.Check.Passed }

// Digest is a size and SHA-256 (hex).
type Digest struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Encryption records who can open the archive, without the keys themselves.
type Encryption struct {
	Kind       string   `json:"kind"` // x25519, mlkem768x25519, scrypt
	Recipients []string `json:"recipients"`
}

// Marshal encodes the manifest as indented JSON.
func (m *Manifest) Marshal() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	_ = enc.Encode(m) // a struct of plain fields cannot fail to encode
	return buf.Bytes()
}

// ParseManifest decodes a manifest, refusing versions newer than this code.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Version < 1 || m.Version > ManifestVersion {
		return nil, fmt.Errorf("manifest version %d is not supported by this pgarchive (reads up to %d)", m.Version, ManifestVersion)
	}
	return &m, nil
}
