package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// A bucket with object lock keeps versions: a plain delete (by a stolen
// host, say) succeeds but only puts a delete marker in front of the
// object, whose version stays until its lock ends and someone deletes the
// version itself. Hidden finds such objects; WithAsOf reads the target as
// it was before the markers.

// Hidden is an object whose newest version is a delete marker, with an
// older version still stored behind it: deleted to a listing, recoverable.
type Hidden struct {
	// Path is relative to the target's root.
	Path string
	// Size is the hidden version's size in bytes.
	Size int64
	// Stored is when the hidden version was written.
	Stored time.Time
	// Deleted is when the delete marker was made.
	Deleted time.Time
	// Lock is the hidden version's lock: it can be restored at least
	// until Lock.Until. Zero when it has none.
	Lock Lock
	// VersionID is the hidden version's id.
	VersionID string
}

// Hidden lists the objects below dir ("" for the whole target) hidden
// behind delete markers, sorted by path. Only s3 targets keep versions
// pgarchive can see; any other target returns ErrNoLock.
func (t *Target) Hidden(ctx context.Context, dir string) ([]Hidden, error) {
	if t.api == nil {
		return nil, t.errorf("list deleted", dir, ErrNoLock)
	}
	dir = strings.Trim(dir, "/")
	prefix := t.api.prefix
	if dir != "" {
		prefix += dir + "/"
	}
	type state struct {
		latestMarker *types.DeleteMarkerEntry
		newestData   *types.ObjectVersion
	}
	keys := map[string]*state{}
	get := func(k string) *state {
		if keys[k] == nil {
			keys[k] = &state{}
		}
		return keys[k]
	}
	pages := s3.NewListObjectVersionsPaginator(t.api.c, &s3.ListObjectVersionsInput{Bucket: &t.api.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, t.errorf("list deleted", dir, err)
		}
		for i := range page.DeleteMarkers {
			m := &page.DeleteMarkers[i]
			if aws.ToBool(m.IsLatest) {
				get(aws.ToString(m.Key)).latestMarker = m
			}
		}
		for i := range page.Versions {
			v := &page.Versions[i]
			s := get(aws.ToString(v.Key))
			if s.newestData == nil || aws.ToTime(v.LastModified).After(aws.ToTime(s.newestData.LastModified)) {
				s.newestData = v
			}
		}
	}
	var out []Hidden
	for k, s := range keys {
		if s.latestMarker == nil || s.newestData == nil {
			continue
		}
		h := Hidden{
			Path:      strings.TrimPrefix(k, t.api.prefix),
			Size:      aws.ToInt64(s.newestData.Size),
			Stored:    aws.ToTime(s.newestData.LastModified).UTC(),
			Deleted:   aws.ToTime(s.latestMarker.LastModified).UTC(),
			VersionID: aws.ToString(s.newestData.VersionId),
		}
		l, err := t.lockOfVersion(ctx, h.Path, h.VersionID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		h.Lock = l
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hidden) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// purge deletes every version of the object at path, delete markers
// included, so that it is gone rather than hidden: prune's delete on a
// target that locks. The store refuses a version still locked.
func (t *Target) purge(ctx context.Context, path string) error {
	key := t.api.key(path)
	var versions []string
	pages := s3.NewListObjectVersionsPaginator(t.api.c, &s3.ListObjectVersionsInput{Bucket: &t.api.bucket, Prefix: &key})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == key {
				versions = append(versions, aws.ToString(v.VersionId))
			}
		}
		for _, m := range page.DeleteMarkers {
			if aws.ToString(m.Key) == key {
				versions = append(versions, aws.ToString(m.VersionId))
			}
		}
	}
	if len(versions) == 0 {
		return ErrNotFound
	}
	var errs []error
	for _, id := range versions {
		_, err := t.api.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &t.api.bucket, Key: &key, VersionId: aws.String(id)})
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("version %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

type asOfKey struct{}

// WithAsOf returns a context in which Open builds s3 targets that show the
// store as it was at time at: each object's newest version written by then,
// objects deleted since visible again, nothing newer (rclone's s3
// version_at). Such a target is read-only.
func WithAsOf(ctx context.Context, at time.Time) context.Context {
	return context.WithValue(ctx, asOfKey{}, at)
}

// AsOf returns the time WithAsOf put in ctx.
func AsOf(ctx context.Context) (time.Time, bool) {
	at, ok := ctx.Value(asOfKey{}).(time.Time)
	return at, ok && !at.IsZero()
}
