package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/chunksize"
	"github.com/rclone/rclone/fs/object"

	_ "github.com/rclone/rclone/backend/s3" // registers the s3 backend whose options are read below

	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/tests/harness"
)

// s3Default returns the default of the s3 backend's option name, from
// rclone's own registry, so the test follows rclone rather than a copy.
func s3Default(t *testing.T, name string) any {
	t.Helper()
	ri, err := fs.Find("s3")
	if err != nil {
		t.Fatalf("rclone s3 backend: %v", err)
	}
	for _, o := range ri.Options {
		if o.Name == name {
			return o.Default
		}
	}
	t.Fatalf("rclone s3 backend has no option %q", name)
	return nil
}

// encryptedSize50GiB is the exact size pgarchive declares to rclone for
// the age file of a 50 GiB dump: crypt.NewEncryptor computes it before the
// first byte is sent, and target.Put hands it to operations.RcatSize.
func encryptedSize50GiB(t *testing.T) int64 {
	t.Helper()
	id, err := crypt.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypt.ParseRecipientStrings("bench", []string{id.Recipient})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := crypt.NewEncryptor(r, 50<<30)
	if err != nil {
		t.Fatal(err)
	}
	return enc.Size
}

// TestPartSizeFor50GiB: issue 13, "objects over 48 GiB upload to S3". The
// disk here cannot hold a 50 GiB object, so this checks the arithmetic:
// with rclone's default chunk_size (5 MiB) and max_upload_parts (10000) a
// stream of unknown size stops at 5 MiB x 10000 = 48.8 GiB; pgarchive
// declares the age file's exact size, and rclone's chunk size calculator
// (fs/chunksize.Calculator, which backend/s3's OpenChunkWriter calls) then
// picks parts that fit.
func TestPartSizeFor50GiB(t *testing.T) {
	size := encryptedSize50GiB(t)
	chunk := s3Default(t, "chunk_size").(fs.SizeSuffix)
	maxParts := s3Default(t, "max_upload_parts").(int)
	t.Logf("50 GiB dump -> age file of %d bytes; rclone s3 defaults: chunk_size %v, max_upload_parts %d", size, chunk, maxParts)

	if limit := int64(chunk) * int64(maxParts); limit >= size {
		t.Fatalf("the default parts already hold %d bytes: the test shows nothing", limit)
	} else {
		t.Logf("unknown size (streamed): %v x %d = %d bytes (%.1f GiB) < %d: the upload would fail at the limit",
			chunk, maxParts, limit, float64(limit)/(1<<30), size)
	}
	got := chunksize.Calculator(nil, size, maxParts, chunk)
	parts := (size + int64(got) - 1) / int64(got)
	want := fs.SizeSuffix(6 << 20) // ceil(size / 10000) = 5.24 MiB, rounded up to whole MiB
	t.Logf("known size: rclone picks %v parts -> %d parts (limit %d)", got, parts, maxParts)
	if got != want || parts > int64(maxParts) {
		t.Errorf("chunk size for %d bytes = %v (%d parts), want %v within %d parts", size, got, parts, want, maxParts)
	}
	// The size pgarchive declares is what makes the difference: -1 (a
	// stream of unknown size) keeps the 5 MiB default.
	if streamed := chunksize.Calculator(nil, -1, maxParts, chunk); streamed != chunk {
		t.Errorf("unknown size: chunk size %v, want the default %v", streamed, chunk)
	}
}

// TestPartSizeOnMinIO opens a multipart upload for a 50 GiB object on a
// real S3 server (MinIO) through rclone's s3 backend, as target.Put does
// for an object of known size, reads the part size the backend chose, and
// aborts the upload: no data is sent.
func TestPartSizeOnMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	size := encryptedSize50GiB(t)
	s3 := harness.StartMinIO(t)
	ctx := context.Background()
	remote := fmt.Sprintf(":s3,provider=Minio,env_auth=false,access_key_id=%s,secret_access_key=%s,region=%s,endpoint='%s':%s",
		s3.AccessKey, s3.SecretKey, s3.Region, s3.Endpoint, s3.Bucket)
	f, err := fs.NewFs(ctx, remote)
	if err != nil {
		t.Fatalf("rclone s3 on minio: %v", err)
	}
	open := f.Features().OpenChunkWriter
	if open == nil {
		t.Fatal("rclone's s3 backend has no OpenChunkWriter")
	}
	src := object.NewStaticObjectInfo("db1/db1_20260101T000000Z.sql.gz.age", time.Now(), size, true, nil, f)
	info, w, err := open(ctx, src.Remote(), src)
	if err != nil {
		t.Fatalf("open multipart upload: %v", err)
	}
	defer func() {
		if err := w.Abort(ctx); err != nil {
			t.Errorf("abort: %v", err)
		}
	}()
	parts := (size + info.ChunkSize - 1) / info.ChunkSize
	t.Logf("rclone s3 backend on MinIO, %d bytes declared: %d-byte parts (%v), %d parts, concurrency %d",
		size, info.ChunkSize, fs.SizeSuffix(info.ChunkSize), parts, info.Concurrency)
	if info.ChunkSize != 6<<20 || parts > 10000 {
		t.Errorf("part size %d (%d parts), want 6 MiB within 10000 parts", info.ChunkSize, parts)
	}
}
