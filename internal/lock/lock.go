// Package lock tells what object lock protects on a target, in archives
// rather than objects.
//
// A target with object_lock (S3 Object Lock) cannot lose an archive to a
// stolen host before the lock runs out, but a plain delete still succeeds:
// the bucket keeps versions, and the delete puts a marker in front of the
// locked version, so listings no longer show the archive. Hidden finds
// those archives, with the date until which they can be brought back:
//
//	hidden, err := lock.Hidden(ctx, t, host, "")
//	for _, h := range hidden {
//		fmt.Println(h.Warning()) // archive deleted, recoverable until …
//	}
//
// and `list --as-of`/`restore --as-of` (target.WithAsOf) read the store as
// it was before the deletes. Of, for list and status, reads each archive's
// lock.
package lock

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/target"
)

// Archive is an archive hidden behind a delete marker on one target.
type Archive struct {
	Name   archive.Name
	Target string
	// Size is the hidden object's size in bytes.
	Size int64
	// Stored is when the object was written.
	Stored time.Time
	// Deleted is when it was deleted (the delete marker's time).
	Deleted time.Time
	// Lock is the hidden object's lock: no one can remove the version
	// before Lock.Until (in COMPLIANCE mode; in GOVERNANCE, no one
	// without the bypass permission). Zero when it has none.
	Lock target.Lock
	// Manifest reports whether its manifest is still there, hidden or
	// not: without it a restore from the old version has no checksums.
	Manifest bool
}

// RecoverableUntil is the date until which the archive can surely be
// brought back, or zero when nothing holds it (no lock).
func (a Archive) RecoverableUntil() time.Time {
	if a.Lock.Mode == "" {
		return time.Time{}
	}
	return a.Lock.Until
}

// Before is the latest whole second before a was deleted: what --as-of
// takes to see it again (version_at counts what was written at or before
// the time, and the delete marker must not count).
func (a Archive) Before() time.Time {
	d := a.Deleted.UTC()
	if s := d.Truncate(time.Second); s.Before(d) {
		return s
	}
	return d.Add(-time.Second)
}

// Warning is the line status prints for a, naming how to get it back.
func (a Archive) Warning() string {
	before := a.Before().Format(time.RFC3339)
	how := fmt.Sprintf("see it with list --as-of %s, restore it with restore --as-of %s", before, before)
	if until := a.RecoverableUntil(); !until.IsZero() {
		return fmt.Sprintf("archive deleted, recoverable until %s: %s deleted %s; %s",
			until.UTC().Format(time.RFC3339), a.Name.Object(), a.Deleted.UTC().Format(time.RFC3339), how)
	}
	return fmt.Sprintf("archive deleted, recoverable while its old version is kept (no lock): %s deleted %s; %s",
		a.Name.Object(), a.Deleted.UTC().Format(time.RFC3339), how)
}

// Hidden returns the archives of host (every host for "") and database
// ("" for all) on t that are hidden behind delete markers, oldest first.
// On a target that does not lock it returns nothing: without object lock
// a bucket need not keep versions, and nothing promises a way back.
func Hidden(ctx context.Context, t *target.Target, host, database string) ([]Archive, error) {
	if !t.Locking() {
		return nil, nil
	}
	dir := host
	if host != "" && database != "" {
		dir = archive.DatabaseDir(host, database)
	}
	objs, err := t.Hidden(ctx, dir)
	if err != nil {
		return nil, err
	}
	hiddenManifest := map[string]bool{}
	for _, o := range objs {
		if p, ok := strings.CutSuffix(o.Path, archive.ManifestSuffix); ok {
			hiddenManifest[p] = true
		}
	}
	var out []Archive
	for _, o := range objs {
		if strings.HasSuffix(o.Path, archive.ManifestSuffix) {
			continue
		}
		n, err := archive.ParseObject(o.Path)
		if err != nil || (host != "" && n.Host != host) || (database != "" && n.Database != database) {
			continue
		}
		a := Archive{Name: n, Target: t.Name, Size: o.Size, Stored: o.Stored, Deleted: o.Deleted, Lock: o.Lock}
		a.Manifest = hiddenManifest[o.Path]
		if !a.Manifest {
			if ok, err := t.Exists(ctx, n.Manifest()); err == nil {
				a.Manifest = ok
			}
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.Time.Before(out[j].Name.Time) })
	return out, nil
}

// Of returns the lock of each archive object in entries on t, by object
// path; nothing on a target that does not lock. An object whose lock
// cannot be read is left out.
func Of(ctx context.Context, t *target.Target, entries []archive.Entry) map[string]target.Lock {
	if !t.Locking() {
		return nil
	}
	out := map[string]target.Lock{}
	for _, e := range entries {
		if e.Missing || e.Target != t.Name {
			continue
		}
		if l, err := t.LockOf(ctx, e.Name.Object()); err == nil && !l.IsZero() {
			out[e.Name.Object()] = l
		}
	}
	return out
}
