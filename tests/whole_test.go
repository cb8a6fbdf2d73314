package tests

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Nothing counts that isn't whole: a dump that is not whole, or that
// changes while push reads it, is stored nowhere, and the good archive
// before it survives the next prune.

// mustFailWith checks a run failed with exit 1 and ended on one error
// line holding every one of want.
func mustFailWith(t *testing.T, r result, want ...string) {
	t.Helper()
	line := harness.FinalError(r.stderr)
	if r.code != 1 || line == "" {
		t.Fatalf("want exit 1 ending on an error line, got: %s", r)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("error line %q does not say %q", line, w)
		}
	}
}

func TestDumpNotWholeIsStoredNowhere(t *testing.T) {
	pg := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	pg.CreateDB(t, "shop")
	pg.Seed(t, "shop")
	plainDir, customDir := t.TempDir(), t.TempDir()
	plain := harness.ReadFile(t, pg.Dump(t, "shop", plainDir, "gzip"))
	custom := harness.ReadFile(t, pg.Dump(t, "shop", customDir, "custom-gzip"))
	gunzipped := gunzipBytes(t, custom)

	cases := []struct {
		name string
		dump []byte
		want string
	}{
		{"gzip cut short", plain[:len(plain)*2/3], "dump is truncated"},
		{"gzip trailer missing", plain[:len(plain)-4], "dump is"},
		{"plain dump without its end", gzipBytes(t, "--\n-- PostgreSQL database dump\n--\n\nSET x = 1;\n"+strings.Repeat("garbage\n", 5000)), "dump is"},
		{"custom format cut short", gzipBytes(t, string(gunzipped[:len(gunzipped)*3/4])), "dump is"},
		{"custom format cut at the header", gzipBytes(t, string(gunzipped[:200])), "dump is"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dumpDir := t.TempDir()
			local := t.TempDir()
			prefix := fmt.Sprintf("case%d", i)
			s3t := strings.Replace(s3Target(t, "s3", s3), "/databases", "/"+prefix, 1)
			cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipientOf(t)), localTarget("local", local), s3t,
				"[retention]\nkeep_last = 1\n")
			env := []string{"PGARCHIVE_CONFIG=" + cfg}
			harness.WriteFile(t, dumpDir, "shop.sql.gz", string(plain))
			mustRun(t, append(env, "PGARCHIVE_TEST_NOW=20261201T010000Z"), "push", "-d", "shop", "--allow-stale")
			good := harness.Snapshot(t, local)
			goodKeys := s3.Keys(t, prefix+"/")

			harness.WriteFile(t, dumpDir, "shop.sql.gz", string(tc.dump))
			r := pgarchive(t, append(env, "PGARCHIVE_TEST_NOW=20261202T010000Z"), "push", "-d", "shop", "--allow-stale")
			mustFailWith(t, r, tc.want)
			if now := harness.Snapshot(t, local); !equalSnapshots(now, good) {
				t.Errorf("local target changed: %v, was %v", keys(now), keys(good))
			}
			if now := s3.Keys(t, prefix+"/"); strings.Join(now, " ") != strings.Join(goodKeys, " ") {
				t.Errorf("s3 holds %v, before the bad push %v", now, goodKeys)
			}
			mustRun(t, append(env, "PGARCHIVE_TEST_NOW=20261203T010000Z"), "prune")
			if now := harness.Snapshot(t, local); !equalSnapshots(now, good) {
				t.Errorf("prune after the bad push changed the local target: %v", keys(now))
			}
			if now := s3.Keys(t, prefix+"/"); len(now) != 2 {
				t.Errorf("prune after the bad push left %v on s3, want the good archive and its manifest", now)
			}
		})
	}
}

// recipientOf makes a throwaway key pair and returns its recipient.
func recipientOf(t *testing.T) string {
	_, r := keypair(t, false)
	return r
}

func gunzipBytes(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Two pushes of one database in the same second: one stores a complete
// archive and exits 0, the other exits 1 naming why; what is stored
// verifies on every target.
func TestConcurrentPushesSameSecond(t *testing.T) {
	s3 := harness.StartMinIO(t)
	sftp := harness.StartSSHD(t)
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "shop", 8<<20)
	identity, recipient := keypair(t, false)
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()),
		s3Target(t, "s3", s3), sftpTarget("nas", sftp))
	for round := range 3 {
		env := []string{"PGARCHIVE_CONFIG=" + cfg, fmt.Sprintf("PGARCHIVE_TEST_NOW=20261201T0%d0000Z", round)}
		var wg sync.WaitGroup
		results := make([]result, 2)
		for i := range results {
			wg.Add(1)
			go func() { defer wg.Done(); results[i] = pgarchive(t, env, "push", "-d", "shop", "--allow-stale") }()
		}
		wg.Wait()
		ok := 0
		for _, r := range results {
			switch r.code {
			case 0:
				ok++
			case 1:
				if harness.FinalError(r.stderr) == "" {
					t.Errorf("round %d: the losing push did not fail with one line: %s", round, r)
				}
			default:
				t.Errorf("round %d: exit %d: %s", round, r.code, r)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d pushes exited 0, want exactly 1:\n%s\n%s", round, ok, results[0], results[1])
		}
	}
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "verify", "--identity", identity)
}

// A dump written to in place while push reads it (same size, so only the
// times tell) is stored nowhere.
func TestDumpChangedWhileReadIsStoredNowhere(t *testing.T) {
	dumpDir := t.TempDir()
	path := filepath.Join(dumpDir, "big.sql")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "--\n-- PostgreSQL database dump\n--\n\n")
	line := strings.Repeat("-- filler of a large dump, written in place while push reads it\n", 1024)
	for range (600 << 20) / len(line) {
		io.WriteString(f, line)
	}
	io.WriteString(f, "\n--\n-- PostgreSQL database dump complete\n--\n\n")
	f.Close()
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "none", ageRecipients(recipientOf(t)), localTarget("local", local))

	done := make(chan result)
	go func() { done <- pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "push", "-d", "big") }()
	// Write once the upload is under way: a partial object has appeared.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if n := sizeBelow(local); n > 10<<20 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt([]byte("-- CHANGED"), 300<<20)
	w.Close()
	r := <-done
	mustFailWith(t, r, "dump changed while it was read")
	if files := harness.Snapshot(t, local); len(files) != 0 {
		t.Errorf("target holds %v after a push of a changing dump", keys(files))
	}
}

// sizeBelow adds up the sizes of the files below dir.
func sizeBelow(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// A target that accepts the connection and then takes no more data is
// dropped after stall_timeout, naming it; the other target's archive is
// complete.
func TestStalledTargetIsDropped(t *testing.T) {
	s3 := harness.StartMinIO(t)
	proxy := startFreezingProxy(t, strings.TrimPrefix(s3.Endpoint, "http://"), 2<<20)
	dumpDir := t.TempDir()
	writeRandomPlainDump(t, filepath.Join(dumpDir, "shop.sql"), 64<<20)
	identity, recipient := keypair(t, false)
	local := t.TempDir()
	cfg := configFile(t, dumpDir, "none", ageRecipients(recipient), localTarget("local", local),
		strings.Replace(s3Target(t, "offsite", s3), s3.Endpoint, "http://"+proxy, 1))
	cfg = prependTopLevel(t, cfg, "stall_timeout = \"2s\"\n")
	env := []string{"PGARCHIVE_CONFIG=" + cfg}

	start := time.Now()
	r := pgarchive(t, env, "push", "-d", "shop")
	took := time.Since(start)
	mustFailWith(t, r, "offsite", "stalled")
	if took > 2*time.Minute {
		t.Errorf("push took %s with stall_timeout 2s", took)
	}
	t.Logf("push with a stalled target took %s", took.Round(time.Millisecond))
	// The frozen proxy still holds the offsite target: ask the local one.
	rows := listJSON(t, env, "--target", "local")
	if len(rows) != 1 || !rows[0].complete() {
		t.Fatalf("local target holds %+v, want one complete archive", rows)
	}
	mustRun(t, env, "verify", "--target", "local", "--identity", identity)
}

// prependTopLevel adds top-level keys to a config file (they must come
// before its first table).
func prependTopLevel(t *testing.T, path, keys string) string {
	t.Helper()
	return harness.WriteFile(t, t.TempDir(), "config.toml", keys+string(harness.ReadFile(t, path)))
}

// writeRandomPlainDump writes a plain dump of about size bytes that
// compression cannot shrink, ending as pg_dump ends one.
func writeRandomPlainDump(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	io.WriteString(f, "--\n-- PostgreSQL database dump\n--\n\n")
	raw := make([]byte, 48<<10)
	for n := 0; n < size; n += 64 << 10 {
		rand.Read(raw)
		io.WriteString(f, "-- "+base64.StdEncoding.EncodeToString(raw)+"\n")
	}
	io.WriteString(f, "\n--\n-- PostgreSQL database dump complete\n--\n\n")
}

// startFreezingProxy forwards loopback TCP connections to addr until
// limit bytes have gone from clients to the server; from then on it
// forwards nothing in either direction and closes nothing, on old and new
// connections alike: a server that stopped reading without failing.
func startFreezingProxy(t *testing.T, addr string, limit int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	frozen := make(chan struct{})
	var freezeOnce sync.Once
	stop := make(chan struct{})
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		close(stop)
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	pipe := func(dst, src net.Conn, count bool) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if count && sent.Add(int64(n)) > limit {
					freezeOnce.Do(func() { close(frozen) })
				}
				select {
				case <-frozen:
					<-stop
					return
				default:
				}
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			go pipe(s, c, true)
			go pipe(c, s, false)
		}
	}()
	return l.Addr().String()
}

// A host clock that went back (the newest archive on a target is stamped
// after this push) is warned about and counted in the metrics textfile;
// the push itself still stores its archive.
func TestPushWarnsWhenTheClockWentBack(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "shop", 4096)
	prom := filepath.Join(t.TempDir(), "pgarchive.prom")
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipientOf(t)), localTarget("local", t.TempDir()),
		"[metrics]\ntextfile = "+toml(prom)+"\n")
	env := []string{"PGARCHIVE_CONFIG=" + cfg}
	mustRun(t, append(env, "PGARCHIVE_TEST_NOW=20261202T010000Z"), "push", "-d", "shop", "--allow-stale")
	if v := textfileSeries(t, prom)[`pgarchive_push_clock_behind_seconds{database="shop",target="local"}`]; v != 0 {
		t.Errorf("clock behind after a push in order = %v, want 0", v)
	}
	r := mustRun(t, append(env, "PGARCHIVE_TEST_NOW=20261201T010000Z"), "push", "-d", "shop", "--allow-stale")
	if !strings.Contains(r.stderr, "host clock is behind") || !strings.Contains(r.stderr, "20261202T010000Z") {
		t.Errorf("no warning naming the newer archive: %s", r)
	}
	if v := textfileSeries(t, prom)[`pgarchive_push_clock_behind_seconds{database="shop",target="local"}`]; v != 86400 {
		t.Errorf("clock behind = %v, want 86400 (one day)", v)
	}
}

// A target from rclone.conf whose S3 server is down is reported as down,
// not as "is a file, not a directory" (rclone's probe of a path without a
// trailing slash took any failure for a file).
func TestRcloneConfRemoteDownIsNotAFile(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "shop", 4096)
	conf := harness.WriteFile(t, t.TempDir(), "rclone.conf", fmt.Sprintf(
		"[legacy]\ntype = s3\nprovider = Minio\nendpoint = http://%s\naccess_key_id = k\nsecret_access_key = s\n", deadAddr(t)))
	cfg := configFile(t, dumpDir, "gzip", ageRecipients(recipientOf(t)), localTarget("local", t.TempDir()),
		"[targets.legacy]\nremote = \"legacy:bucket/pg\"\n", "[rclone]\nconfig_file = "+toml(conf)+"\n")
	r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_TARGET_TIMEOUT=20s"}, "push", "-d", "shop", "--allow-stale")
	mustFailWith(t, r, "legacy")
	if strings.Contains(r.stderr, "is a file") {
		t.Errorf("a server that is down reported as a file: %s", r)
	}
}
