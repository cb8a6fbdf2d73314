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

// profileGroups sorts perf's symbols into what the issue asks about.
var profileGroups = []struct{ name, re string }{
	{"MD5 (crypto/md5)", `md5`},
	{"SHA-256 (crypto/sha256, crypto/internal/fips140/sha256)", `sha256`},
	{"age's ChaCha20-Poly1305", `chacha|poly1305`},
	{"gzip decompression for the content check (inflate, crc32)", `flate|crc32`},
	{"kernel (syscalls, network, page cache)", `^\[k\]`},
	{"Go runtime (GC, scheduler, memmove)", `runtime\.`},
}

// profile runs case c once under perf record and returns perf's flat
// report: the share of samples per group above, then the top symbols.
func profile(t *testing.T, c *benchCase, work string) string {
	t.Helper()
	if _, err := exec.LookPath("perf"); err != nil {
		return "perf is not installed: no profile\n"
	}
	data := filepath.Join(work, "perf.data")
	cmd := exec.Command("perf", append([]string{"record", "-F", "997", "-o", data, "--"}, c.argv...)...)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("perf record failed: %v\n%s\n", err, tailString(string(out), 1000))
	}
	if c.cleanup != nil {
		c.cleanup(t)
	}
	out, err := exec.Command("perf", "report", "-i", data, "--no-children", "--sort", "symbol", "--stdio", "-g", "none").Output()
	os.Remove(data)
	if err != nil {
		return fmt.Sprintf("perf report failed: %v\n", err)
	}
	line := regexp.MustCompile(`^\s*([0-9.]+)%\s+(.*?)\s*(-\s+-\s*)?$`)
	type sym struct {
		pct  float64
		name string
	}
	var syms []sym
	for _, l := range strings.Split(string(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		p, _ := strconv.ParseFloat(m[1], 64)
		syms = append(syms, sym{p, strings.TrimSpace(m[2])})
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].pct > syms[j].pct })
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s: share of pgarchive's CPU samples\n", c.group, c.name)
	for _, g := range profileGroups {
		re := regexp.MustCompile(g.re)
		var sum float64
		for _, s := range syms {
			if re.MatchString(strings.ToLower(s.name)) || re.MatchString(s.name) {
				sum += s.pct
			}
		}
		fmt.Fprintf(&b, "  %5.1f%%  %s\n", sum, g.name)
	}
	b.WriteString("top symbols:\n")
	for i, s := range syms {
		if i == 15 {
			break
		}
		fmt.Fprintf(&b, "  %5.1f%%  %s\n", s.pct, s.name)
	}
	return b.String()
}
