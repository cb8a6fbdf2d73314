// Package archive defines what an archive is on a target and moves dumps
// into and out of that shape.
//
// An archive is two objects under a target's path:
//
//	<host>/<db>/<db>_<YYYYMMDDTHHMMSSZ>.sql<suffix>.age   the dump, age-encrypted
//	<host>/<db>/<db>_<YYYYMMDDTHHMMSSZ>.sql<suffix>.age.json   its manifest
//
// The manifest is written only after the object is complete, so its
// presence is what commits an archive: an object without one is incomplete
// (an upload that died or is still running) and restore and retention ignore
// it. Objects are written once and never overwritten. docs/design.md states
// the format; this package is its implementation.
package archive

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// TimeLayout is the UTC timestamp in every object name.
const TimeLayout = "20060102T150405Z"

// ManifestSuffix is appended to an object's name to name its manifest.
const ManifestSuffix = ".json"

// Name identifies one archive of one database from one host.
type Name struct {
	Host     string
	Database string
	Time     time.Time // UTC, whole seconds
	// Suffix is the dump file suffix after ".sql": ".gz", ".zstd" or "".
	Suffix string
}

// NewName names the archive of database taken at t.
func NewName(host, database string, t time.Time, suffix string) (Name, error) {
	if err := CheckDatabaseName(database); err != nil {
		return Name{}, err
	}
	return Name{Host: host, Database: database, Time: t.UTC().Truncate(time.Second), Suffix: suffix}, nil
}

// CheckDatabaseName refuses names that cannot be one path element, the same
// restriction services.postgresqlBackup's file names impose.
func CheckDatabaseName(db string) error {
	if db == "" || db == "." || db == ".." || strings.ContainsAny(db, "/\x00\n") {
		return fmt.Errorf("database name %q cannot be used in a file name", db)
	}
	return nil
}

// Dir is the directory holding all archives of the database, relative to
// the target's path.
func (n Name) Dir() string { return DatabaseDir(n.Host, n.Database) }

// DatabaseDir is where a host's archives of a database live.
func DatabaseDir(host, database string) string { return host + "/" + database }

// File is the object's base name.
func (n Name) File() string {
	return n.Database + "_" + n.Time.Format(TimeLayout) + ".sql" + n.Suffix + ".age"
}

// Object is the object's path relative to the target's path.
func (n Name) Object() string { return n.Dir() + "/" + n.File() }

// Manifest is the manifest's path relative to the target's path.
func (n Name) Manifest() string { return n.Object() + ManifestSuffix }

// Stamp is the archive's time as written in its name.
func (n Name) Stamp() string { return n.Time.Format(TimeLayout) }

// Compression is the dump compression implied by the suffix.
func (n Name) Compression() string {
	switch n.Suffix {
	case ".gz":
		return "gzip"
	case ".zstd":
		return "zstd"
	}
	return "none"
}

// ErrNotArchive marks a path that is not an archive object.
var ErrNotArchive = errors.New("not an archive object name")

// ParseObject parses an object path (relative to the target's path) as
// written by Name.Object. It fails with ErrNotArchive for anything else,
// manifests included.
func ParseObject(p string) (Name, error) {
	fail := func(why string) (Name, error) {
		return Name{}, fmt.Errorf("%q: %w: %s", p, ErrNotArchive, why)
	}
	parts := strings.Split(p, "/")
	if len(parts) != 3 {
		return fail("want <host>/<database>/<file>")
	}
	host, db, file := parts[0], parts[1], parts[2]
	if host == "" || CheckDatabaseName(db) != nil {
		return fail("bad host or database element")
	}
	rest, ok := strings.CutPrefix(file, db+"_")
	if !ok {
		return fail("file does not start with the database name")
	}
	if len(rest) < len(TimeLayout) {
		return fail("no timestamp")
	}
	t, err := time.Parse(TimeLayout, rest[:len(TimeLayout)])
	if err != nil {
		return fail("bad timestamp")
	}
	rest = rest[len(TimeLayout):]
	suffix, ok := strings.CutPrefix(rest, ".sql")
	if !ok {
		return fail("no .sql after the timestamp")
	}
	suffix, ok = strings.CutSuffix(suffix, ".age")
	if !ok {
		return fail("does not end in .age")
	}
	switch suffix {
	case "", ".gz", ".zstd":
	default:
		return fail("unknown compression suffix")
	}
	n := Name{Host: host, Database: db, Time: t, Suffix: suffix}
	if n.Object() != path.Clean(p) {
		return fail("not in canonical form")
	}
	return n, nil
}

// ParseStamp parses a YYYYMMDDTHHMMSSZ timestamp as given to --at.
func ParseStamp(s string) (time.Time, error) {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time like 20261121T011500Z", s)
	}
	return t, nil
}
