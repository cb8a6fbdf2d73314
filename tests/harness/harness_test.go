package harness

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("FreePort() = %d", p)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d from FreePort is not free: %v", p, err)
	}
	l.Close()
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	pg.CreateDB(t, "shop")
	pg.Seed(t, "shop")

	if got, want := pg.Psql(t, "shop", "SELECT name FROM shop.customers WHERE id = 1"), "Zoë Ünïcødé 東京 Ελλάδα №1"; got != want {
		t.Errorf("non-ASCII text: got %q, want %q", got, want)
	}
	if got := pg.Psql(t, "shop", `SELECT count(*) FROM shop.customers WHERE note LIKE E'%\n%\t%'`); got == "0" {
		t.Errorf("seed has no text with newlines and tabs")
	}
	if got := pg.Psql(t, "shop", `SELECT count(*) FROM shop.orders WHERE position('\x00'::bytea in payload) > 0`); got == "0" {
		t.Errorf("seed has no bytea with NUL bytes")
	}

	fp := pg.Fingerprint(t, "shop")
	t.Logf("fingerprint:\n%s", fp)
	for name, rows := range SeedRows {
		if want := "table " + name + " rows=" + strconv.Itoa(rows) + " md5="; !strings.Contains(fp, want) {
			t.Errorf("fingerprint lacks %q", want)
		}
	}
	for _, want := range []string{
		"view shop.customer_totals rows=2000 md5=",
		"sequence shop.invoice_no last_value=35993", // 1000 + 7*4999
		"sequence shop.orders_id_seq last_value=5000",
	} {
		if !strings.Contains(fp, want) {
			t.Errorf("fingerprint lacks %q", want)
		}
	}
	if again := pg.Fingerprint(t, "shop"); again != fp {
		t.Errorf("fingerprint changed between calls:\n%s\n---\n%s", fp, again)
	}
	pg.Psql(t, "shop", "UPDATE shop.customers SET note = note || 'x' WHERE id = 2")
	if changed := pg.Fingerprint(t, "shop"); changed == fp {
		t.Errorf("fingerprint did not change after an UPDATE")
	}
	pg.Psql(t, "shop", "UPDATE shop.customers SET note = left(note, -1) WHERE id = 2")
	if back := pg.Fingerprint(t, "shop"); back != fp {
		t.Errorf("fingerprint differs after undoing the UPDATE")
	}

	t.Run("dumps", func(t *testing.T) {
		for _, tc := range []struct {
			kind, file string
			magic      []byte
		}{
			{"gzip", "shop.sql.gz", []byte{0x1f, 0x8b}},
			{"zstd", "shop.sql.zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
			{"none", "shop.sql", []byte("--\n-- PostgreSQL database dump\n--")},
			{"custom-gzip", "shop.sql.gz", []byte{0x1f, 0x8b}},
		} {
			dir := filepath.Join(t.TempDir(), "backup")
			path := pg.Dump(t, "shop", dir, tc.kind)
			if want := filepath.Join(dir, tc.file); path != want {
				t.Errorf("Dump(%s) = %s, want %s", tc.kind, path, want)
			}
			checkDumpFile(t, path, tc.magic)
			switch tc.kind {
			case "gzip":
				if plain := gunzip(t, path); !bytes.Contains(plain, []byte("CREATE DATABASE shop")) {
					t.Errorf("gzip dump lacks CREATE DATABASE (pg_dump -C)")
				}
			case "zstd":
				if out, err := exec.Command("zstd", "-t", "-q", path).CombinedOutput(); err != nil {
					t.Errorf("zstd -t %s: %v\n%s", path, err, out)
				}
			case "custom-gzip":
				plain := gunzip(t, path)
				if !bytes.HasPrefix(plain, []byte("PGDMP")) {
					t.Fatalf("gunzipped custom dump starts %q, want PGDMP", plain[:min(len(plain), 16)])
				}
				custom := filepath.Join(t.TempDir(), "shop.dump")
				if err := os.WriteFile(custom, plain, 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(filepath.Join(pg.BinDir, "pg_restore"), "--list", custom)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("pg_restore --list: %v\n%s", err, out)
				}
				if !bytes.Contains(out, []byte("TABLE DATA shop customers")) {
					t.Errorf("pg_restore --list lacks the customers data:\n%s", out)
				}
			}
		}
	})

	t.Run("prev", func(t *testing.T) {
		dir := t.TempDir()
		first := pg.Dump(t, "shop", dir, "gzip")
		firstData, err := os.ReadFile(first)
		if err != nil {
			t.Fatal(err)
		}
		pg.Dump(t, "shop", dir, "gzip")
		prevData, err := os.ReadFile(filepath.Join(dir, "shop.prev.sql.gz"))
		if err != nil {
			t.Fatalf("second dump left no prev file: %v", err)
		}
		if !bytes.Equal(prevData, firstData) {
			t.Errorf("shop.prev.sql.gz is not the first dump")
		}
		names := dirNames(t, dir)
		if got, want := strings.Join(names, " "), "shop.prev.sql.gz shop.sql.gz"; got != want {
			t.Errorf("dump directory holds %s, want %s", got, want)
		}
	})

	t.Run("all", func(t *testing.T) {
		dir := t.TempDir()
		path := pg.DumpAll(t, dir, "gzip")
		if filepath.Base(path) != "all.sql.gz" {
			t.Errorf("DumpAll = %s, want all.sql.gz", path)
		}
		checkDumpFile(t, path, []byte{0x1f, 0x8b})
		plain := gunzip(t, path)
		if !bytes.Contains(plain, []byte("PostgreSQL database cluster dump")) || !bytes.Contains(plain, []byte("shop.customers")) {
			t.Errorf("all.sql.gz does not look like pg_dumpall output of the cluster")
		}
	})

	// Restoring proves the seed survives a dump and Fingerprint sees it.
	t.Run("restore", func(t *testing.T) {
		dir := t.TempDir()
		plainGz := pg.Dump(t, "shop", dir, "gzip")
		customGz := pg.Dump(t, "shop", filepath.Join(dir, "custom"), "custom-gzip")

		pg.CreateDB(t, "shop_custom")
		custom := filepath.Join(t.TempDir(), "shop.dump")
		if err := os.WriteFile(custom, gunzip(t, customGz), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(pg.BinDir, "pg_restore"), "--exit-on-error", "-d", "shop_custom", custom)
		cmd.Env = pg.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, out)
		}
		if got := pg.Fingerprint(t, "shop_custom"); got != fp {
			t.Errorf("fingerprint after pg_restore differs:\n%s\n---\n%s", got, fp)
		}

		pg.DropDB(t, "shop")
		cmd = exec.Command(filepath.Join(pg.BinDir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres")
		cmd.Env = pg.Env()
		cmd.Stdin = bytes.NewReader(gunzip(t, plainGz))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("restoring the plain dump with psql: %v\n%s", err, out)
		}
		if got := pg.Fingerprint(t, "shop"); got != fp {
			t.Errorf("fingerprint after psql restore differs:\n%s\n---\n%s", got, fp)
		}
	})
}

// checkDumpFile checks the dump starts with magic and has the mode and owner
// services.postgresqlBackup gives it, and that no in-progress file is left.
func checkDumpFile(t *testing.T, path string, magic []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("root cannot read the dump: %v", err)
	}
	defer f.Close()
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(f, head); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if !bytes.Equal(head, magic) {
		t.Errorf("%s starts %q, want %q", path, head, magic)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %v, want 0600 (umask 0077)", path, perm)
	}
	if os.Geteuid() == 0 {
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid == 0 {
			t.Errorf("%s is owned by root, want the postgres user", path)
		}
	}
	for _, n := range dirNames(t, filepath.Dir(path)) {
		if strings.Contains(n, ".in-progress.") {
			t.Errorf("in-progress file %s left behind", n)
		}
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("gunzip %s: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip %s: %v", path, err)
	}
	return data
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestMinIO(t *testing.T) {
	t.Parallel()
	s := StartMinIO(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want loopback", s.Endpoint)
	}
	s.Put(t, "host/db/hello.txt", []byte("hello, minio\n"))
	if got := string(s.Get(t, "host/db/hello.txt")); got != "hello, minio\n" {
		t.Errorf("Get = %q", got)
	}
	if got, err := os.ReadFile(s.ObjectPath(t, "host/db/hello.txt")); err != nil || string(got) != "hello, minio\n" {
		t.Errorf("ObjectPath copy holds %q (%v)", got, err)
	}
	if got := strings.Join(s.Keys(t, "host/"), " "); got != "host/db/hello.txt" {
		t.Errorf("Keys(host/) = %q", got)
	}

	access, secret := s.WriteKeyFiles(t)
	for file, want := range map[string]string{access: s.AccessKey, secret: s.SecretKey} {
		got, err := os.ReadFile(file)
		if err != nil || string(got) != want {
			t.Errorf("key file %s holds %q (%v), want %q", file, got, err, want)
		}
	}

	// Debian's rclone sees the object too.
	rclone := LookTool(t, "rclone", "rclone")
	cmd := exec.Command(rclone, "lsf", "-R", "--files-only", "minio:"+s.Bucket)
	cmd.Env = s.RcloneEnv("minio")
	out, err := runStdout(cmd)
	if err != nil {
		t.Fatalf("rclone lsf: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "host/db/hello.txt" {
		t.Errorf("rclone lsf = %q", got)
	}

	s.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	if resp, err := client.Get(s.Endpoint + "/minio/health/live"); err == nil {
		resp.Body.Close()
		t.Errorf("minio still answers after Stop: %s", resp.Status)
	}
	s.Stop() // idempotent
}

func TestSSHD(t *testing.T) {
	t.Parallel()
	s := StartSSHD(t)
	if !filepath.IsAbs(s.Root) {
		t.Errorf("Root %q is not absolute", s.Root)
	}
	local := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(local, []byte("hello, sftp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte("put "+local+" "+s.Root+"/hello.txt\nls -l "+s.Root+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sftp := LookTool(t, "sftp", "openssh-client")
	args := append(s.SSHOptions(), "-b", batch, s.User+"@"+s.Host)
	if out, err := exec.Command(sftp, args...).CombinedOutput(); err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(s.Root, "hello.txt")); err != nil || string(got) != "hello, sftp\n" {
		t.Fatalf("file uploaded by sftp holds %q (%v)", got, err)
	}

	// The spelling from the brief, without known_hosts, works as well.
	plain := exec.Command(sftp, "-i", s.KeyFile, "-P", strconv.Itoa(s.Port), "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-b", batch, "root@127.0.0.1")
	if os.Geteuid() == 0 {
		if out, err := plain.CombinedOutput(); err != nil {
			t.Errorf("sftp -o StrictHostKeyChecking=no: %v\n%s", err, out)
		}
	}

	// Debian's rclone reaches it with the known_hosts check on.
	rclone := LookTool(t, "rclone", "rclone")
	cmd := exec.Command(rclone, "lsf", "sftp:"+s.Root)
	cmd.Env = s.RcloneEnv("sftp")
	out, err := runStdout(cmd)
	if err != nil {
		t.Fatalf("rclone lsf: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "hello.txt" {
		t.Errorf("rclone lsf = %q", got)
	}

	s.Stop()
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), time.Second); err == nil {
		conn.Close()
		t.Errorf("sshd still accepts connections after Stop")
	}
	s.Stop() // idempotent
}

// runStdout runs cmd and returns its standard output; the error carries
// standard error.
func runStdout(cmd *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w\n%s", cmd.Args[0], err, stderr.Bytes())
	}
	return out, nil
}

func TestBinary(t *testing.T) {
	root := ModuleRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "cmd", "pgarchive", "*.go"))
	if len(files) == 0 {
		t.Skip("cmd/pgarchive has no Go files yet")
	}
	path := Binary(t)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("Binary() = %s, not an executable (%v)", path, err)
	}
	if again := Binary(t); again != path {
		t.Errorf("second Binary() = %s, want the same %s", again, path)
	}
}
