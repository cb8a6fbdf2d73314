package archive

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/target"
)

// Entry is one archive object found on a target.
type Entry struct {
	Name     Name
	Target   string
	Size     int64     // ciphertext bytes as stored
	Stored   time.Time // modification time the target reports
	Complete bool      // its manifest exists
}

// List returns the archives of host on t, of one database or (database "")
// all of them, oldest first. Objects that are not archive names are ignored,
// and so are manifests whose object is gone.
func List(ctx context.Context, t *target.Target, host, database string) ([]Entry, error) {
	dir := host
	if database != "" {
		dir = DatabaseDir(host, database)
	}
	objects, err := t.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("list %s on %s: %w", dir, t.Name, err)
	}
	manifests := map[string]bool{}
	for _, o := range objects {
		if strings.HasSuffix(o.Path, ManifestSuffix) {
			manifests[strings.TrimSuffix(o.Path, ManifestSuffix)] = true
		}
	}
	var out []Entry
	for _, o := range objects {
		n, err := ParseObject(o.Path)
		if err != nil || n.Host != host || (database != "" && n.Database != database) {
			continue
		}
		out = append(out, Entry{Name: n, Target: t.Name, Size: o.Size, Stored: o.ModTime, Complete: manifests[o.Path]})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Name.Time.Equal(out[j].Name.Time) {
			return out[i].Name.Time.Before(out[j].Name.Time)
		}
		return out[i].Name.Object() < out[j].Name.Object()
	})
	return out, nil
}

// ReadManifest fetches and parses the manifest of an archive.
func ReadManifest(ctx context.Context, t *target.Target, n Name) (*Manifest, error) {
	rc, err := t.Open(ctx, n.Manifest())
	if err != nil {
		return nil, fmt.Errorf("read manifest %s on %s: %w", n.Manifest(), t.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s on %s: %w", n.Manifest(), t.Name, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", n.Manifest(), t.Name, err)
	}
	if m.Object != n.File() || m.Database != n.Database || m.Host != n.Host {
		return nil, fmt.Errorf("%s on %s: manifest describes %s/%s/%s, not this archive", n.Manifest(), t.Name, m.Host, m.Database, m.Object)
	}
	return m, nil
}
