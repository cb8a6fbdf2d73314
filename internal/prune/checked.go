package prune

import (
	"context"
	"sort"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/target"
)

// ManifestReader reads an archive's manifest; *target.Target with
// archive.ReadManifest is the real one.
type ManifestReader func(ctx context.Context, n archive.Name) (*archive.Manifest, error)

// FromTarget reads manifests from t.
func FromTarget(t *target.Target) ManifestReader {
	return func(ctx context.Context, n archive.Name) (*archive.Manifest, error) {
		return archive.ReadManifest(ctx, t, n)
	}
}

// NewestGood makes retention count as complete only archives whose dump
// passed its content check, from the newest down to the first that did:
// what is kept as "the newest complete archive" must be a good restore
// point. An archive whose manifest says its dump failed is no restore
// point: it is counted as incomplete (kept within the grace period,
// deleted after it). Manifests that predate the check, and manifests that
// cannot be read, count as good, as before. Only the newest manifests are
// read: normally one per database.
func NewestGood(ctx context.Context, read ManifestReader, entries []archive.Entry) []archive.Entry {
	out := append([]archive.Entry(nil), entries...)
	order := make([]int, 0, len(out))
	for i, e := range out {
		if e.Complete {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(a, b int) bool { return out[order[a]].Name.Time.After(out[order[b]].Name.Time) })
	for _, i := range order {
		m, err := read(ctx, out[i].Name)
		if err != nil || m.Good() {
			break
		}
		out[i].Complete = false
	}
	return out
}
