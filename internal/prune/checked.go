package prune

import (
	"context"
	"errors"
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

// NewestGood makes retention count as complete only archives that are good
// restore points, from the newest down to the first that is: what is kept
// as "the newest complete archive" must be one restore accepts. An archive
// whose manifest says its dump failed the content check, or whose manifest
// does not vouch for it (it does not parse, or describes another archive),
// is counted as incomplete: kept within the grace period, deleted after
// it. Manifests that predate the check count as good. Only the newest
// manifests are read: normally one per database.
//
// A manifest that cannot be read at all (the target failed) is an error:
// the caller must then delete nothing there, since it cannot tell which
// archive is the newest good one.
func NewestGood(ctx context.Context, read ManifestReader, entries []archive.Entry) ([]archive.Entry, error) {
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
		switch {
		case errors.Is(err, archive.ErrBadManifest):
		case err != nil:
			return nil, err
		case m.Good():
			return out, nil
		}
		out[i].Complete = false
	}
	return out, nil
}
