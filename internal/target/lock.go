package target

// Object lock (S3 Object Lock) on s3 targets whose config has object_lock.
//
// rclone sets the lock on upload: Open passes object_lock_mode and
// object_lock_retain_until_date to the s3 backend, with one date fixed when
// the target is opened, so an archive and its manifest carry the same lock
// and the manifest can record it. rclone can neither read a lock back in a
// listing nor extend one, and its version listing renames old versions; for
// those the target speaks the S3 API itself (s3api.go), with the same
// endpoint and credentials.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/rclone/rclone/fs"

	"github.com/pgarchive/pgarchive/internal/config"
)

// Lock is an object's retention: it cannot be deleted or overwritten
// before Until. The zero Lock is no lock.
type Lock struct {
	// Mode is "GOVERNANCE" or "COMPLIANCE".
	Mode string `json:"mode"`
	// Until is the retain-until date, UTC.
	Until time.Time `json:"until"`
}

// Locked reports whether l still holds at now.
func (l Lock) Locked(now time.Time) bool { return l.Mode != "" && l.Until.After(now) }

// IsZero reports whether l is no lock at all.
func (l Lock) IsZero() bool { return l.Mode == "" && l.Until.IsZero() }

// ErrNoLock is wrapped by the lock methods on a target without object
// lock: one that is not s3, or has no object_lock in the config.
var ErrNoLock = errors.New("target has no object lock")

// Lock returns the lock this target puts on every object Put writes, and
// false when it puts none. Its date was fixed when the target was opened.
func (t *Target) Lock() (Lock, bool) {
	if t.lock == nil {
		return Lock{}, false
	}
	return *t.lock, true
}

// Locking reports whether the target locks what it stores.
func (t *Target) Locking() bool { return t.lock != nil && t.api != nil }

// lockOptions sets the rclone s3 options that lock each upload, for a
// target with object_lock, and returns the lock they set. The date is
// fixed now, rounded up to the second (S3 keeps seconds), rather than
// given to rclone as "Nd": rclone would read the clock again per upload,
// and the manifest could not say exactly what the object carries.
func lockOptions(ol *config.ObjectLock, opts map[string]string, now time.Time) *Lock {
	if ol == nil {
		return nil
	}
	until := now.UTC().Add(time.Duration(ol.Days) * 24 * time.Hour).Truncate(time.Second).Add(time.Second)
	opts["object_lock_mode"] = ol.Mode
	opts["object_lock_retain_until_date"] = until.Format(time.RFC3339)
	return &Lock{Mode: ol.Mode, Until: until}
}

// LockOf returns the lock of the object at path (the current version), or
// the zero Lock if it has none.
func (t *Target) LockOf(ctx context.Context, path string) (Lock, error) {
	return t.lockOfVersion(ctx, path, "")
}

func (t *Target) lockOfVersion(ctx context.Context, path, versionID string) (Lock, error) {
	if t.api == nil {
		return Lock{}, t.errorf("read lock", path, ErrNoLock)
	}
	in := &s3.HeadObjectInput{Bucket: &t.api.bucket, Key: aws.String(t.api.key(path))}
	if versionID != "" {
		in.VersionId = &versionID
	}
	out, err := t.api.c.HeadObject(ctx, in)
	if err != nil {
		if isNotFound(err) {
			return Lock{}, t.errorf("read lock", path, ErrNotFound)
		}
		return Lock{}, t.errorf("read lock", path, err)
	}
	l := Lock{Mode: string(out.ObjectLockMode)}
	if out.ObjectLockRetainUntilDate != nil {
		l.Until = out.ObjectLockRetainUntilDate.UTC()
	}
	return l, nil
}

// ExtendLock makes the lock of the object at path hold at least until
// until, in the target's mode, and returns the lock it now has. A lock
// that already reaches that far is left as it is: S3 never lets a lock be
// shortened, and pgarchive never asks.
func (t *Target) ExtendLock(ctx context.Context, path string, until time.Time) (Lock, error) {
	if !t.Locking() {
		return Lock{}, t.errorf("extend lock", path, ErrNoLock)
	}
	cur, err := t.LockOf(ctx, path)
	if err != nil {
		return Lock{}, err
	}
	until = until.UTC().Truncate(time.Second)
	if !cur.Until.Before(until) {
		return cur, nil
	}
	mode := cur.Mode
	if mode == "" {
		mode = t.lock.Mode // an object pushed before the target locked
	}
	_, err = t.api.c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{
		Bucket: &t.api.bucket,
		Key:    aws.String(t.api.key(path)),
		Retention: &types.ObjectLockRetention{
			Mode:            types.ObjectLockRetentionMode(mode),
			RetainUntilDate: &until,
		},
	})
	if err != nil {
		return Lock{}, t.errorf("extend lock", path, err)
	}
	return Lock{Mode: mode, Until: until}, nil
}

// conditionalCreate lists the s3 providers (rclone's provider option)
// documented to refuse a PutObject or CompleteMultipartUpload with
// If-None-Match: * over an existing key. Elsewhere the header is not sent:
// a store that does not know it might refuse every upload, and Put's check
// before writing still stands.
var conditionalCreate = map[string]bool{
	"AWS":        true, // since 2024-08
	"Minio":      true, // tested here
	"Cloudflare": true, // R2
}

// createOnly makes an upload conditional on the name being free, where the
// store can refuse an overwrite itself (S3's If-None-Match: *, which rclone
// passes on for single and multipart uploads): the check Put makes first
// cannot close the gap between the check and the write, the store can.
func (t *Target) createOnly(ctx context.Context) context.Context {
	if !t.conditional {
		return ctx
	}
	ctx, ci := fs.AddConfig(ctx)
	ci.UploadHeaders = append(append([]*fs.HTTPOption(nil), ci.UploadHeaders...),
		&fs.HTTPOption{Key: "If-None-Match", Value: "*"})
	return ctx
}

// refusedOverwrite reports whether err is the store refusing a conditional
// create because the name is taken (412 Precondition Failed; 409 when
// another conditional upload of the name is in flight).
func refusedOverwrite(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	return err != nil && strings.Contains(err.Error(), "PreconditionFailed")
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchKey", "NoSuchVersion":
			return true
		}
	}
	var nk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nk) || errors.As(err, &nf)
}

// describeLock is "GOVERNANCE until 2026-12-31T03:00:00Z", for messages.
func describeLock(l Lock) string {
	if l.IsZero() {
		return "no lock"
	}
	return fmt.Sprintf("%s until %s", l.Mode, l.Until.Format(time.RFC3339))
}
