package target

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

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
