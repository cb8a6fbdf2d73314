package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary struct {
	once sync.Once
	dir  string // temporary directory holding the build
	path string
	err  error
}

const binDirPrefix = "pgarchive-bin-"

// Binary returns the path of a pgarchive binary built from ./cmd/pgarchive
// of the module under test. It is built once per test process; set
// PGARCHIVE_BINARY to use a prebuilt binary instead. The build lives in a
// temporary directory that Main removes; directories left by test processes
// that were killed are removed on the next build.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PGARCHIVE_BINARY"); p != "" {
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			t.Fatalf("harness: PGARCHIVE_BINARY=%q is not an executable file (%v)", p, err)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatalf("harness: PGARCHIVE_BINARY=%q: %v", p, err)
		}
		return abs
	}
	binary.once.Do(func() {
		start := time.Now()
		binary.path, binary.err = buildBinary()
		if binary.err == nil {
			t.Logf("harness: built %s in %v", binary.path, time.Since(start).Round(time.Millisecond))
		}
	})
	if binary.err != nil {
		t.Fatalf("harness: %v", binary.err)
	}
	return binary.path
}

func buildBinary() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building pgarchive: go not found in PATH: %w", err)
	}
	dir, err := makeTempDir(binDirPrefix)
	if err != nil {
		return "", fmt.Errorf("building pgarchive: %w", err)
	}
	binary.dir = dir
	path := filepath.Join(dir, "pgarchive")
	// The test hooks (a lower scrypt work factor) exist only in this build.
	cmd := exec.Command(goTool, "build", "-tags", "pgarchive_testhooks", "-o", path, "./cmd/pgarchive")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building pgarchive (go build -tags pgarchive_testhooks -o %s ./cmd/pgarchive in %s): %w\n%s", path, root, err, out)
	}
	return path, nil
}

// makeTempDir creates a directory named <prefix><pid>-<random> in the
// system temporary directory, after removing those that earlier test
// processes, killed before their cleanup ran, left behind.
func makeTempDir(prefix string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), prefix)
		pidText, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(m)
		}
	}
	dir, err := os.MkdirTemp("", prefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("creating temporary directory: %w", err)
	}
	return dir, nil
}

// Main runs the tests of a package and then removes the binary built by
// Binary. Call it from TestMain:
//
//	func TestMain(m *testing.M) { harness.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}
