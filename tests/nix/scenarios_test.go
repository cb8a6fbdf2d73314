package nixeval

// The VM tests' shell steps (nix/tests/scenarios), which the container
// test runs against Debian too: the VM tests call nothing else, every
// script parses, no command pipes into a reader that stops early (the test
// driver's `set -euo pipefail` fails such a pipe with 141), and the steps
// that need neither systemd nor PostgreSQL run here on fixtures.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	vmTestDir    = "../../nix/tests"
	scenarioDir  = "../../nix/tests/scenarios"
	ageRecipient = "../../nix/tests/keys/age-recipient.txt"
	ageIdentity  = "../../nix/tests/keys/age-identity.txt"
)

// earlyExitPipeRe is a pipe into a reader that may stop before the writer
// is done: grep -q (or --quiet, -qF...), head.
var earlyExitPipeRe = regexp.MustCompile(`\|\s*(grep(\s+-[A-Za-z]+)*\s+(-[A-Za-z]*q[A-Za-z]*|--quiet)\b|head\b)`)

func TestNoPipeIntoEarlyExit(t *testing.T) {
	nixFiles, _ := filepath.Glob(filepath.Join(vmTestDir, "*.nix"))
	scripts, _ := filepath.Glob(filepath.Join(scenarioDir, "*.sh"))
	if len(nixFiles) < 3 || len(scripts) < 2 {
		t.Fatalf("found %d VM test files and %d scenario scripts", len(nixFiles), len(scripts))
	}
	for _, f := range append(nixFiles, scripts...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := earlyExitPipeRe.FindString(line); m != "" {
				t.Errorf("%s:%d: %q pipes into %q, which exits 141 under set -euo pipefail: read the whole stream into a file first",
					f, i+1, strings.TrimSpace(line), m)
			}
		}
	}
}

// stepCallRe is a command a VM test runs on a node; what follows the
// parenthesis must be a call of step() (common.nix).
var stepCallRe = regexp.MustCompile(`\.(succeed|fail|execute|wait_until_succeeds|wait_until_fails)\(\s*`)

// stepRe is a call of step(): the script and the step it runs.
var stepRe = regexp.MustCompile(`step\(\s*"([^"]+)",\s*"([^"]+)"`)

// TestVMTestsOnlyRunScenarioSteps: every command of a VM test is a step of
// a scenario script, and every step named exists in its script.
func TestVMTestsOnlyRunScenarioSteps(t *testing.T) {
	nixFiles, _ := filepath.Glob(filepath.Join(vmTestDir, "*.nix"))
	steps := 0
	for _, f := range nixFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		for _, loc := range stepCallRe.FindAllStringIndex(src, -1) {
			if rest := src[loc[1]:]; !strings.HasPrefix(rest, "step(") {
				line := strings.Count(src[:loc[0]], "\n") + 1
				t.Errorf("%s:%d: a command that is not a scenario step: %.60q", f, line, src[loc[0]:])
			}
		}
		for _, m := range stepRe.FindAllStringSubmatch(src, -1) {
			steps++
			script, name := m[1], m[2]
			body, err := os.ReadFile(filepath.Join(scenarioDir, script))
			if err != nil {
				t.Errorf("%s: step(%q, %q): %v", f, script, name, err)
				continue
			}
			fn := "step_" + strings.ReplaceAll(name, "-", "_") + "() {"
			if !bytes.Contains(body, []byte("\n"+fn)) {
				t.Errorf("%s: step(%q, %q): %s has no %s", f, script, name, script, fn)
			}
		}
	}
	if steps < 20 {
		t.Errorf("only %d scenario steps in the VM tests", steps)
	}
}

func TestScenarioScriptsParse(t *testing.T) {
	scripts, _ := filepath.Glob(filepath.Join(scenarioDir, "*.sh"))
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck not installed: only bash -n")
		return
	}
	// From their directory, where `# shellcheck source=lib.sh` finds it.
	args := []string{"-x", "-s", "bash"}
	for _, s := range scripts {
		args = append(args, filepath.Base(s))
	}
	cmd := exec.Command("shellcheck", args...)
	cmd.Dir = scenarioDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// runStep runs one scenario step with env added to the test's environment
// and returns its standard output and error.
func runStep(t *testing.T, env []string, script string, args ...string) (string, error) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(scenarioDir, script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{path}, args...)...)
	cmd.Env = append(append(os.Environ(), "TMPDIR="+t.TempDir()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), err
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func manifestJSON(t *testing.T, object, db string) string {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{"version": 1, "database": db, "object": object}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestArchiveSteps runs archives.sh on a store laid out as the object
// layout says, and on ones that are not whole.
func TestArchiveSteps(t *testing.T) {
	store := t.TempDir()
	env := []string{"SCENARIO_ARCHIVES=" + store}
	dir := filepath.Join(store, "db1")
	old := "db1_20260101T011500Z.sql.gz.age"
	writeFile(t, filepath.Join(dir, old), "x")
	writeFile(t, filepath.Join(dir, old+".json"), manifestJSON(t, old, "db1"))

	out, err := runStep(t, env, "archives.sh", "complete", "db1", "1")
	if err != nil || strings.TrimSpace(out) != filepath.Join(dir, old) {
		t.Errorf("complete db1 1: %q, %v", out, err)
	}
	if _, err := runStep(t, env, "archives.sh", "complete", "db1", "2"); err == nil {
		t.Error("complete db1 2 passed with one archive")
	}
	if _, err := runStep(t, env, "archives.sh", "complete", "db2"); err == nil {
		t.Error("complete db2 passed without a directory")
	}

	// The newest archive: a real age file of a gzipped dump.
	newest := "db1_20260102T011500Z.sql.gz.age"
	if _, err := exec.LookPath("age"); err != nil {
		t.Skip("age not installed: decrypts not run")
	}
	var gz bytes.Buffer
	gzip := exec.Command("gzip", "-c")
	gzip.Stdin, gzip.Stdout = strings.NewReader("--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.t (id integer);\n"), &gz
	if err := gzip.Run(); err != nil {
		t.Fatal(err)
	}
	age := exec.Command("age", "-R", ageRecipient, "-o", filepath.Join(dir, newest))
	age.Stdin = &gz
	if out, err := age.CombinedOutput(); err != nil {
		t.Fatalf("age: %v\n%s", err, out)
	}
	if _, err := runStep(t, env, "archives.sh", "complete", "db1"); err == nil {
		t.Error("complete db1 passed with an archive without its manifest")
	}
	writeFile(t, filepath.Join(dir, newest+".json"), manifestJSON(t, newest, "db1"))
	if out, err := runStep(t, env, "archives.sh", "complete", "db1", "2"); err != nil {
		t.Errorf("complete db1 2: %v\n%s", err, out)
	}
	env = append(env, "SCENARIO_IDENTITY="+ageIdentity)
	if _, err := runStep(t, env, "archives.sh", "decrypts", "db1", "CREATE TABLE public.t"); err != nil {
		t.Errorf("decrypts: %v", err)
	}
	if _, err := runStep(t, env, "archives.sh", "decrypts", "db1", "CREATE TABLE public.u"); err == nil {
		t.Error("decrypts found text that is not in the dump")
	}
	// A manifest of another archive does not count.
	writeFile(t, filepath.Join(dir, newest+".json"), manifestJSON(t, old, "db1"))
	if _, err := runStep(t, env, "archives.sh", "complete", "db1"); err == nil {
		t.Error("complete passed with a manifest naming another object")
	}
}

// TestNoticeSteps runs notify.sh received and pinged on a webhook
// directory as the VM test's receiver keeps it.
func TestNoticeSteps(t *testing.T) {
	hooks := t.TempDir()
	env := []string{"SCENARIO_WEBHOOK_DIR=" + hooks}
	if _, err := runStep(t, env, "notify.sh", "received", "db1", "db", "offsite"); err == nil {
		t.Error("received passed with no POST")
	}
	writeFile(t, filepath.Join(hooks, "0001"), "/ping/push-db1/start\n")
	writeFile(t, filepath.Join(hooks, "0002"), "/ping/push-db1/fail?rid=1\nfailed\n")
	writeFile(t, filepath.Join(hooks, "0003"), "/notify\npgarchive: postgresqlBackup-db1.service failed on db\n"+
		"result: exit-code (ExecStartPost pgarchive exited with status 1)\nfailed targets: offsite\n\nlast journal lines of this run:\n...\n")
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"received", "db1", "db", "offsite"}, true},
		{[]string{"received", "db1", "db", "nas"}, false},
		{[]string{"received", "db2", "db", "offsite"}, false},
		{[]string{"pinged", "/ping/push-db1/fail"}, true},
		{[]string{"pinged", "/ping/push-db1/start"}, true},
		{[]string{"pinged", "/ping/push-db2/start"}, false},
	} {
		_, err := runStep(t, env, "notify.sh", c.args...)
		if (err == nil) != c.ok {
			t.Errorf("notify.sh %s: error %v, want success %v", strings.Join(c.args, " "), err, c.ok)
		}
	}
	// The container test's units have other names.
	debian := append(env, "SCENARIO_DUMP_UNIT=pgarchive-dump@%s.service")
	if _, err := runStep(t, debian, "notify.sh", "received", "db1", "db", "offsite"); err == nil {
		t.Error("received passed for a notice of another unit")
	}
}

// TestMetricsStep runs jobs.sh metrics on textfiles.
func TestMetricsStep(t *testing.T) {
	prom := filepath.Join(t.TempDir(), "pgarchive.prom")
	env := []string{"SCENARIO_METRICS=" + prom, "SCENARIO_METRICS_DIR_STAT="}
	line := func(op, db, v string) string {
		return fmt.Sprintf("pgarchive_last_run_success{database=%q,host=\"db\",operation=%q,target=\"nas\"} %s\n", db, op, v)
	}
	for _, c := range []struct {
		name, text string
		ok         bool
	}{
		{"every job, drill passed", line("push", "db1", "1") + line("verify", "db1", "1") + line("drill", "db1", "1") + line("prune", "db1", "1"), true},
		{"drill failed", line("push", "db1", "1") + line("verify", "db1", "1") + line("drill", "db1", "0") + line("prune", "db1", "1"), false},
		{"no prune", line("push", "db1", "1") + line("verify", "db1", "1") + line("drill", "db1", "1"), false},
		{"no drill of db1", line("push", "db1", "1") + line("verify", "db1", "1") + line("drill", "db2", "1") + line("prune", "db1", "1"), false},
	} {
		writeFile(t, prom, c.text)
		if _, err := runStep(t, env, "jobs.sh", "metrics", "db1"); (err == nil) != c.ok {
			t.Errorf("%s: error %v, want success %v", c.name, err, c.ok)
		}
	}
}

func TestUnknownStepIsUsage(t *testing.T) {
	for _, script := range []string{"dump.sh", "jobs.sh", "notify.sh", "archives.sh", "garage.sh"} {
		_, err := runStep(t, nil, script, "no-such-step")
		if err == nil || !strings.Contains(err.Error(), "exit status 2") || !strings.Contains(err.Error(), "usage: "+script) {
			t.Errorf("%s no-such-step: %v, want the usage and exit status 2", script, err)
		}
	}
}

// TestRestoreOutputStep runs dump.sh restore-output with a stand-in for
// pgarchive: the command an administrator types (restore without
// --config), PGUSER only when SCENARIO_PGUSER is set, and the output
// compared with the dump file byte for byte.
func TestRestoreOutputStep(t *testing.T) {
	dir := t.TempDir()
	dumps := filepath.Join(dir, "dumps")
	writeFile(t, filepath.Join(dumps, "db2.sql.gz"), "PGDMP custom dump")
	calls := filepath.Join(dir, "calls")
	stub := filepath.Join(dir, "pgarchive")
	writeFile(t, stub, `#!/bin/bash
echo "PGUSER=${PGUSER-unset} $*" >>`+calls+`
cat "$OUTPUT"
`)
	if err := os.Chmod(stub, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"SCENARIO_PGARCHIVE=" + stub, "SCENARIO_DUMP_DIR=" + dumps, "SCENARIO_IDENTITY=/keys/id.txt"}
	for _, c := range []struct {
		env  []string
		ok   bool
		call string
	}{
		{[]string{"OUTPUT=" + filepath.Join(dumps, "db2.sql.gz")}, true,
			"PGUSER=unset restore --database db2 --identity /keys/id.txt --target garage --output -"},
		{[]string{"OUTPUT=" + filepath.Join(dumps, "db2.sql.gz"), "SCENARIO_PGUSER=postgres"}, true,
			"PGUSER=postgres restore --database db2 --identity /keys/id.txt --target garage --output -"},
		{[]string{"OUTPUT=" + stub}, false, ""},
	} {
		os.Remove(calls)
		_, err := runStep(t, append(append([]string{}, env...), c.env...), "dump.sh", "restore-output", "db2", "garage")
		if (err == nil) != c.ok {
			t.Errorf("%q: error %v, want success %v", c.env, err, c.ok)
		}
		if c.call != "" {
			got, _ := os.ReadFile(calls)
			if strings.TrimSpace(string(got)) != c.call {
				t.Errorf("%q: ran %q, want %q", c.env, strings.TrimSpace(string(got)), c.call)
			}
		}
	}
}
