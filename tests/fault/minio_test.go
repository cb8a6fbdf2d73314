package fault

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// restartMinIO starts MinIO again after s.Stop, on the same address and
// data directory, with the same root credentials: the server came back.
// The harness starts MinIO but cannot restart it; this copies the part of
// harness.StartMinIO that does. The server is stopped when the test ends.
func restartMinIO(t testing.TB, s *harness.S3) {
	t.Helper()
	runMinIO(t, s, "minio-restarted.log")
}

// startMinIOAs starts MinIO with the root credentials given (which
// harness.StartMinIO fixes) on a free loopback port and creates the bucket
// "pgarchive-test". The server is stopped when the test ends.
func startMinIOAs(t testing.TB, accessKey, secretKey string) *harness.S3 {
	t.Helper()
	dir := t.TempDir()
	s := &harness.S3{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", harness.FreePort(t)),
		AccessKey: accessKey,
		SecretKey: secretKey,
		Bucket:    "pgarchive-test",
		Region:    "us-east-1",
		Dir:       dir,
		LogFile:   filepath.Join(dir, "minio.log"),
	}
	for _, d := range []string{"data", "certs", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	runMinIO(t, s, "minio.log")
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.Client().CreateBucket(ctx, &s3api.CreateBucketInput{Bucket: aws.String(s.Bucket)})
		cancel()
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating bucket %q on minio at %s: %v", s.Bucket, s.Endpoint, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runMinIO runs a MinIO server as s describes (Endpoint, root
// credentials, Region, and Dir holding data, certs and home), logging to
// logName in Dir, and waits until it is ready.
func runMinIO(t testing.TB, s *harness.S3, logName string) {
	t.Helper()
	bin := minioBinary(t)
	addr := strings.TrimPrefix(s.Endpoint, "http://")
	console := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	logFile, err := os.OpenFile(filepath.Join(s.Dir, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", console,
		"--certs-dir", filepath.Join(s.Dir, "certs"), filepath.Join(s.Dir, "data"))
	cmd.Dir = s.Dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"HOME="+filepath.Join(s.Dir, "home"),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_REGION="+s.Region,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting minio: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := client.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("health check: %s", resp.Status)
		}
		select {
		case <-done:
			t.Fatalf("minio at %s exited: %v", s.Endpoint, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio at %s not ready: %v", s.Endpoint, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// minioBinary finds the minio executable as the harness does:
// $PGARCHIVE_TOOLS_BIN, then /root/.cache/pgarchive-tools/bin, then PATH.
func minioBinary(t testing.TB) string {
	t.Helper()
	for _, dir := range []string{os.Getenv("PGARCHIVE_TOOLS_BIN"), "/root/.cache/pgarchive-tools/bin"} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "minio")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	p, err := exec.LookPath("minio")
	if err != nil {
		t.Fatalf("minio binary not found (run tests/setup.sh): %v", err)
	}
	return p
}
