// Package bench measures pgarchive's push and restore side by side with
// what users would run instead (issue 13). Figures are printed and written
// to docs/benchmarks.md; nothing is asserted on time.
//
// TestBench is the driver. It runs only when tests/bench/run.sh sets
// PGARCHIVE_BENCH_OUT, because it uses tests/harness, whose helpers take a
// testing.TB and stop every server they started when the test ends, even
// when it fails. The part-size check (partsize_test.go) runs in every test
// run.
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Sample is one timed run of a case.
type Sample struct {
	Wall      float64 // seconds
	CPU       float64 // user+system seconds of the command and its children
	MaxRSSKiB int64   // GNU time's "Maximum resident set size"
	Written   int64   // bytes the command wrote to local disk (GNU time's "File system outputs" x 512)
	InTargets int64   // of Written, the bytes of objects it left in local targets
	ServerCPU float64 // CPU seconds MinIO, sshd (and its sessions) and PostgreSQL used meanwhile
}

// Result is every sample of one case.
type Result struct {
	Group   string // "push 256 MiB", "restore plain", …
	Case    string
	Kind    string // "push" or "restore"
	Targets int    // pgarchive push: how many targets; 0 otherwise
	Bytes   int64  // input size: the dump file
	Samples []Sample
}

// Report is what TestBench writes to results.json for the chart and the
// page.
type Report struct {
	Started  time.Time
	Finished time.Time
	Machine  map[string]string
	Versions map[string]string
	SizesMiB []int
	Rounds   int
	Scale    int
	Results  []*Result
	PartSize string // the part-size test's log
	Profile  string // perf's top symbols of one push, when run
	Temp     string // what strace saw each push write to local files
	Note     string // why fewer rounds ran than asked, if they did
}

type benchCase struct {
	group, name, kind string
	targets           int
	bytes             int64
	// setup runs untimed before each sample; cleanup after it.
	setup, cleanup func(t *testing.T)
	argv           []string
	env            []string
	localTarget    string // directory whose content after the run counts as target bytes
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// TestBenchPage rewrites $PGARCHIVE_BENCH_DOC from an earlier run's
// results.json ($PGARCHIVE_BENCH_RESULTS) without measuring again, after a
// change to how the page presents the figures.
func TestBenchPage(t *testing.T) {
	in := os.Getenv("PGARCHIVE_BENCH_RESULTS")
	if in == "" {
		t.Skip("set PGARCHIVE_BENCH_RESULTS to a results.json written by tests/bench/run.sh")
	}
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	page := markdown(&rep)
	if doc := os.Getenv("PGARCHIVE_BENCH_DOC"); doc != "" {
		if err := os.WriteFile(doc, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		fmt.Println(page)
	}
}

func TestBench(t *testing.T) {
	out := os.Getenv("PGARCHIVE_BENCH_OUT")
	if out == "" {
		t.Skip("run by tests/bench/run.sh (set PGARCHIVE_BENCH_OUT)")
	}
	bin := os.Getenv("PGARCHIVE_BINARY")
	rclone := os.Getenv("PGARCHIVE_BENCH_RCLONE")
	cache := os.Getenv("PGARCHIVE_BENCH_CACHE")
	if bin == "" || rclone == "" || cache == "" {
		t.Fatal("PGARCHIVE_BINARY, PGARCHIVE_BENCH_RCLONE and PGARCHIVE_BENCH_CACHE must be set")
	}
	var sizes []int
	for _, s := range strings.Fields(strings.ReplaceAll(os.Getenv("PGARCHIVE_BENCH_SIZES"), ",", " ")) {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("PGARCHIVE_BENCH_SIZES: %q: %v", s, err)
		}
		sizes = append(sizes, n)
	}
	rounds := envInt(t, "PGARCHIVE_BENCH_ROUNDS", 3)
	scale := envInt(t, "PGARCHIVE_BENCH_SCALE", 50)
	rep := &Report{Started: time.Now().UTC(), SizesMiB: sizes, Rounds: rounds, Scale: scale}

	work := t.TempDir()
	s3 := harness.StartMinIO(t)
	sftp := harness.StartSSHD(t)
	pg := harness.StartPostgres(t)
	servers := serverPIDs(t, s3.Dir, sftp.Dir, pg.DataDir)
	t.Logf("servers: minio, sshd, postgres pids %v", servers)

	// Keys, secrets, configs.
	keygen := exec.Command(bin, "keygen")
	keyText, err := keygen.Output()
	if err != nil {
		t.Fatalf("pgarchive keygen: %v", err)
	}
	identity := harness.WriteFile(t, work, "key.txt", string(keyText))
	recipient := ""
	for _, l := range strings.Split(string(keyText), "\n") {
		if r, ok := strings.CutPrefix(l, "# public key: "); ok {
			recipient = strings.TrimSpace(r)
		}
	}
	if recipient == "" {
		t.Fatalf("no public key in keygen's output:\n%s", keyText)
	}
	s3id := harness.WriteFile(t, work, "s3-id", s3.AccessKey)
	s3key := harness.WriteFile(t, work, "s3-key", s3.SecretKey)
	passphrase := harness.WriteFile(t, work, "passphrase", "correct horse battery staple\n")
	gnupg := filepath.Join(work, "gnupg")
	if err := os.Mkdir(gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	// gpg starts a gpg-agent for this home on first use; stop it.
	t.Cleanup(func() { _ = exec.Command("gpgconf", "--homedir", gnupg, "--kill", "all").Run() })
	rcloneEnv := append(s3.RcloneEnv("minio"), "RCLONE_CONFIG=/dev/null", "GNUPGHOME="+gnupg, "RCLONE_CONFIG_SFTP_SHELL_TYPE=unix")
	for _, kv := range sftp.RcloneEnv("sftp") {
		if strings.HasPrefix(kv, "RCLONE_CONFIG_SFTP_") {
			rcloneEnv = append(rcloneEnv, kv)
		}
	}
	pgEnv := pg.Env()
	localRoot := filepath.Join(work, "local")
	targetS3 := fmt.Sprintf("[targets.minio]\ntype = \"s3\"\npath = %q\noptions = { provider = \"Minio\", endpoint = %q, region = %q }\nsecret_files = { access_key_id = %q, secret_access_key = %q }\n",
		s3.Bucket+"/pga", s3.Endpoint, s3.Region, s3id, s3key)
	targetSFTP := fmt.Sprintf("[targets.sftp]\ntype = \"sftp\"\npath = %q\noptions = { host = %q, port = %d, user = %q, shell_type = \"unix\", known_hosts_file = %q }\nsecret_files = { key_file = %q }\n",
		filepath.Join(sftp.Root, "pg"), sftp.Host, sftp.Port, sftp.User, sftp.KnownHostsFile, sftp.KeyFile)
	targetLocal := fmt.Sprintf("[targets.local]\ntype = \"local\"\npath = %q\n", localRoot)
	config := func(name, dumpDir string, targets ...string) string {
		body := fmt.Sprintf("dump_dir = %q\ncompression = \"gzip\"\nhost = \"bench\"\n\n[encryption]\nrecipients = [%q]\n\n%s",
			dumpDir, recipient, strings.Join(targets, "\n"))
		return harness.WriteFile(t, work, name+".toml", body)
	}
	purge := func(t *testing.T) {
		run(t, rcloneEnv, rclone, "purge", "minio:"+s3.Bucket)
		run(t, rcloneEnv, rclone, "mkdir", "minio:"+s3.Bucket)
		for _, d := range []string{filepath.Join(sftp.Root, "pg"), localRoot, filepath.Join(work, "tmp")} {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []string{localRoot, filepath.Join(work, "tmp")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	purge(t)

	q := shellQuote

	// Dumps.
	var cases []*benchCase
	type dumpFile struct{ dir, group, key string }
	var dumps []dumpFile
	for _, mib := range sizes {
		dir := filepath.Join(cache, fmt.Sprintf("synthetic-%dMiB", mib))
		syntheticDump(t, pg, work, dir, mib)
		dumps = append(dumps, dumpFile{dir, "push %s", fmt.Sprint(mib)})
	}
	var plainDir, customDir string
	if scale > 0 {
		plainDir, customDir = pgbenchDumps(t, pg, cache, scale)
		dumps = append(dumps, dumpFile{plainDir, fmt.Sprintf("push %%s pgbench -s %d (real dump)", scale), "pgbench"})
	}
	for _, d := range dumps {
		dumpDir := d.dir
		dump := filepath.Join(dumpDir, "bench.sql.gz")
		fi, err := os.Stat(dump)
		if err != nil {
			t.Fatal(err)
		}
		group := fmt.Sprintf(d.group, human(fi.Size()))
		mib := d.key
		// --allow-stale: dumps are kept between runs (an 8 GiB one takes
		// minutes to make), so they are older than max_dump_age.
		pga := func(name string, targets int, cfg string) *benchCase {
			return &benchCase{group: group, name: name, kind: "push", targets: targets, bytes: fi.Size(),
				argv: []string{bin, "--config", cfg, "push", "--database", "bench", "--allow-stale"}, env: append(os.Environ(), "PGARCHIVE_LOG=stderr"),
				localTarget: localRoot, cleanup: purge}
		}
		shell := func(name, script string) *benchCase {
			return &benchCase{group: group, name: name, kind: "push", bytes: fi.Size(),
				argv: []string{"bash", "-c", "set -euo pipefail\n" + script}, env: rcloneEnv, cleanup: purge}
		}
		tmpEnc := filepath.Join(work, "tmp", "bench.sql.gz.enc")
		cases = append(cases,
			shell("rclone copyto (plain, no encryption)", fmt.Sprintf("%s copyto %s minio:%s/plain/bench.sql.gz", q(rclone), q(dump), s3.Bucket)),
			shell("seed script (gpg to temp file, rclone copy, rm)", fmt.Sprintf(
				"gpg --symmetric --cipher-algo AES256 --batch --passphrase-file %s -o %s %s\n%s copy %s minio:%s/seed/\nrm %s",
				q(passphrase), q(tmpEnc), q(dump), q(rclone), q(tmpEnc), s3.Bucket, q(tmpEnc))),
			shell("age -r | rclone rcat", fmt.Sprintf("age -r %s < %s | %s rcat minio:%s/age/bench.sql.gz.age", q(recipient), q(dump), q(rclone), s3.Bucket)),
			shell("rclone copyto → SFTP (plain, no encryption)", fmt.Sprintf("%s copyto %s sftp:%s/plain/bench.sql.gz", q(rclone), q(dump), filepath.Join(sftp.Root, "pg"))),
			pga("pgarchive → MinIO", 1, config(fmt.Sprintf("s3-%s", mib), dumpDir, targetS3)),
			pga("pgarchive → SFTP", 1, config(fmt.Sprintf("sftp-%s", mib), dumpDir, targetSFTP)),
			pga("pgarchive → local", 1, config(fmt.Sprintf("local-%s", mib), dumpDir, targetLocal)),
			pga("pgarchive → MinIO + SFTP", 2, config(fmt.Sprintf("s3sftp-%s", mib), dumpDir, targetS3, targetSFTP)),
			pga("pgarchive → MinIO + SFTP + local", 3, config(fmt.Sprintf("all-%s", mib), dumpDir, targetS3, targetSFTP, targetLocal)),
		)
	}

	// Restore: a real pgbench database, dumped as NixOS does, pushed once
	// (untimed) to MinIO, then restored by pgarchive and by hand.
	if scale > 0 {
		restoreTarget := func(kind string) string {
			return fmt.Sprintf("[targets.minio]\ntype = \"s3\"\npath = %q\noptions = { provider = \"Minio\", endpoint = %q, region = %q }\nsecret_files = { access_key_id = %q, secret_access_key = %q }\n",
				s3.Bucket+"-restore/"+kind, s3.Endpoint, s3.Region, s3id, s3key)
		}
		run(t, rcloneEnv, rclone, "mkdir", "minio:"+s3.Bucket+"-restore")
		for _, kind := range []string{"plain", "custom"} {
			dumpDir := plainDir
			if kind == "custom" {
				dumpDir = customDir
			}
			cfg := config("restore-"+kind, dumpDir, restoreTarget(kind))
			run(t, append(os.Environ(), "PGARCHIVE_LOG=stderr"), bin, "--config", cfg, "push", "--database", "bench", "--allow-stale")
			key := strings.TrimSpace(run(t, rcloneEnv, rclone, "lsf", "-R", "--files-only", "--include", "*.age", "minio:"+s3.Bucket+"-restore/"+kind))
			if strings.Contains(key, "\n") || key == "" {
				t.Fatalf("want one archive under %s, got %q", kind, key)
			}
			object := fmt.Sprintf("minio:%s-restore/%s/%s", s3.Bucket, kind, key)
			fi, err := os.Stat(filepath.Join(dumpDir, "bench.sql.gz"))
			if err != nil {
				t.Fatal(err)
			}
			group := "restore pgbench -s " + strconv.Itoa(scale) + " " + map[string]string{"plain": "plain SQL (psql)", "custom": "-Fc (pg_restore -j 2)"}[kind]
			drop := func(t *testing.T) {
				run(t, pgEnv, "psql", "-X", "-q", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS bench", "-c", "DROP DATABASE IF EXISTS bench_restored")
			}
			pgaArgs := []string{bin, "--config", cfg, "restore", "--database", "bench", "--identity", identity, "--into", "bench_restored"}
			manual := fmt.Sprintf("%s cat %s | age -d -i %s | gunzip | psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null", q(rclone), q(object), q(identity))
			if kind == "custom" {
				pgaArgs = append(pgaArgs, "--jobs", "2")
				tmp := filepath.Join(work, "tmp", "bench.dump")
				manual = fmt.Sprintf("%s cat %s | age -d -i %s | gunzip > %s\npg_restore -j 2 -C -d postgres %s\nrm %s", q(rclone), q(object), q(identity), q(tmp), q(tmp), q(tmp))
			}
			cases = append(cases,
				&benchCase{group: group, name: "pgarchive restore --into", kind: "restore", bytes: fi.Size(), argv: pgaArgs,
					env: append(pgEnv, "PGARCHIVE_LOG=stderr"), setup: drop, cleanup: drop},
				&benchCase{group: group, name: "rclone cat | age -d | gunzip | " + map[string]string{"plain": "psql", "custom": "file; pg_restore -j 2"}[kind], kind: "restore", bytes: fi.Size(),
					argv: []string{"bash", "-c", "set -euo pipefail\n" + manual}, env: append(pgEnv, rcloneEnv...), setup: drop, cleanup: drop},
			)
		}
		// The source database is gone: each restore recreates "bench" or
		// makes "bench_restored".
		run(t, pgEnv, "psql", "-X", "-q", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS bench")
	}

	results := map[*benchCase]*Result{}
	for _, c := range cases {
		results[c] = &Result{Group: c.group, Case: c.name, Kind: c.kind, Targets: c.targets, Bytes: c.bytes}
		rep.Results = append(rep.Results, results[c])
	}
	// Warm the page cache with every dump: each case then reads from memory.
	run(t, nil, "sh", "-c", "cat "+shellQuote(cache)+"/*/*.sql.gz >/dev/null")

	// strace: the files each push opened for writing and the bytes it
	// wrote there, for the smallest size (the answer does not grow with
	// it); perf: where pgarchive's CPU goes. Before the rounds, so the
	// deadline below accounts for them.
	var smallest []*benchCase
	for _, c := range cases {
		if c.kind == "push" && c.group == cases[0].group {
			smallest = append(smallest, c)
		}
	}
	rep.Temp = tempBytes(t, smallest, work, localRoot)
	fmt.Print(rep.Temp)
	if os.Getenv("PGARCHIVE_BENCH_PROFILE") == "1" {
		for _, c := range cases {
			if c.name == "pgarchive → MinIO" && (c.group == cases[0].group || strings.Contains(c.group, "pgbench")) {
				rep.Profile += profile(t, c, work) + "\n"
			}
		}
		fmt.Print(rep.Profile)
	}
	rep.Machine, rep.Versions = machine(bin, rclone)
	if b, err := os.ReadFile(filepath.Join(out, "partsize.txt")); err == nil {
		rep.PartSize = string(b)
	}

	// PGARCHIVE_BENCH_DEADLINE (Unix seconds): start no round that the
	// last one's duration says would end after it.
	var deadline time.Time
	if d := envInt(t, "PGARCHIVE_BENCH_DEADLINE", 0); d > 0 {
		deadline = time.Unix(int64(d), 0)
	}
	tf := filepath.Join(work, "time.txt")
	rep.Rounds = 0
	for r := 0; r < rounds; r++ {
		began := time.Now()
		// Round-robin, starting one case later each round so no case
		// always follows the same neighbour.
		for i := range cases {
			c := cases[(i+r)%len(cases)]
			s := measure(t, c, tf, servers)
			res := results[c]
			res.Samples = append(res.Samples, s)
			fmt.Printf("round %d/%d  %-34s %-48s %7.2f s %8.1f MiB/s %7.1f MiB RSS %6.1f CPU-s %6.1f server CPU-s %10d B written (%d in targets)\n",
				r+1, rounds, c.group, c.name, s.Wall, float64(c.bytes)/(1<<20)/s.Wall, float64(s.MaxRSSKiB)/1024, s.CPU, s.ServerCPU, s.Written, s.InTargets)
		}
		rep.Rounds = r + 1
		rep.Finished = time.Now().UTC()
		writeReport(t, rep, out)
		if r+1 < rounds && !deadline.IsZero() && time.Now().Add(time.Since(began)).After(deadline) {
			fmt.Printf("stopping after %d of %d rounds: another round (%v) would end after the deadline %s\n",
				r+1, rounds, time.Since(began).Round(time.Second), deadline.UTC().Format("15:04:05 UTC"))
			rep.Note = fmt.Sprintf("Stopped after %d of the %d rounds asked for: another round would have run past the --until time.", r+1, rounds)
			writeReport(t, rep, out)
			break
		}
	}
	fmt.Println(markdown(rep))
}

// writeReport writes results.json to out and the page to
// $PGARCHIVE_BENCH_DOC, after every round, so an interrupted run leaves
// the rounds it finished.
func writeReport(t *testing.T, rep *Report, out string) {
	t.Helper()
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if doc := os.Getenv("PGARCHIVE_BENCH_DOC"); doc != "" {
		if err := os.WriteFile(doc, []byte(markdown(rep)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// measure runs c once under GNU time and reads the servers' CPU counters
// around it.
func measure(t *testing.T, c *benchCase, timeFile string, servers []int) Sample {
	t.Helper()
	if c.setup != nil {
		c.setup(t)
	}
	_ = exec.Command("sync").Run() // the previous case's writeback stays out of this one
	kids := childrenOf(servers)
	before := cpuOf(servers)
	cmd := exec.Command("/usr/bin/time", append([]string{"-v", "-o", timeFile}, c.argv...)...)
	cmd.Env = c.env
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	// A server counts a child's CPU (sshd's session, a PostgreSQL backend)
	// once it has reaped it: wait for that, up to 10 s.
	for deadline := time.Now().Add(10 * time.Second); childrenOf(servers) > kids && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	after := cpuOf(servers)
	if err != nil {
		t.Fatalf("%s / %s: %v\n%s", c.group, c.name, err, tailString(outb.String(), 3000))
	}
	s := Sample{Wall: wall, ServerCPU: after - before}
	tv, err := os.ReadFile(timeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(tv), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ": ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch k {
		case "User time (seconds)", "System time (seconds)":
			s.CPU += f
		case "Maximum resident set size (kbytes)":
			s.MaxRSSKiB = int64(f)
		case "File system outputs":
			s.Written = int64(f) * 512
		}
	}
	if c.localTarget != "" {
		_ = filepath.Walk(c.localTarget, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				// Written counts whole pages (4 KiB) as the kernel dirties them.
				s.InTargets += (fi.Size() + 4095) &^ 4095
			}
			return nil
		})
	}
	if c.cleanup != nil {
		c.cleanup(t)
	}
	return s
}

// serverPIDs finds the server processes whose command line names one of
// dirs: MinIO's data directory, sshd's config, postgres' data directory.
func serverPIDs(t *testing.T, dirs ...string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		found := 0
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil || !strings.Contains(string(cl), d) {
				continue
			}
			// The server itself, not a child (the postmaster's children
			// carry no data directory on their command line anyway).
			exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
			if strings.Contains(exe, "minio") || strings.Contains(exe, "sshd") || strings.HasSuffix(exe, "/postgres") {
				pids = append(pids, pid)
				found++
			}
		}
		if found == 0 {
			t.Fatalf("no server process with %q on its command line", d)
		}
	}
	return pids
}

// cpuOf sums utime, stime, cutime and cstime of pids: the server's own CPU
// and that of the children it has reaped (sshd's sessions, PostgreSQL's
// backends), in seconds.
func cpuOf(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// Fields after the command: state is index 0, utime 11 … cstime 14.
		for i := 11; i <= 14; i++ {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return float64(ticks) / 100 // USER_HZ
}

// childrenOf counts the live children of pids.
func childrenOf(pids []int) int {
	n := 0
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if err == nil {
			n += len(strings.Fields(string(b)))
		}
	}
	return n
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tailString(errb.String(), 3000))
	}
	return string(out)
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
	default:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 0, 64) + " MiB"
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
