package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fileWrites runs case c once under strace and returns the bytes it wrote
// with write(2) and pwrite64(2) to each regular file (not sockets, pipes or
// terminals), and every file it opened for writing: the direct answer to
// "temporary files", where the kernel's write_bytes also counts metadata
// pages (inode and directory blocks) the process dirtied.
func fileWrites(t *testing.T, c *benchCase, work string) (written map[string]int64, opened []string, err error) {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		return nil, nil, fmt.Errorf("strace is not installed")
	}
	log := filepath.Join(work, "strace.txt")
	defer os.Remove(log)
	cmd := exec.Command("strace", append([]string{"-f", "-y", "-qq", "-e", "trace=openat,write,pwrite64,writev", "-o", log, "--"}, c.argv...)...)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("strace: %v\n%s", err, tailString(string(out), 1000))
	}
	if c.cleanup != nil {
		c.cleanup(t)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		return nil, nil, err
	}
	// With -f, a call another thread interrupts is logged in two lines:
	// "PID write(11</path>, ... <unfinished ...>", later
	// "PID <... write resumed>...) = N". Join them per PID first.
	pending := map[string]string{}
	var calls []string
	for _, l := range strings.Split(string(b), "\n") {
		pid, rest, _ := strings.Cut(l, " ")
		switch {
		case strings.HasSuffix(l, "<unfinished ...>"):
			pending[pid] = pid + " " + strings.TrimSuffix(rest, "<unfinished ...>")
		case strings.HasPrefix(rest, "<... "):
			if head, ok := pending[pid]; ok {
				_, tail, _ := strings.Cut(rest, " resumed>")
				calls = append(calls, head+tail)
				delete(pending, pid)
			}
		default:
			calls = append(calls, l)
		}
	}
	wr := regexp.MustCompile(`(?:write|pwrite64|writev)\(\d+<(/[^>]*)>.*\)\s+=\s+(\d+)`)
	op := regexp.MustCompile(`openat\(AT_FDCWD<[^>]*>, "([^"]+)", ([A-Z_|]+)`)
	written = map[string]int64{}
	seen := map[string]bool{}
	for _, l := range calls {
		if m := wr.FindStringSubmatch(l); m != nil {
			if fi, err := os.Stat(m[1]); err == nil && !fi.Mode().IsRegular() {
				continue
			}
			if strings.HasPrefix(m[1], "/dev/") {
				continue
			}
			n, _ := strconv.ParseInt(m[2], 10, 64)
			written[m[1]] += n
		}
		if m := op.FindStringSubmatch(l); m != nil && (strings.Contains(m[2], "O_WRONLY") || strings.Contains(m[2], "O_RDWR") || strings.Contains(m[2], "O_CREAT")) {
			if !seen[m[1]] && !strings.HasPrefix(m[1], "/dev/") {
				seen[m[1]] = true
				opened = append(opened, m[1])
			}
		}
	}
	sort.Strings(opened)
	return written, opened, nil
}

// tempBytes reports, for the push cases that write to no local target,
// what strace saw them write to local files.
func tempBytes(t *testing.T, cases []*benchCase, work, localRoot string) string {
	t.Helper()
	var b strings.Builder
	for _, c := range cases {
		// pgarchive's cases only: strace -f would wait for the gpg-agent
		// the seed script starts, and that script's temporary file shows
		// in its write_bytes anyway.
		if c.kind != "push" || !strings.HasPrefix(c.name, "pgarchive") {
			continue
		}
		written, opened, err := fileWrites(t, c, work)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", c.name, err)
			continue
		}
		var outside int64
		for p, n := range written {
			if !strings.HasPrefix(p, localRoot+"/") {
				outside += n
			}
		}
		fmt.Fprintf(&b, "%s: %d bytes written to files outside its targets\n", c.name, outside)
		for _, p := range opened {
			where := ""
			if strings.HasPrefix(p, localRoot+"/") {
				where = " (local target)"
			}
			fmt.Fprintf(&b, "    opened for writing: %s%s, %d bytes written\n", p, where, written[p])
		}
	}
	return b.String()
}
