package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/target"
)

// FutureTolerance is how far past now an archive's stamp may lie and still
// count as the newest. Hosts whose clocks differ by seconds (the one that
// pushed, the one that restores) are normal; a stamp further ahead comes
// from a clock that was wrong, and trusting it would make that one archive
// "latest" until real time caught up with it, hiding every newer push.
const FutureTolerance = 5 * time.Minute

// Entry is one archive found on a target: its object, its manifest, or
// both.
type Entry struct {
	Name     Name
	Target   string
	Size     int64     // ciphertext bytes as stored; 0 when Missing
	Stored   time.Time // modification time the target reports (the manifest's when Missing)
	Complete bool      // its manifest and its object exist
	// Missing is set for a manifest whose object is gone (deleted by hand,
	// or lost by the target): not an archive anyone can restore, but a
	// loss to report rather than pass over. Complete is false then.
	Missing bool
}

// InFuture reports whether e is stamped more than FutureTolerance after
// now. Such an archive is never the newest unless asked for by name.
func (e Entry) InFuture(now time.Time) bool {
	return e.Name.Time.After(now.Add(FutureTolerance))
}

// Latest returns the newest complete archive in entries that is not
// InFuture at now; of archives with the same time, the first in entries.
func Latest(entries []Entry, now time.Time) (Entry, bool) {
	var best Entry
	found := false
	for _, e := range entries {
		if !e.Complete || e.InFuture(now) {
			continue
		}
		if !found || e.Name.Time.After(best.Name.Time) {
			best, found = e, true
		}
	}
	return best, found
}

// List returns the archives of host (every host for "") on t, of one
// database or (database "") all of them, oldest first. Objects that are not archive names are ignored.
// A manifest whose object is gone is returned as a Missing entry.
func List(ctx context.Context, t *target.Target, host, database string) ([]Entry, error) {
	dir := host
	if host != "" && database != "" {
		dir = DatabaseDir(host, database)
	}
	objects, err := t.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("list %s on %s: %w", dir, t.Name, err)
	}
	return entries(t.Name, objects, host, database), nil
}

// entries turns a target's listing into archive entries; see List.
func entries(targetName string, objects []target.Entry, host, database string) []Entry {
	manifests := map[string]target.Entry{}
	seen := map[string]bool{}
	for _, o := range objects {
		if p, ok := strings.CutSuffix(o.Path, ManifestSuffix); ok {
			manifests[p] = o
		} else {
			seen[o.Path] = true
		}
	}
	mine := func(n Name) bool {
		return (host == "" || n.Host == host) && (database == "" || n.Database == database)
	}
	var out []Entry
	for _, o := range objects {
		n, err := ParseObject(o.Path)
		if err != nil || !mine(n) {
			continue
		}
		_, complete := manifests[o.Path]
		out = append(out, Entry{Name: n, Target: targetName, Size: o.Size, Stored: o.ModTime, Complete: complete})
	}
	for p, m := range manifests {
		n, err := ParseObject(p)
		if err != nil || !mine(n) || seen[p] {
			continue
		}
		out = append(out, Entry{Name: n, Target: targetName, Stored: m.ModTime, Missing: true})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Name.Time.Equal(out[j].Name.Time) {
			return out[i].Name.Time.Before(out[j].Name.Time)
		}
		if out[i].Name.Host != out[j].Name.Host {
			return out[i].Name.Host < out[j].Name.Host
		}
		return out[i].Name.Object() < out[j].Name.Object()
	})
	return out
}

// Hosts returns the hosts with at least one archive object or manifest on
// t, sorted. It lists the whole target, so it is for error messages, not
// for every run.
func Hosts(ctx context.Context, t *target.Target) ([]string, error) {
	objects, err := t.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.Name, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range objects {
		n, err := ParseObject(strings.TrimSuffix(o.Path, ManifestSuffix))
		if err != nil || seen[n.Host] {
			continue
		}
		seen[n.Host] = true
		out = append(out, n.Host)
	}
	sort.Strings(out)
	return out, nil
}

// ErrBadManifest is matched (errors.Is) by ReadManifest's error when the
// manifest was read but cannot vouch for the archive: it does not parse, or
// it describes another archive. Any other error is the target's.
var ErrBadManifest = errors.New("manifest does not vouch for this archive")

// badManifest marks an error as ErrBadManifest without changing its text.
type badManifest struct{ error }

func (b badManifest) Is(target error) bool { return target == ErrBadManifest }
func (b badManifest) Unwrap() error        { return b.error }

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
		return nil, badManifest{fmt.Errorf("%s on %s: %w", n.Manifest(), t.Name, err)}
	}
	if m.Object != n.File() || m.Database != n.Database || m.Host != n.Host {
		return nil, badManifest{fmt.Errorf("%s on %s: manifest describes %s/%s/%s, not this archive", n.Manifest(), t.Name, m.Host, m.Database, m.Object)}
	}
	return m, nil
}
