package archive

import (
	"context"
	"errors"
	"fmt"

	"github.com/pgarchive/pgarchive/internal/target"
)

// Deleter removes objects by their path relative to a target's root.
// *target.Target is one.
type Deleter interface {
	Delete(ctx context.Context, path string) error
}

// ErrPartialDelete is wrapped by Delete's error when the manifest is gone
// but the object is still there: the archive is now incomplete.
var ErrPartialDelete = errors.New("manifest deleted, object left as an incomplete archive")

// Delete removes the archive e from d, the only way pgarchive removes an
// archive.
//
// A complete archive loses its manifest first, then its object. A delete
// cut short between the two therefore leaves an object without a manifest:
// an incomplete archive, which list shows as such, restore and retention
// ignore, and prune removes once it is older than the grace period. The
// other order could leave a manifest vouching for an object that is gone.
// An incomplete archive has only its object removed: a manifest that
// appeared since the listing is left alone.
//
// Something already gone counts as deleted, so a failed Delete can simply
// be retried.
func Delete(ctx context.Context, d Deleter, e Entry) error {
	if e.Complete {
		if err := d.Delete(ctx, e.Name.Manifest()); err != nil && !errors.Is(err, target.ErrNotFound) {
			return fmt.Errorf("delete %s: %w", e.Name.Object(), err)
		}
	}
	if err := d.Delete(ctx, e.Name.Object()); err != nil && !errors.Is(err, target.ErrNotFound) {
		if e.Complete {
			return fmt.Errorf("delete %s: %w: %w", e.Name.Object(), ErrPartialDelete, err)
		}
		return fmt.Errorf("delete %s: %w", e.Name.Object(), err)
	}
	return nil
}
