package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers for tests/units_test.go: a Debian root file system with
// PostgreSQL 15, and the hook that runs the VM tests' scenario scripts.

// postgresRootPackages is what DESIGN.md's Testing section debootstraps.
const postgresRootPackages = "systemd,systemd-sysv,dbus,postgresql-15"

// postgresRoot returns a cached Debian 12 root file system with systemd
// and PostgreSQL 15 (Debian's cluster 15/main, started at boot). It is
// bootstrapRoot's root when that one has PostgreSQL, else a root of its
// own beside it, built once with debootstrap (about a minute) under a
// lock and renamed into place when whole.
func postgresRoot(t *testing.T) string {
	t.Helper()
	const postgres = "usr/lib/postgresql/15/bin/postgres"
	if _, err := os.Stat(filepath.Join(nspawnRoot(), postgres)); err == nil {
		return nspawnRoot()
	}
	return debootstrapRoot(t, nspawnRoot()+"-postgresql", postgresRootPackages, postgres)
}

// journalEntries runs journalctl -o json in the container with args and
// returns the entries.
func (c *container) journalEntries(args ...string) []map[string]any {
	c.t.Helper()
	out := c.mustExec("journalctl", append([]string{"--no-pager", "-o", "json"}, args...)...)
	var entries []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line == "-- No entries --" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			c.t.Fatalf("journalctl -o json: %v: %q", err, line)
		}
		entries = append(entries, e)
	}
	return entries
}

// waitInactive waits until unit has left activating/active, up to d.
func (c *container) waitInactive(unit string, d time.Duration) map[string]string {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := c.show(unit, "ActiveState", "Result")
		if (s["ActiveState"] != "activating" && s["ActiveState"] != "active") || time.Now().After(deadline) {
			return s
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exposure is the overall score `systemd-analyze security` gives unit.
var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) `)

func (c *container) exposure(unit string) (float64, string) {
	c.t.Helper()
	out, _ := c.execOutput("systemd-analyze", "security", "--no-pager", unit)
	m := exposureRe.FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("systemd-analyze security %s:\n%s", unit, out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v, out
}

// ---- Step 6: the VM tests' scenario scripts, run in the container ----
//
// nix/tests/scenarios holds every shell step of the NixOS VM tests, as
// steps of scripts (bash dump.sh push db1) that the VM tests call on
// their nodes. scenarioPhase runs a list of those steps in the booted
// container, each under `bash -euo pipefail` as the NixOS test driver
// runs commands, with the environment variables the scripts document at
// their top (lib.sh's header, and a script's own) taken from vars. A
// documented variable that vars lacks fails the phase, naming it: the
// scripts' defaults are the NixOS VM's, not the container's.
const scenarioDir = "nix/tests/scenarios"

// scenarioStep is one step: a script, its arguments, and whether to
// retry it until it passes (the VM test's wait_until_succeeds).
type scenarioStep struct {
	script string
	args   []string
	retry  bool
}

func step(script string, args ...string) scenarioStep {
	return scenarioStep{script: script, args: args}
}

func retried(script string, args ...string) scenarioStep {
	return scenarioStep{script: script, args: args, retry: true}
}

// documentedVar is a variable's line in a script's Environment section:
// "#   SCENARIO_CONFIG   the config every unit reads   /etc/...".
var documentedVar = regexp.MustCompile(`^#\s{1,4}([A-Z][A-Z0-9_]{2,})\s`)

// scenarioVars returns the variables a script documents in the
// "Environment" section of its leading comment block (after the #! line,
// up to the first line of code): from the section's first line to the
// next bare "#".
func scenarioVars(script string) []string {
	var out []string
	in := false
	for i, line := range strings.Split(script, "\n") {
		line = strings.TrimRight(line, " \t")
		if i == 0 && strings.HasPrefix(line, "#!") || line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		switch {
		case strings.HasPrefix(line, "# Environment"):
			in = true
		case line == "#":
			in = false
		case in:
			if m := documentedVar.FindStringSubmatch(line); m != nil && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// scenarioPhase runs steps in the container, where the scenario
// directory of moduleRoot is bound at inContainer, as subtests named
// phase/script-step. It returns false, having logged why, when the
// directory does not exist (yet).
func scenarioPhase(t *testing.T, c *container, moduleRoot, inContainer, phase string, vars map[string]string, steps []scenarioStep) bool {
	t.Helper()
	dir := filepath.Join(moduleRoot, scenarioDir)
	if !dirExists(dir) {
		t.Logf("step 6: no %s yet, so no scenario script ran", scenarioDir)
		return false
	}
	documented := map[string][]string{}
	for _, st := range steps {
		if _, ok := documented[st.script]; ok {
			continue
		}
		var names []string
		for _, f := range []string{"lib.sh", st.script} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("step 6: %v", err)
			}
			names = append(names, scenarioVars(string(data))...)
		}
		documented[st.script] = names
	}
	for _, st := range steps {
		name := phase + "/" + strings.TrimSuffix(st.script, ".sh") + " " + strings.Join(st.args, " ")
		ok := t.Run(name, func(t *testing.T) {
			env := []string{}
			var missing []string
			for _, v := range documented[st.script] {
				val, ok := vars[v]
				if !ok {
					if !slices.Contains(missing, v) {
						missing = append(missing, v)
					}
					continue
				}
				env = append(env, v+"="+val)
			}
			if len(missing) > 0 {
				t.Fatalf("%s documents %s, which this test does not set (it sets %s)",
					st.script, strings.Join(missing, ", "), strings.Join(sortedKeys(vars), ", "))
			}
			args := append(env, "bash", "-euo", "pipefail", inContainer+"/"+st.script)
			args = append(args, st.args...)
			deadline := time.Now().Add(60 * time.Second)
			for {
				start := time.Now()
				out, err := c.execOutput("env", args...)
				if err == nil {
					t.Logf("bash %s %s: passed in %v", st.script, strings.Join(st.args, " "), time.Since(start).Round(time.Millisecond))
					return
				}
				if !st.retry || time.Now().After(deadline) {
					t.Fatalf("bash %s %s: %v\n%s", st.script, strings.Join(st.args, " "), err, lastLines(out, 60))
				}
				time.Sleep(time.Second)
			}
		})
		if !ok {
			// Later steps build on this one.
			t.Errorf("step 6: %s failed; the rest of phase %s did not run", name, phase)
			break
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
