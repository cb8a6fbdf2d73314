package nixeval

// The `pgarchive` command services.pgarchive puts on the PATH
// (createWrapper): a script that runs the package's program with the one
// config and, for root, as the service user with the secrets the units
// load handed over in $CREDENTIALS_DIRECTORY. The evaluation tests read the
// script eval.nix reports; TestWrapperRuns runs it here, as root, with a
// stub in place of the program (and once the real one), since what it
// does (setpriv, copies, the environment) needs no NixOS.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

const serviceUser = "postgres"

// scriptVar returns the value a line `name=value` of script sets (the
// first), unquoted as the module writes it (lib.escapeShellArg leaves
// store paths and plain words bare).
func scriptVar(t *testing.T, script, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=(.*)$`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("the wrapper sets no %s=", name)
	}
	return strings.Trim(m[1], "'")
}

// scriptSecrets returns the "<id> <path>" pairs of the wrapper's secrets=( ).
func scriptSecrets(t *testing.T, script string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)\nsecrets=\(\n(.*?)\)\n`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("the wrapper has no secrets=( ) list")
	}
	var pairs []string
	for _, l := range strings.Split(strings.TrimSpace(m[1]), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			pairs = append(pairs, strings.Trim(f[0], "'")+" "+strings.Trim(f[1], "'"))
		} else if strings.TrimSpace(l) != "" {
			t.Errorf("secrets=( ): line %q is not an id and a path", l)
		}
	}
	sort.Strings(pairs)
	return pairs
}

// TestWrapperOnPath: the system's `pgarchive` is the wrapper (and nothing
// else of pgarchive is on the PATH); it runs the package the units run,
// names the one checked config and no other, switches to the service user
// with setpriv, and hands over exactly the secrets the config names, by
// the credential ids the units load them under.
func TestWrapperOnPath(t *testing.T) {
	ev := evaluate(t)
	for _, name := range sortedKeys(ev.Good) {
		r := ev.Good[name]
		if name == "noWrapper" {
			if r.Wrapper != nil || !equal(r.SystemPackages, []string{r.Package}) {
				t.Errorf("noWrapper: wrapper %v, systemPackages %q: want only the package %s", r.Wrapper, r.SystemPackages, r.Package)
			}
			continue
		}
		w := r.Wrapper
		if w == nil {
			t.Errorf("%s: no wrapper on the PATH (systemPackages %q)", name, r.SystemPackages)
			continue
		}
		if w.MainProgram != "pgarchive" || !equal(r.SystemPackages, []string{w.Path}) {
			t.Errorf("%s: systemPackages %q, wrapper %s (bin/%s): want the wrapper alone, as bin/pgarchive", name, r.SystemPackages, w.Path, w.MainProgram)
		}
		if got, want := scriptVar(t, w.Script, "real"), r.Package+"/bin/pgarchive"; got != want {
			t.Errorf("%s: the wrapper runs %s, want the units' %s", name, got, want)
		}
		if got := scriptVar(t, w.Script, "config"); got != r.ConfigFile.Path {
			t.Errorf("%s: the wrapper's config is %s, want the one config %s", name, got, r.ConfigFile.Path)
		}
		for _, p := range storeTOMLRe.FindAllString(w.Script, -1) {
			if p != r.ConfigFile.Path {
				t.Errorf("%s: the wrapper names %s, not the one config %s", name, p, r.ConfigFile.Path)
			}
		}
		if got := scriptVar(t, w.Script, "user"); got != serviceUser {
			t.Errorf("%s: the wrapper runs as %q, want the units' %q", name, got, serviceUser)
		}
		for _, want := range []string{
			`export PGARCHIVE_CONFIG="${PGARCHIVE_CONFIG:-$config}"`,
			`setpriv --reuid="$user" --regid="$group" --init-groups --inh-caps=-all --no-new-privs --reset-env`,
			`"CREDENTIALS_DIRECTORY=$dir"`,
		} {
			if !strings.Contains(w.Script, want) {
				t.Errorf("%s: the wrapper lacks %s", name, want)
			}
		}
		c := parseRendered(t, name, r)
		if c == nil {
			continue
		}
		var want []string
		for _, s := range c.Secrets() {
			want = append(want, s.ID+" "+s.Path)
		}
		sort.Strings(want)
		if got := scriptSecrets(t, w.Script); !equal(got, want) {
			t.Errorf("%s: the wrapper hands over %q, want the config's secrets %q", name, got, want)
		}
	}
}

// TestWrapperScriptChecks runs what pkgs.writeShellApplication's build
// runs on the script: bash -n and shellcheck.
func TestWrapperScriptChecks(t *testing.T) {
	for _, name := range []string{"example", "observability", "backupAll"} {
		w := evaluate(t).Good[name].Wrapper
		file := filepath.Join(t.TempDir(), "pgarchive")
		if err := os.WriteFile(file, []byte(w.Script), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", file).CombinedOutput(); err != nil {
			t.Errorf("%s: bash -n: %v\n%s", name, err, out)
		}
		if _, err := exec.LookPath("shellcheck"); err != nil {
			t.Log("shellcheck not installed: only bash -n")
			continue
		}
		if out, err := exec.Command("shellcheck", file).CombinedOutput(); err != nil {
			t.Errorf("%s: shellcheck: %v\n%s", name, err, out)
		}
	}
}

// stubProgram stands in for the program: it reports who it runs as, with
// which environment and arguments, the credentials it finds, whether it
// can read the original secret files (listed in originals beside it), and
// exits 3.
const stubProgram = `#!/bin/bash
echo "user=$(id -un)"
echo "home=$HOME"
echo "config=${PGARCHIVE_CONFIG-}"
echo "creds=${CREDENTIALS_DIRECTORY-}"
echo "pghost=${PGHOST-}"
echo "foo=${FOO-}"
echo "pwd=$PWD"
grep -E '^(NoNewPrivs|CapEff):' /proc/self/status | while read -r k v; do echo "${k%:}=$v"; done
for a in "$@"; do echo "arg=$a"; done
if [ -n "${CREDENTIALS_DIRECTORY-}" ]; then
	for f in "$CREDENTIALS_DIRECTORY"/*; do
		[ -e "$f" ] && echo "cred=${f##*/} $(stat -c '%a %U' "$f") $(cat "$f")"
	done
fi
while read -r f; do
	if cat "$f" >/dev/null 2>&1; then echo "reads=$f"; fi
done <"$(dirname "$0")/originals"
exit 3
`

// wrapperRun is what stubProgram reported, by key.
type wrapperRun map[string][]string

func (r wrapperRun) one(key string) string {
	if v := r[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// wrapperFixture is the wrapper of one evaluated case, rewritten to run
// here: this machine's bash, the program prog, the config a real file, and
// the secrets files in a root-only directory with the content
// "secret of <id>". The store paths of coreutils and util-linux it puts
// first in PATH do not exist here, so the system's tools run.
type wrapperFixture struct {
	dir, script, config, prog string
	secrets                   map[string]string // id -> the path the config names
}

func newWrapperFixture(t *testing.T, r *report, prog string) *wrapperFixture {
	t.Helper()
	// The service user must reach the program and the config: a
	// directory everyone may enter, as the store is.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := &wrapperFixture{dir: dir, secrets: map[string]string{}}
	f.prog = filepath.Join(dir, "bin", "pgarchive")
	writeMode(t, f.prog, prog, 0o755)
	f.config = filepath.Join(dir, "config.toml")
	writeMode(t, f.config, string(settingsTOML(t, r.Settings)), 0o644)

	secretDir := filepath.Join(dir, "secrets")
	var originals []string
	script := r.Wrapper.Script
	for _, pair := range scriptSecrets(t, script) {
		id, path, _ := strings.Cut(pair, " ")
		local := filepath.Join(secretDir, strings.TrimPrefix(path, "/"))
		writeMode(t, local, "secret of "+id, 0o600)
		script = strings.ReplaceAll(script, " "+path+"\n", " "+local+"\n")
		f.secrets[id] = local
		originals = append(originals, local)
	}
	if err := os.Chmod(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeMode(t, filepath.Join(dir, "bin", "originals"), strings.Join(originals, "\n")+"\n", 0o644)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	script = regexp.MustCompile(`^#!.*`).ReplaceAllLiteralString(script, "#!"+bash)
	script = regexp.MustCompile(`(?m)^real=.*$`).ReplaceAllLiteralString(script, "real="+f.prog)
	script = regexp.MustCompile(`(?m)^config=.*$`).ReplaceAllLiteralString(script, "config="+f.config)
	f.script = filepath.Join(dir, "wrapper")
	writeMode(t, f.script, script, 0o755)
	return f
}

func writeMode(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// run runs the wrapper in cwd with env added to a small environment, as
// the user asUser (as root when empty), and returns the program's report,
// its output and the exit status.
func (f *wrapperFixture) run(t *testing.T, cwd, asUser string, env []string, args ...string) (wrapperRun, string, int) {
	t.Helper()
	argv := append([]string{f.script}, args...)
	if asUser != "" {
		argv = append([]string{"setpriv", "--reuid=" + asUser, "--regid=" + asUser, "--init-groups", "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = cwd
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/root", "TERM=dumb"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	rep := wrapperRun{}
	for _, l := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.Contains(k, " ") {
			rep[k] = append(rep[k], v)
		}
	}
	return rep, out.String(), status
}

// TestWrapperRuns runs the wrapper of the observability case (every kind
// of secret) here: root's `pgarchive restore --identity key.txt ...` from a
// directory only root can enter reaches the program as the service user,
// without capabilities, with the one config, every secret the units load
// under its credential id (readable by that user only, the originals
// not), the identity file handed over the same way, libpq's variables and
// nothing else of the caller's environment, and its exit status; the
// handed-over copies are gone afterwards. A --config of another file gets
// no system secret; the one config through a link does. Anyone but root
// runs the program as themselves.
func TestWrapperRuns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the wrapper's switch to the service user is not tried")
	}
	svc, err := user.Lookup(serviceUser)
	if err != nil {
		t.Skipf("no user %s here: %v", serviceUser, err)
	}
	for _, tool := range []string{"setpriv", "install", "mktemp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	r := evaluate(t).Good["observability"]
	f := newWrapperFixture(t, r, stubProgram)

	// The administrator's directory, root's only, and the identity in it.
	home := filepath.Join(t.TempDir(), "admin")
	writeMode(t, filepath.Join(home, "key.txt"), "AGE-SECRET-KEY-TEST", 0o600)
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}

	rep, out, status := f.run(t, home, "", []string{"PGHOST=/run/postgresql", "FOO=bar"},
		"restore", "--database", "db1", "--identity", "key.txt", "--into", "db1_restored")
	t.Logf("root: exit %d\n%s", status, out)
	if status != 3 {
		t.Errorf("exit status %d, want the program's 3", status)
	}
	for key, want := range map[string]string{
		"user":       serviceUser,
		"home":       svc.HomeDir,
		"config":     f.config,
		"pghost":     "/run/postgresql",
		"foo":        "",
		"pwd":        home,
		"NoNewPrivs": "1",
		"CapEff":     "0000000000000000",
	} {
		if got := rep.one(key); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	creds := rep.one("creds")
	if !strings.HasPrefix(creds, "/run/pgarchive-cli.") {
		t.Fatalf("CREDENTIALS_DIRECTORY=%q, want a directory /run/pgarchive-cli.*", creds)
	}
	wantArgs := []string{"restore", "--database", "db1", "--identity", creds + "/cli.identity", "--into", "db1_restored"}
	if got := rep["arg"]; !equal(got, wantArgs) {
		t.Errorf("arguments %q, want %q", got, wantArgs)
	}
	wantCreds := []string{"cli.identity 400 " + serviceUser + " AGE-SECRET-KEY-TEST"}
	for id := range f.secrets {
		wantCreds = append(wantCreds, fmt.Sprintf("%s 400 %s secret of %s", id, serviceUser, id))
	}
	sort.Strings(wantCreds)
	if got := rep["cred"]; !equal(got, wantCreds) {
		t.Errorf("credentials %q, want %q", got, wantCreds)
	}
	if len(f.secrets) < 5 {
		t.Errorf("only %d secrets in the observability case", len(f.secrets))
	}
	if got := rep["reads"]; len(got) != 0 {
		t.Errorf("the service user reads the original secret files %q itself: not a test of the hand-over", got)
	}
	if _, err := os.Stat(creds); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the run (%v)", creds, err)
	}

	// Another config: no system secret; the one config through a link
	// (as /etc/pgarchive/config.toml is): every one.
	other := filepath.Join(f.dir, "other.toml")
	writeMode(t, other, "", 0o644)
	link := filepath.Join(f.dir, "link.toml")
	if err := os.Symlink(f.config, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args  []string
		env   []string
		creds int
	}{
		{[]string{"--config", other, "list"}, nil, 0},
		{[]string{"list", "--config=" + other}, nil, 0},
		{[]string{"list"}, []string{"PGARCHIVE_CONFIG=" + other}, 0},
		{[]string{"--config", link, "list"}, nil, len(f.secrets)},
		{[]string{"list"}, []string{"PGARCHIVE_CONFIG=" + link}, len(f.secrets)},
	} {
		rep, out, _ := f.run(t, "/", "", c.env, c.args...)
		if got := len(rep["cred"]); got != c.creds {
			t.Errorf("%q %q: %d credentials handed over, want %d\n%s", c.env, c.args, got, c.creds, out)
		}
	}

	// Not root: the program runs as the caller, with the one config and no
	// credentials.
	rep, out, _ = f.run(t, "/", serviceUser, nil, "list")
	if rep.one("user") != serviceUser || rep.one("creds") != "" || rep.one("config") != f.config {
		t.Errorf("run as %s: want the program as %s with the one config and no credentials:\n%s", serviceUser, serviceUser, out)
	}
}

// TestWrapperRunsProgram runs the real program through the wrapper as
// root: it reads the one config as the service user.
func TestWrapperRunsProgram(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the wrapper's switch to the service user is not tried")
	}
	if _, err := user.Lookup(serviceUser); err != nil {
		t.Skipf("no user %s here: %v", serviceUser, err)
	}
	prog, err := os.ReadFile(harness.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	f := newWrapperFixture(t, evaluate(t).Good["observability"], string(prog))
	_, out, status := f.run(t, "/", "", nil, "check-config")
	if status != 0 || !strings.HasPrefix(out, "config ok:") {
		t.Errorf("pgarchive check-config through the wrapper: exit %d\n%s", status, out)
	}
}

// TestWrapperSignalCleansUp: SIGTERM (or Ctrl-C's SIGINT) to the
// wrapper's process group while the program runs ends both, and the
// copies of the secrets go with them.
func TestWrapperSignalCleansUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the wrapper's switch to the service user is not tried")
	}
	if _, err := user.Lookup(serviceUser); err != nil {
		t.Skipf("no user %s here: %v", serviceUser, err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		out := t.TempDir()
		if err := os.Chmod(out, 0o777); err != nil {
			t.Fatal(err)
		}
		started := filepath.Join(out, "creds")
		f := newWrapperFixture(t, evaluate(t).Good["observability"],
			"#!/bin/bash\necho \"$CREDENTIALS_DIRECTORY\" >"+started+"\nexec sleep 60\n")
		if err := os.Chmod(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(f.script, "list")
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var creds string
		for deadline := time.Now().Add(10 * time.Second); creds == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			data, _ := os.ReadFile(started)
			creds = strings.TrimSpace(string(data))
		}
		if creds == "" {
			cmd.Process.Kill()
			t.Fatalf("%v: the program did not start", sig)
		}
		if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if _, statErr := os.Stat(creds); !os.IsNotExist(statErr) {
			t.Errorf("%v: %s is still there after the wrapper ended (%v)", sig, creds, err)
		} else {
			t.Logf("%v: the wrapper ended (%v) and removed %s", sig, err, creds)
		}
	}
}
