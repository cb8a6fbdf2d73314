package target

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/rclone/fs/operations"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/tests/harness"
)

// TestLockConditionalCreate: where Put's own check cannot see another
// writer (it got there between the check and the write), the store
// refuses the overwrite, Put reports ErrExists and removes nothing.
// Against MinIO on loopback; -short skips it.
func TestLockConditionalCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	s := harness.StartMinIO(t)
	id, key := s.WriteKeyFiles(t)
	tg, err := Open(context.Background(), "s3", config.Target{
		Type: "s3", Path: s.Bucket + "/pg",
		Options:     map[string]any{"provider": "Minio", "endpoint": s.Endpoint, "region": s.Region},
		SecretFiles: map[string]string{"access_key_id": id, "secret_access_key": key},
	}, config.Rclone{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first := []byte("the archive that was there first")
	if err := tg.Put(ctx, "h/db/a.age", bytes.NewReader(first), int64(len(first))); err != nil {
		t.Fatal(err)
	}
	// The upload Put makes, without the check before it: as if the
	// other writer came in between.
	second := []byte("an overwrite")
	_, err = operations.RcatSize(tg.createOnly(ctx), tg.fs, "h/db/a.age", io.NopCloser(bytes.NewReader(second)), int64(len(second)), time.Now(), nil)
	if !refusedOverwrite(err) {
		t.Fatalf("overwrite with If-None-Match: %v, want the store's refusal", err)
	}
	if got := s.Get(t, "pg/h/db/a.age"); !bytes.Equal(got, first) {
		t.Errorf("object is now %q", got)
	}
	// Put itself still says ErrExists, from its own check.
	if err := tg.Put(ctx, "h/db/a.age", bytes.NewReader(second), int64(len(second))); !errors.Is(err, ErrExists) {
		t.Errorf("Put over an object: %v", err)
	}
}

// TestLockMultipart: an archive big enough for a multipart upload gets
// the lock too, the store refuses a multipart overwrite, ExtendLock only
// lengthens, Hidden finds it behind a delete marker, and Delete on a
// locking target refuses the locked version rather than hide it.
func TestLockMultipart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	s := harness.StartMinIO(t)
	ctx := context.Background()
	const bucket = "locked"
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	id, key := s.WriteKeyFiles(t)
	tg, err := Open(ctx, "vault", config.Target{
		Type: "s3", Path: bucket + "/pg",
		Options: map[string]any{"provider": "Minio", "endpoint": s.Endpoint, "region": s.Region,
			"upload_cutoff": "5Mi", "chunk_size": "5Mi"},
		SecretFiles: map[string]string{"access_key_id": id, "secret_access_key": key},
		ObjectLock:  &config.ObjectLock{Mode: "GOVERNANCE", Days: 1},
	}, config.Rclone{})
	if err != nil {
		t.Fatal(err)
	}
	want, ok := tg.Lock()
	if !ok || !tg.Locking() {
		t.Fatal("target with object_lock does not lock")
	}
	big := randomBytes(t, 11<<20)
	if err := tg.Put(ctx, "h/db/big.age", bytes.NewReader(big), int64(len(big))); err != nil {
		t.Fatal(err)
	}
	got, err := tg.LockOf(ctx, "h/db/big.age")
	if err != nil || got != want {
		t.Fatalf("lock of a multipart upload: %+v (%v), want %+v", got, err, want)
	}
	_, err = operations.RcatSize(tg.createOnly(ctx), tg.fs, "h/db/big.age", io.NopCloser(bytes.NewReader(big)), int64(len(big)), time.Now(), nil)
	if !refusedOverwrite(err) {
		t.Errorf("multipart overwrite with If-None-Match: %v, want the store's refusal", err)
	}

	if l, err := tg.ExtendLock(ctx, "h/db/big.age", want.Until.Add(-time.Hour)); err != nil || l != want {
		t.Errorf("ExtendLock to an earlier date: %+v (%v), want the lock unchanged", l, err)
	}
	later := want.Until.Add(72 * time.Hour)
	if l, err := tg.ExtendLock(ctx, "h/db/big.age", later); err != nil || !l.Until.Equal(later) {
		t.Errorf("ExtendLock: %+v (%v)", l, err)
	}
	if l, _ := tg.LockOf(ctx, "h/db/big.age"); !l.Until.Equal(later) || l.Mode != "GOVERNANCE" {
		t.Errorf("lock read back after ExtendLock: %+v", l)
	}

	if err := tg.Delete(ctx, "h/db/big.age"); err == nil {
		t.Error("Delete of a locked object succeeded")
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("pg/h/db/big.age")}); err != nil {
		t.Fatal(err)
	}
	hidden, err := tg.Hidden(ctx, "h")
	if err != nil || len(hidden) != 1 || hidden[0].Path != "h/db/big.age" || !hidden[0].Lock.Until.Equal(later) || hidden[0].Size != int64(len(big)) {
		t.Errorf("Hidden: %+v (%v)", hidden, err)
	}

	// Clean up as an administrator: the GOVERNANCE bypass.
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Versions {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: v.Key, VersionId: v.VersionId, BypassGovernanceRetention: aws.Bool(true)})
		if err != nil {
			t.Errorf("clean up: %v", err)
		}
	}
}
