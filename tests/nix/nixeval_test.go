// Package nixeval checks the NixOS module (nix/module.nix) without NixOS.
//
// eval.nix evaluates the module with lib.evalModules beside stand-ins for the
// NixOS options it touches and prints, as JSON, what a system would get: the
// settings rendered to /etc/pgarchive/config.toml and how that file is
// checked at build time, the unit lines added to postgresqlBackup-<db>, the
// job units with their timers and the notifier (jobs_test.go), and the
// assertions that fail. These tests run that evaluation with
// nix-instantiate and check it: the one rendered config, written as TOML,
// must be accepted by internal/config.Parse and by the real
// `pgarchive check-config`; every unit must name that file; secrets must
// keep their host paths in it and reach each unit that reads them as
// LoadCredential=<dotted id>:<host path>; each bad input must fail its
// assertion. wrapper_test.go checks (and runs) the `pgarchive` command the
// module puts on the PATH, readme_test.go README's flake, options_test.go
// docs/options.md, and scenarios_test.go the VM tests' shell steps.
//
// NIXPKGS_LIB names a checkout of nix-community/nixpkgs.lib kept outside the
// repository; without it the tests skip. The real binary is built by
// tests/harness, or taken from PGARCHIVE_BINARY.
package nixeval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/tests/harness"
)

// report is one evaluated configuration (eval.nix's `report`).
type report struct {
	FailedAssertions []string        `json:"failedAssertions"`
	Warnings         []string        `json:"warnings"`
	Settings         json.RawMessage `json:"settings"`
	ConfigFile       struct {
		Path         string  `json:"path"`
		BuildCommand *string `json:"buildCommand"`
		Rendered     string  `json:"rendered"`
	} `json:"configFile"`
	Units map[string]struct {
		Unit       []string `json:"unit"`
		Service    []string `json:"service"`
		Script     string   `json:"script"`
		ScriptArgs string   `json:"scriptArgs"`
		Path       []string `json:"path"`
	} `json:"units"`
	Timers map[string]struct {
		Unit    []string `json:"unit"`
		Timer   []string `json:"timer"`
		Install []string `json:"install"`
	} `json:"timers"`
	Tmpfiles []string `json:"tmpfiles"`
	Users    map[string]struct {
		IsSystemUser bool   `json:"isSystemUser"`
		Group        string `json:"group"`
	} `json:"users"`
	Groups         []string          `json:"groups"`
	Etc            map[string]string `json:"etc"`
	SystemPackages []string          `json:"systemPackages"`
	// Package is services.pgarchive.package, whose bin/pgarchive the
	// units run.
	Package string `json:"package"`
	// Wrapper is the `pgarchive` script on the PATH, nil when
	// services.pgarchive.createWrapper is false.
	Wrapper *struct {
		Path        string `json:"path"`
		Script      string `json:"script"`
		MainProgram string `json:"mainProgram"`
	} `json:"wrapper"`
	SystemdPackage string `json:"systemdPackage"`
	Expect         string `json:"expect"`
}

type evaluation struct {
	LibVersion      string             `json:"libVersion"`
	Good            map[string]*report `json:"good"`
	RejectedAtBuild map[string]*report `json:"rejectedAtBuild"`
	Bad             map[string]*report `json:"bad"`
	TypeErrors      map[string]struct {
		Evaluates bool `json:"evaluates"`
	} `json:"typeErrors"`
	SelfCheck []string `json:"selfCheck"`
	// Readme is README.md's flake as eval.nix saw it, when eval.nix was
	// given it (readme_test.go).
	Readme *struct {
		Inputs    map[string]json.RawMessage `json:"inputs"`
		HostNames []string                   `json:"hostNames"`
		Modules   []string                   `json:"modules"`
		Agenix    map[string]string          `json:"agenix"`
	} `json:"readme"`
}

var (
	evalOnce   sync.Once
	evalResult *evaluation
	evalErr    error

	// evalExtra, when set (readme_test.go), returns more arguments for
	// eval.nix and a function removing what it made for them. When it
	// fails, or the evaluation fails with them, the evaluation runs
	// without them and extraErr says why.
	evalExtra func() (args string, cleanup func(), err error)
	extraErr  error
)

// evaluate runs eval.nix once per test binary, or skips when NIXPKGS_LIB is
// unset.
func evaluate(t *testing.T) *evaluation {
	t.Helper()
	if os.Getenv("NIXPKGS_LIB") == "" {
		t.Skip("NIXPKGS_LIB is not set: skipping the NixOS module evaluation " +
			"(point it at a checkout of github.com/nix-community/nixpkgs.lib kept outside the repository)")
	}
	evalOnce.Do(func() {
		evalFile, err := filepath.Abs("eval.nix")
		if err != nil {
			evalErr = err
			return
		}
		args := ""
		if evalExtra != nil {
			a, cleanup, err := evalExtra()
			if cleanup != nil {
				defer cleanup()
			}
			if err != nil {
				extraErr = err
			} else {
				args = a
			}
		}
		run := func(args string) ([]byte, error) {
			cmd := exec.Command("nix-instantiate", "--readonly-mode", "--eval", "--strict", "--json",
				"--expr", fmt.Sprintf("import %s { %s }", evalFile, args))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return nil, fmt.Errorf("nix-instantiate: %v\n%s", err, stderr.String())
			}
			return out, nil
		}
		out, err := run(args)
		if err != nil && args != "" {
			// The extra arguments broke the evaluation: the module's own
			// tests run without them.
			extraErr = err
			out, err = run("")
		}
		if err != nil {
			evalErr = err
			return
		}
		var ev evaluation
		if err := json.Unmarshal(out, &ev); err != nil {
			evalErr = fmt.Errorf("decode evaluation: %v", err)
			return
		}
		evalResult = &ev
	})
	if evalErr != nil {
		t.Fatal(evalErr)
	}
	return evalResult
}

// settingsTOML turns rendered settings (JSON from Nix) into the TOML text
// pkgs.formats.toml would write: integers stay integers.
func settingsTOML(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode settings: %v", err)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(numbersToTOML(v)); err != nil {
		t.Fatalf("encode TOML: %v", err)
	}
	return buf.Bytes()
}

func numbersToTOML(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = numbersToTOML(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = numbersToTOML(e)
		}
		return v
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	default:
		return v
	}
}

// parseRendered writes r's settings as TOML, parses them with config.Parse
// and runs the real `pgarchive check-config` on them, as the build does.
func parseRendered(t *testing.T, name string, r *report) *config.Config {
	t.Helper()
	data := settingsTOML(t, r.Settings)
	t.Logf("%s: /etc/pgarchive/config.toml:\n%s", name, data)
	c, err := config.Parse(data)
	if err != nil {
		t.Errorf("%s: config.Parse rejects the rendered settings: %v", name, err)
		return nil
	}
	if msg, err := checkConfig(t, harness.Binary(t), data); err != nil {
		t.Errorf("%s: pgarchive check-config: %v\n%s", name, err, msg)
	} else {
		t.Logf("%s: pgarchive check-config: %s", name, msg)
	}
	return c
}

func checkConfig(t *testing.T, bin string, data []byte) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--config", file, "check-config").CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lines returns the values of key= in a unit section.
func lines(section []string, key string) []string {
	var out []string
	for _, l := range section {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSelfCheck(t *testing.T) {
	ev := evaluate(t)
	t.Logf("evaluated with nixpkgs lib %s", ev.LibVersion)
	for _, p := range ev.SelfCheck {
		t.Error(p)
	}
}

// TestGoodCasesRenderAcceptedTOML parses the config of every configuration
// that must evaluate cleanly.
func TestGoodCasesRenderAcceptedTOML(t *testing.T) {
	ev := evaluate(t)
	for _, name := range sortedKeys(ev.Good) {
		if parseRendered(t, name, ev.Good[name]) == nil {
			t.Errorf("%s: no config", name)
		}
	}
}

// storeTOMLRe finds a store path of a TOML file in a unit line.
var storeTOMLRe = regexp.MustCompile(`/nix/store/[^\s"]+\.toml`)

// TestOneConfigFile: every unit that runs pgarchive names one file, the
// checked /etc/pgarchive/config.toml, and no other (no file per unit, no
// directory of notifier configs).
func TestOneConfigFile(t *testing.T) {
	ev := evaluate(t)
	for _, name := range sortedKeys(ev.Good) {
		r := ev.Good[name]
		if got := r.Etc["pgarchive/config.toml"]; got != r.ConfigFile.Path || got == "" {
			t.Errorf("%s: /etc/pgarchive/config.toml is %q, want the config file %q", name, got, r.ConfigFile.Path)
		}
		for _, unit := range sortedKeys(r.Units) {
			u := r.Units[unit]
			for _, l := range append(append([]string{}, u.Unit...), u.Service...) {
				for _, p := range storeTOMLRe.FindAllString(l, -1) {
					if p != r.ConfigFile.Path {
						t.Errorf("%s: %s: %s names %s, not the one config %s", name, unit, l, p, r.ConfigFile.Path)
					}
				}
				if strings.Contains(l, "--config") && !strings.Contains(l, r.ConfigFile.Path) {
					t.Errorf("%s: %s: %s: --config is not the one config %s", name, unit, l, r.ConfigFile.Path)
				}
			}
		}
	}
}

func TestExampleRendersAcceptedTOML(t *testing.T) {
	r := evaluate(t).Good["example"]
	c := parseRendered(t, "example", r)
	if c == nil {
		t.FailNow()
	}
	if c.DumpDir != "/var/backup/postgresql" || c.Compression != "gzip" {
		t.Errorf("dump_dir %q, compression %q: want services.postgresqlBackup's", c.DumpDir, c.Compression)
	}
	if len(c.Encryption.Recipients) != 1 || !strings.HasPrefix(c.Encryption.Recipients[0], "age1") {
		t.Errorf("recipients %q", c.Encryption.Recipients)
	}
	if got := c.TargetNames(); !equal(got, []string{"backblaze", "nas"}) {
		t.Errorf("targets %q", got)
	}
	b2 := c.Targets["backblaze"]
	if b2.Type != "s3" || b2.Path != "bucket1/databases" || b2.Options["provider"] != "Other" {
		t.Errorf("backblaze target %+v", b2)
	}
	nas := c.Targets["nas"]
	if nas.Type != "sftp" || nas.Path != "pg" || nas.Options["host"] != "heim-nas" || nas.Options["port"] != int64(22) {
		t.Errorf("nas target %+v (port must stay an integer)", nas)
	}
	// The host paths, as given: units load them as credentials by id.
	want := map[string]string{"access_key_id": "/run/secrets/b2/id", "secret_access_key": "/run/secrets/b2/key"}
	for k, v := range want {
		if got := b2.SecretFiles[k]; got != v {
			t.Errorf("targets.backblaze.secret_files.%s = %q, want %q", k, got, v)
		}
	}
}

// credentialKind is what reads a secret, by its credential id: the jobs
// that reach the targets, push (encrypts), drill and verify (decrypt), the
// notifier, and every job that pings.
func credentialKind(id string) string {
	switch {
	case strings.HasPrefix(id, "targets."), id == "rclone.config_file":
		return "targets"
	case strings.HasPrefix(id, "encryption."):
		return "encryption"
	case strings.HasPrefix(id, "drill."):
		return "drill"
	case strings.HasPrefix(id, "notify."):
		return "notify"
	case strings.HasPrefix(id, "healthcheck."):
		return "healthcheck"
	}
	return ""
}

// unitKinds is what each unit loads with LoadCredential, by unit: the
// module's contract on least privilege (the notifier gets no S3 key, push
// no drill identity).
func unitKinds(unit string) []string {
	switch {
	case strings.HasPrefix(unit, "postgresqlBackup"), unit == "pgarchive-globals":
		return []string{"targets", "encryption", "healthcheck"}
	case unit == "pgarchive-prune":
		return []string{"targets", "healthcheck"}
	case unit == "pgarchive-verify", unit == "pgarchive-drill":
		return []string{"targets", "healthcheck", "drill"}
	case unit == "pgarchive-notify@":
		return []string{"notify"}
	}
	return nil
}

// TestSecretsAreCredentials checks that the config keeps every secret's
// host path (nothing is rewritten for a unit) and that each unit running
// pgarchive loads exactly the secrets its job reads, as
// LoadCredential=<id>:<host path> with the id the binary looks up in
// $CREDENTIALS_DIRECTORY (config.Secrets, the dotted key).
func TestSecretsAreCredentials(t *testing.T) {
	ev := evaluate(t)
	for _, name := range []string{"example", "backupAll", "observability", "passphraseAppendOnly", "settingsSecret", "vmTests"} {
		r := ev.Good[name]
		c := parseRendered(t, name, r)
		if c == nil {
			continue
		}
		secrets := c.Secrets()
		if len(secrets) == 0 && name != "passphraseAppendOnly" {
			t.Errorf("%s: the config names no secret", name)
		}
		for _, s := range secrets {
			if credentialKind(s.ID) == "" {
				t.Errorf("%s: secret %s: no kind known to this test", name, s.ID)
			}
			if strings.HasPrefix(s.Path, "/run/credentials/") {
				t.Errorf("%s: %s = %q: the config must keep the host path", name, s.ID, s.Path)
			}
		}
		runsPgarchive := 0
		for _, unit := range sortedKeys(r.Units) {
			kinds := unitKinds(unit)
			u := r.Units[unit]
			usesConfig := false
			for _, l := range u.Service {
				usesConfig = usesConfig || strings.Contains(l, r.ConfigFile.Path)
			}
			if kinds == nil {
				if usesConfig {
					t.Errorf("%s: %s runs pgarchive, but this test does not know what it loads", name, unit)
				}
				continue
			}
			if !usesConfig {
				continue // a dump unit of a database not pushed
			}
			runsPgarchive++
			var want []string
			for _, s := range secrets {
				if contains(kinds, credentialKind(s.ID)) {
					want = append(want, s.ID+":"+s.Path)
				}
			}
			got := lines(u.Service, "LoadCredential")
			sort.Strings(got)
			sort.Strings(want)
			if !equal(got, want) {
				t.Errorf("%s: %s: LoadCredential=%q, want %q", name, unit, got, want)
			}
			for _, l := range got {
				t.Logf("%s: %s: LoadCredential=%s", name, unit, l)
			}
		}
		if runsPgarchive < 2 {
			t.Errorf("%s: only %d units run pgarchive", name, runsPgarchive)
		}
	}
	// A secret given in settings, not through an option, is loaded all
	// the same by every unit that pings.
	r := ev.Good["settingsSecret"]
	for _, unit := range []string{"postgresqlBackup-db1", "postgresqlBackup-db2"} {
		if got := lines(r.Units[unit].Service, "LoadCredential"); !contains(got, "healthcheck.url_file:/run/secrets/ping-from-settings") {
			t.Errorf("settingsSecret: %s: LoadCredential=%q lacks the ping URL set in settings", unit, got)
		}
	}
}

func TestDumpUnitLines(t *testing.T) {
	r := evaluate(t).Good["example"]
	pkg := r.Package
	for _, db := range []string{"db1", "db2"} {
		unit := "postgresqlBackup-" + db
		u, ok := r.Units[unit]
		if !ok {
			t.Fatalf("no unit %s", unit)
		}
		wantPost := fmt.Sprintf("%q %q %q %q %q %q", pkg+"/bin/pgarchive", "--config", r.ConfigFile.Path, "push", "--database", db)
		for _, c := range []struct {
			section []string
			key     string
			want    []string
		}{
			{u.Service, "ExecStartPost", []string{wantPost}},
			{u.Unit, "OnFailure", []string{"pgarchive-notify@%n.service"}},
			{u.Unit, "Wants", []string{"network-online.target"}},
			{u.Unit, "After", []string{"network-online.target"}},
			{u.Service, "TimeoutStartSec", []string{"6h"}},
			{u.Service, "User", []string{"postgres"}},
			{u.Service, "NoNewPrivileges", []string{"true"}},
			{u.Service, "NotifyAccess", []string{"all"}}, // push's STATUS= comes from ExecStartPost
			// No mount namespace: it would hide the credentials from
			// ExecStartPost (tests/systemd_credentials_test.go).
			{u.Service, "PrivateTmp", nil},
			{u.Service, "ProtectSystem", nil},
			{u.Service, "ReadWritePaths", nil},
			{u.Service, "ProtectHome", nil},
			{u.Service, "PrivateDevices", nil},
			{u.Service, "RestrictAddressFamilies", []string{"AF_UNIX", "AF_INET", "AF_INET6"}},
		} {
			if got := lines(c.section, c.key); !equal(got, c.want) {
				t.Errorf("%s: %s=%q, want %q", unit, c.key, got, c.want)
			}
		}
		for _, l := range append(append([]string{}, u.Unit...), u.Service...) {
			t.Logf("%s: %s", unit, l)
		}
	}
}

// checkCommandRe is the build-time check: `pgarchive --config FILE check-config`
// on the rendered file, whose copy is the file units read.
var checkCommandRe = regexp.MustCompile(`(?m)^pgarchive --config (/nix/store/\S+) check-config\ncp (/nix/store/\S+) "\$out"$`)

// TestConfigIsCheckedAtBuild checks that the one file is the output of
// `pgarchive check-config` run on the TOML of the settings, so a rejected
// config fails the system build, and that the check runs once.
func TestConfigIsCheckedAtBuild(t *testing.T) {
	ev := evaluate(t)
	for _, name := range sortedKeys(ev.Good) {
		r := ev.Good[name]
		f := r.ConfigFile
		if name == "subset" {
			// checkConfig = false: the rendered file as it is.
			if f.BuildCommand != nil || f.Path != f.Rendered {
				t.Errorf("subset (checkConfig = false): %s, build command %v: want the unchecked %s", f.Path, f.BuildCommand, f.Rendered)
			}
			continue
		}
		var m []string
		if f.BuildCommand != nil {
			m = checkCommandRe.FindStringSubmatch(*f.BuildCommand)
		}
		if m == nil || m[1] != f.Rendered || m[2] != f.Rendered {
			t.Errorf("%s: %s is not the output of pgarchive check-config on %s (build command %v)", name, f.Path, f.Rendered, f.BuildCommand)
		}
	}
}

func TestBackupAll(t *testing.T) {
	r := evaluate(t).Good["backupAll"]
	c := parseRendered(t, "backupAll", r)
	if c == nil {
		t.FailNow()
	}
	if c.Compression != "zstd" || c.DumpDir != "/srv/pgdump" || c.Host != "db-prod-1" {
		t.Errorf("compression %q, dump_dir %q, host %q", c.Compression, c.DumpDir, c.Host)
	}
	if c.MaxDumpAge.String() != "1h30m0s" {
		t.Errorf("max_dump_age %v: want 90m from services.pgarchive.settings, over maxDumpAge", c.MaxDumpAge)
	}
	if got := c.DumpPath("all"); got != "/srv/pgdump/all.sql.zstd" {
		t.Errorf("dump path %q", got)
	}
	if c.Targets["offsite"].Remote != "offsite:pg" {
		t.Errorf("offsite target %+v", c.Targets["offsite"])
	}
	if _, ok := r.Units["postgresqlBackup-all"]; ok {
		t.Error("backupAll: a unit postgresqlBackup-all")
	}
	u := r.Units["postgresqlBackup"]
	post := lines(u.Service, "ExecStartPost")
	if len(post) != 1 || !strings.HasSuffix(post[0], `"push" "--database" "all"`) {
		t.Errorf("ExecStartPost %q: want push --database all", post)
	}
	if got := lines(u.Service, "TimeoutStartSec"); !equal(got, []string{"2h"}) {
		t.Errorf("TimeoutStartSec %q", got)
	}
	want := []string{"rclone.config_file:/run/agenix/rclone.conf", "encryption.passphrase_file:/run/agenix/pgarchive-passphrase"}
	if got := lines(u.Service, "LoadCredential"); !equal(got, want) {
		t.Errorf("LoadCredential=%q, want %q", got, want)
	}
}

// TestHostSetsTimeout: a host that sets TimeoutStartSec of a dump unit
// itself (the unit is nixpkgs', not ours) evaluates, and its value wins;
// the other dump units keep services.pgarchive.timeoutStartSec. Before,
// nixos-rebuild failed with "conflicting definition values".
func TestHostSetsTimeout(t *testing.T) {
	r := evaluate(t).Good["hostTimeout"]
	if r == nil {
		t.Fatal("no good case hostTimeout")
	}
	for unit, want := range map[string]string{"postgresqlBackup-db1": "12h", "postgresqlBackup-db2": "6h"} {
		if got := lines(r.Units[unit].Service, "TimeoutStartSec"); !equal(got, []string{want}) {
			t.Errorf("%s: TimeoutStartSec=%q, want %q", unit, got, want)
		}
	}
}

func TestDatabaseSubset(t *testing.T) {
	r := evaluate(t).Good["subset"]
	if got := lines(r.Units["postgresqlBackup-db1"].Service, "ExecStartPost"); len(got) != 0 {
		t.Errorf("postgresqlBackup-db1 is not in services.pgarchive.databases but got ExecStartPost %q", got)
	}
	if got := lines(r.Units["postgresqlBackup-db1"].Unit, "OnFailure"); len(got) != 0 {
		t.Errorf("postgresqlBackup-db1 got OnFailure %q", got)
	}
	if got := lines(r.Units["postgresqlBackup-db2"].Service, "ExecStartPost"); len(got) != 1 {
		t.Errorf("postgresqlBackup-db2 ExecStartPost %q", got)
	}
}

func TestAssertionsFire(t *testing.T) {
	ev := evaluate(t)
	if len(ev.Bad) < 5 {
		t.Fatalf("only %d bad cases evaluated", len(ev.Bad))
	}
	for _, name := range sortedKeys(ev.Bad) {
		r := ev.Bad[name]
		found := false
		for _, m := range r.FailedAssertions {
			if strings.Contains(m, r.Expect) {
				found = true
				t.Logf("%s: %s", name, strings.ReplaceAll(strings.TrimSpace(m), "\n", " "))
			}
		}
		if !found {
			t.Errorf("%s: no failed assertion contains %q; failed: %q", name, r.Expect, r.FailedAssertions)
		}
	}
}

func TestOptionTypesRefuse(t *testing.T) {
	ev := evaluate(t)
	for _, name := range sortedKeys(ev.TypeErrors) {
		if ev.TypeErrors[name].Evaluates {
			t.Errorf("%s: evaluated; the option type should refuse it", name)
		} else {
			t.Logf("%s: refused by the option type", name)
		}
	}
}

// TestTyposFailCheckConfig checks what the build-time check is for: a key the
// module passes through unchecked is rejected by the parser the binary runs.
func TestTyposFailCheckConfig(t *testing.T) {
	ev := evaluate(t)
	r := ev.RejectedAtBuild["settingsKeyTypo"]
	_, err := config.Parse(settingsTOML(t, r.Settings))
	if err == nil || !strings.Contains(err.Error(), "max_dump_agee") {
		t.Errorf("settingsKeyTypo: config.Parse error %v, want one naming max_dump_agee", err)
	} else {
		t.Logf("settingsKeyTypo: %v", err)
	}
	bin := harness.Binary(t)
	for _, name := range sortedKeys(ev.RejectedAtBuild) {
		msg, err := checkConfig(t, bin, settingsTOML(t, ev.RejectedAtBuild[name].Settings))
		if err == nil {
			t.Errorf("%s: pgarchive check-config accepted it: %s", name, msg)
		} else {
			t.Logf("%s: pgarchive check-config: %s", name, msg)
		}
	}
}

// TestLockMountStall: objectLock, requireMount and stallTimeout reach the
// rendered config as the binary reads it.
func TestLockMountStall(t *testing.T) {
	r := evaluate(t).Good["lockedAndMounted"]
	if r == nil {
		t.Fatal("no good case lockedAndMounted")
	}
	cfg := parseRendered(t, "lockedAndMounted", r)
	if got := cfg.StallTimeout.Duration.String(); got != "30m0s" {
		t.Errorf("stall_timeout = %s, want 30m", got)
	}
	if !cfg.Targets["usb"].RequireMount {
		t.Error("targets.usb.require_mount not rendered")
	}
	if cfg.Targets["nas"].RequireMount {
		t.Error("targets.nas.require_mount rendered without being set")
	}
	lock := cfg.Targets["backblaze"].ObjectLock
	if lock == nil || lock.Mode != "COMPLIANCE" || lock.Days != 7 {
		t.Errorf("targets.backblaze.object_lock = %+v, want COMPLIANCE for 7 days", lock)
	}
}

// TestGlobalsUnit: the roles are archived once per backup run, by a unit of
// their own on the dumps' schedule, with what push needs and nothing of
// the drill's key; not with backupAll, whose dump holds the roles already.
func TestGlobalsUnit(t *testing.T) {
	ev := evaluate(t)
	r := ev.Good["example"]
	if r == nil {
		t.Fatal("no good case example")
	}
	u, ok := r.Units["pgarchive-globals"]
	if !ok {
		t.Fatal("no pgarchive-globals unit")
	}
	exec := strings.Join(lines(u.Service, "ExecStart"), " ")
	if !strings.Contains(exec, `"push" "--globals"`) || !strings.Contains(exec, r.ConfigFile.Path) {
		t.Errorf("ExecStart = %q, want push --globals with the one config", exec)
	}
	for _, c := range lines(u.Service, "LoadCredential") {
		if strings.HasPrefix(c, "drill.") || strings.HasPrefix(c, "notify.") {
			t.Errorf("pgarchive-globals loads %q, which push does not read", c)
		}
	}
	if got := lines(u.Service, "User"); !equal(got, []string{"postgres"}) {
		t.Errorf("User = %q, want postgres", got)
	}
}
