package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIOVersion is the version of github.com/minio/minio that tests/setup.sh
// installs.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// S3 is a MinIO server on 127.0.0.1 with one empty bucket.
type S3 struct {
	// Endpoint is the server's URL, "http://127.0.0.1:PORT".
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey string
	SecretKey string
	// Bucket exists and is empty when StartMinIO returns.
	Bucket string
	// Region is the region to sign requests for, "us-east-1".
	Region string
	// Dir holds the server's data, certificates directory and log.
	Dir string
	// LogFile receives the server's output.
	LogFile string

	proc     *process
	stopOnce sync.Once
}

// minioBinary finds the minio executable: $PGARCHIVE_TOOLS_BIN, then
// /root/.cache/pgarchive-tools/bin, then PATH.
func minioBinary(t testing.TB) string {
	t.Helper()
	var tried []string
	for _, dir := range []string{os.Getenv("PGARCHIVE_TOOLS_BIN"), "/root/.cache/pgarchive-tools/bin"} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "minio")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	t.Fatalf("harness: minio binary not found (tried %s and PATH); build it with tests/setup.sh or "+
		"GOBIN=/root/.cache/pgarchive-tools/bin go install github.com/minio/minio@%s", strings.Join(tried, ", "), MinIOVersion)
	return ""
}

// StartMinIO starts MinIO on a free loopback port with its data in a
// temporary directory and creates an empty bucket. The server is stopped
// when the test ends.
func StartMinIO(t testing.TB) *S3 {
	t.Helper()
	start := time.Now()
	bin := minioBinary(t)
	dir := t.TempDir()
	s := &S3{
		AccessKey: "pgarchive-test",
		SecretKey: "pgarchive-test-secret-key",
		Bucket:    "pgarchive-test",
		Region:    "us-east-1",
		Dir:       dir,
		LogFile:   filepath.Join(dir, "minio.log"),
	}
	port, consolePort := FreePort(t), FreePort(t)
	s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	for _, d := range []string{"data", "certs", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}

	cmd := exec.Command(bin, "server", "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", consolePort),
		"--certs-dir", filepath.Join(dir, "certs"),
		filepath.Join(dir, "data"))
	cmd.Dir = dir
	cmd.Env = setEnv(dropEnv(os.Environ(), func(k string) bool { return strings.HasPrefix(k, "MINIO_") }),
		"HOME="+filepath.Join(dir, "home"),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_REGION="+s.Region,
	)
	var err error
	s.proc, err = startProcess(cmd, s.LogFile, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("harness: minio: %v", err)
	}
	t.Cleanup(s.Stop)
	logOnFailure(t, "minio", s.LogFile)

	client := &http.Client{Timeout: 2 * time.Second}
	err = waitFor(90*time.Second, 100*time.Millisecond, s.proc, func() error {
		resp, err := client.Get(s.Endpoint + "/minio/health/live")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health check: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("harness: minio at %s: %v\nlog:\n%s", s.Endpoint, err, tail(s.LogFile, 40))
	}

	// The server may still refuse writes for a moment after it is live.
	c := s.Client()
	err = waitFor(30*time.Second, 200*time.Millisecond, s.proc, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
		return err
	})
	if err != nil {
		t.Fatalf("harness: creating bucket %q on minio at %s: %v\nlog:\n%s", s.Bucket, s.Endpoint, err, tail(s.LogFile, 40))
	}
	t.Logf("harness: minio ready at %s in %v", s.Endpoint, time.Since(start).Round(time.Millisecond))
	return s
}

// Stop stops the server, so the target is down: connections to Endpoint are
// refused afterwards. It is safe to call more than once; StartMinIO
// registers it as a cleanup.
func (s *S3) Stop() {
	s.stopOnce.Do(func() {
		if s.proc != nil {
			s.proc.stop(syscall.SIGTERM, 10*time.Second)
		}
	})
}

// Client returns an S3 client for the server, using path-style addressing
// and the root credentials.
func (s *S3) Client() *s3.Client {
	cfg := aws.Config{
		Region:      s.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
}

// WriteKeyFiles writes the access key and the secret key each to its own
// file (mode 0600, no trailing newline) in a temporary directory and returns
// their paths, for pgarchive's secret-file settings.
func (s *S3) WriteKeyFiles(t testing.TB) (accessKeyFile, secretKeyFile string) {
	t.Helper()
	dir := t.TempDir()
	accessKeyFile = filepath.Join(dir, "s3-access-key")
	secretKeyFile = filepath.Join(dir, "s3-secret-key")
	if err := os.WriteFile(accessKeyFile, []byte(s.AccessKey), 0o600); err != nil {
		t.Fatalf("harness: writing S3 access key file: %v", err)
	}
	if err := os.WriteFile(secretKeyFile, []byte(s.SecretKey), 0o600); err != nil {
		t.Fatalf("harness: writing S3 secret key file: %v", err)
	}
	return accessKeyFile, secretKeyFile
}

// Put stores body as the object key in Bucket.
func (s *S3) Put(t testing.TB, key string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(body),
	})
	if err != nil {
		t.Fatalf("harness: putting s3://%s/%s: %v", s.Bucket, key, err)
	}
}

// Get returns the content of the object key in Bucket.
func (s *S3) Get(t testing.TB, key string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("harness: getting s3://%s/%s: %v", s.Bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("harness: reading s3://%s/%s: %v", s.Bucket, key, err)
	}
	return data
}

// ObjectPath downloads the object key in Bucket to a temporary file and
// returns the file's path. MinIO keeps objects in its own on-disk format, so
// this is a copy, not the server's storage.
func (s *S3) ObjectPath(t testing.TB, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), filepath.Base(key))
	if err := os.WriteFile(path, s.Get(t, key), 0o600); err != nil {
		t.Fatalf("harness: saving s3://%s/%s: %v", s.Bucket, key, err)
	}
	return path
}

// Keys lists the keys in Bucket that start with prefix, in lexical order.
func (s *S3) Keys(t testing.TB, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(s.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("harness: listing s3://%s/%s: %v", s.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// RcloneEnv returns the process environment plus RCLONE_CONFIG_* variables
// defining an rclone remote called remote for this server, ready to be used
// as exec.Cmd.Env for Debian's rclone:
//
//	cmd := exec.Command("rclone", "lsf", "-R", "minio:"+s.Bucket)
//	cmd.Env = s.RcloneEnv("minio")
//
// AWS_* variables are left out: rclone 1.60's S3 client fails on an
// AWS_CA_BUNDLE in the environment ("unable to load custom CA bundle").
func (s *S3) RcloneEnv(remote string) []string {
	p := "RCLONE_CONFIG_" + strings.ToUpper(remote) + "_"
	env := dropEnv(os.Environ(), func(k string) bool {
		return strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, p)
	})
	return append(env,
		p+"TYPE=s3",
		p+"PROVIDER=Minio",
		p+"ENV_AUTH=false",
		p+"ACCESS_KEY_ID="+s.AccessKey,
		p+"SECRET_ACCESS_KEY="+s.SecretKey,
		p+"REGION="+s.Region,
		p+"ENDPOINT="+s.Endpoint,
		p+"FORCE_PATH_STYLE=true",
	)
}
