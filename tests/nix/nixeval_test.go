// Package nixeval checks the NixOS module (nix/module.nix) without NixOS.
//
// eval.nix evaluates the module with lib.evalModules beside stand-ins for the
// NixOS options it touches and prints, as JSON, what a system would get: the
// settings rendered to TOML, the unit lines added to postgresqlBackup-<db>,
// the job units with their timers and the notifier (jobs_test.go), and the
// assertions that fail. These tests run that evaluation with
// nix-instantiate and check it: the rendered settings, written as TOML, must
// be accepted by internal/config.Parse (what `pgarchive check-config` runs);
// secrets must reach the units as LoadCredential entries and the config as
// $CREDENTIALS_DIRECTORY paths; each bad input must fail its assertion.
//
// NIXPKGS_LIB names a checkout of nix-community/nixpkgs.lib kept outside the
// repository; without it the tests skip. Every rendered file also goes
// through the real `pgarchive check-config` (built by tests/harness, or
// PGARCHIVE_BINARY).
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

const etcKey = "etc/pgarchive/config.toml"

// report is one evaluated configuration (eval.nix's `report`).
type report struct {
	FailedAssertions []string                   `json:"failedAssertions"`
	Warnings         []string                   `json:"warnings"`
	RenderedSettings map[string]json.RawMessage `json:"renderedSettings"`
	ConfigFiles      map[string]struct {
		Path         string  `json:"path"`
		BuildCommand *string `json:"buildCommand"`
	} `json:"configFiles"`
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
	Groups          []string `json:"groups"`
	NotifierConfigs struct {
		Path         string  `json:"path"`
		BuildCommand *string `json:"buildCommand"`
	} `json:"notifierConfigs"`
	Etc            map[string]string `json:"etc"`
	SystemPackages []string          `json:"systemPackages"`
	SystemdPackage string            `json:"systemdPackage"`
	Expect         string            `json:"expect"`
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
}

var (
	evalOnce   sync.Once
	evalResult *evaluation
	evalErr    error
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
		cmd := exec.Command("nix-instantiate", "--readonly-mode", "--eval", "--strict", "--json",
			"--expr", fmt.Sprintf("import %s { }", evalFile))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			evalErr = fmt.Errorf("nix-instantiate: %v\n%s", err, stderr.String())
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

// parseRendered writes every rendered file of r as TOML and parses it with
// config.Parse and runs `pgarchive check-config` on it.
func parseRendered(t *testing.T, name string, r *report) map[string]*config.Config {
	t.Helper()
	out := map[string]*config.Config{}
	for _, key := range sortedKeys(r.RenderedSettings) {
		data := settingsTOML(t, r.RenderedSettings[key])
		t.Logf("%s: %s as TOML:\n%s", name, key, data)
		c, err := config.Parse(data)
		if err != nil {
			t.Errorf("%s: %s: config.Parse rejects the rendered settings: %v", name, key, err)
			continue
		}
		out[key] = c
		if msg, err := checkConfig(t, harness.Binary(t), data); err != nil {
			t.Errorf("%s: %s: pgarchive check-config: %v\n%s", name, key, err, msg)
		} else {
			t.Logf("%s: %s: pgarchive check-config: %s", name, key, msg)
		}
	}
	return out
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

// TestGoodCasesRenderAcceptedTOML parses every rendered file of every
// configuration that must evaluate cleanly.
func TestGoodCasesRenderAcceptedTOML(t *testing.T) {
	ev := evaluate(t)
	for _, name := range sortedKeys(ev.Good) {
		if len(parseRendered(t, name, ev.Good[name])) == 0 {
			t.Errorf("%s: nothing rendered", name)
		}
	}
}

func TestExampleRendersAcceptedTOML(t *testing.T) {
	r := evaluate(t).Good["example"]
	configs := parseRendered(t, "example", r)

	want := []string{etcKey,
		"pgarchive-notify@postgresqlBackup-db1.service.service", "pgarchive-notify@postgresqlBackup-db2.service.service",
		"postgresqlBackup-db1.service", "postgresqlBackup-db2.service"}
	if got := sortedKeys(r.RenderedSettings); !equal(got, want) {
		t.Fatalf("rendered files: got %q, want %q", got, want)
	}
	for key, c := range configs {
		if c.DumpDir != "/var/backup/postgresql" || c.Compression != "gzip" {
			t.Errorf("%s: dump_dir %q, compression %q: want services.postgresqlBackup's", key, c.DumpDir, c.Compression)
		}
		if len(c.Encryption.Recipients) != 1 || !strings.HasPrefix(c.Encryption.Recipients[0], "age1") {
			t.Errorf("%s: recipients %q", key, c.Encryption.Recipients)
		}
		if got := c.TargetNames(); !equal(got, []string{"backblaze", "nas"}) {
			t.Errorf("%s: targets %q", key, got)
		}
		b2 := c.Targets["backblaze"]
		if b2.Type != "s3" || b2.Path != "bucket1/databases" || b2.Options["provider"] != "Other" {
			t.Errorf("%s: backblaze target %+v", key, b2)
		}
		nas := c.Targets["nas"]
		if nas.Type != "sftp" || nas.Path != "pg" || nas.Options["host"] != "heim-nas" || nas.Options["port"] != int64(22) {
			t.Errorf("%s: nas target %+v (port must stay an integer)", key, nas)
		}
	}
	if c := configs[etcKey]; c != nil {
		// The administrator's file keeps the host paths (root reads them).
		want := map[string]string{"access_key_id": "/run/secrets/b2/id", "secret_access_key": "/run/secrets/b2/key"}
		for k, v := range want {
			if got := c.Targets["backblaze"].SecretFiles[k]; got != v {
				t.Errorf("%s: secret_files.%s = %q, want %q", etcKey, k, got, v)
			}
		}
	}
}

// secretKinds is what each unit loads with LoadCredential, by unit name
// prefix: the module's contract on least privilege (the notifier gets no
// S3 key, push no drill identity).
func secretKinds(unit string) []string {
	switch {
	case strings.HasPrefix(unit, "postgresqlBackup"):
		return []string{"targets", "encryption", "healthcheck"}
	case unit == "pgarchive-prune.service":
		return []string{"targets", "healthcheck"}
	case unit == "pgarchive-verify.service", unit == "pgarchive-drill.service":
		return []string{"targets", "healthcheck", "drill"}
	case strings.HasPrefix(unit, "pgarchive-notify@"):
		return []string{"notify"}
	}
	return nil
}

// secretRef is one secret path of a config: its credential id, its kind,
// the host path (from /etc/pgarchive/config.toml) and the path in the
// unit's config.
type secretRef struct{ id, kind, host, unit string }

func secretRefs(host, c *config.Config) []secretRef {
	var refs []secretRef
	add := func(id, kind, h, u string) {
		if h != "" || u != "" {
			refs = append(refs, secretRef{id, kind, h, u})
		}
	}
	for _, tn := range host.TargetNames() {
		for _, opt := range sortedKeys(host.Targets[tn].SecretFiles) {
			add("target."+tn+"."+opt, "targets", host.Targets[tn].SecretFiles[opt], c.Targets[tn].SecretFiles[opt])
		}
	}
	add("rclone.config_file", "targets", host.Rclone.ConfigFile, c.Rclone.ConfigFile)
	add("encryption.recipients_file", "encryption", host.Encryption.RecipientsFile, c.Encryption.RecipientsFile)
	add("encryption.passphrase_file", "encryption", host.Encryption.PassphraseFile, c.Encryption.PassphraseFile)
	add("drill.identity_file", "drill", host.Drill.IdentityFile, c.Drill.IdentityFile)
	add("drill.passphrase_file", "drill", host.Drill.PassphraseFile, c.Drill.PassphraseFile)
	add("notify.urls_file", "notify", host.Notify.URLsFile, c.Notify.URLsFile)
	add("healthcheck.url_file", "healthcheck", host.Healthcheck.URLFile, c.Healthcheck.URLFile)
	return refs
}

// unitReportName is the key of a config's unit in report.Units: the unit
// name without .service, and the template for a notifier instance.
func unitReportName(key string) string {
	if strings.HasPrefix(key, "pgarchive-notify@") {
		return "pgarchive-notify@"
	}
	return strings.TrimSuffix(key, ".service")
}

// TestSecretsAreCredentials checks that every secret path a unit needs
// reaches it as LoadCredential=<id>:<host path> and appears in that unit's
// config as /run/credentials/<unit>/<id>, i.e. under
// $CREDENTIALS_DIRECTORY, and that the secrets it does not need are not
// loaded (their host paths stay in its config, unread).
func TestSecretsAreCredentials(t *testing.T) {
	ev := evaluate(t)
	for _, name := range []string{"example", "backupAll", "observability", "passphraseAppendOnly", "vmTests"} {
		r := ev.Good[name]
		configs := parseRendered(t, name, r)
		host := configs[etcKey]
		if host == nil {
			t.Fatalf("%s: no %s", name, etcKey)
		}
		for _, key := range sortedKeys(configs) {
			if key == etcKey {
				continue
			}
			c := configs[key]
			kinds := secretKinds(key)
			if kinds == nil {
				t.Errorf("%s: %s: a config for a unit this test does not know", name, key)
				continue
			}
			unit := unitReportName(key)
			credDir := "/run/credentials/" + key + "/"
			var wantCreds []string
			for _, ref := range secretRefs(host, c) {
				loaded := false
				for _, k := range kinds {
					loaded = loaded || k == ref.kind
				}
				switch {
				case loaded:
					wantCreds = append(wantCreds, ref.id+":"+ref.host)
					if ref.unit != credDir+ref.id {
						t.Errorf("%s: %s: %s is %q, want %q", name, key, ref.id, ref.unit, credDir+ref.id)
					}
				case ref.unit != ref.host:
					t.Errorf("%s: %s: %s is %q: the unit does not load it, so its config keeps the host path %q",
						name, key, ref.id, ref.unit, ref.host)
				}
			}
			got := lines(r.Units[unit].Service, "LoadCredential")
			sort.Strings(got)
			sort.Strings(wantCreds)
			if !equal(got, wantCreds) || (len(wantCreds) == 0 && strings.HasPrefix(unit, "postgresqlBackup")) {
				t.Errorf("%s: %s: LoadCredential lines %q, want %q", name, unit, got, wantCreds)
			}
			for _, l := range got {
				t.Logf("%s: %s: LoadCredential=%s", name, key, l)
			}
		}
	}
}

func TestDumpUnitLines(t *testing.T) {
	r := evaluate(t).Good["example"]
	if len(r.SystemPackages) != 1 {
		t.Fatalf("systemPackages %q: want the pgarchive package", r.SystemPackages)
	}
	pkg := r.SystemPackages[0]
	for _, db := range []string{"db1", "db2"} {
		unit := "postgresqlBackup-" + db
		u, ok := r.Units[unit]
		if !ok {
			t.Fatalf("no unit %s", unit)
		}
		cf := r.ConfigFiles[unit+".service"]
		wantPost := fmt.Sprintf("%q %q %q %q %q %q", pkg+"/bin/pgarchive", "--config", cf.Path, "push", "--database", db)
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

// checkCommandRe is the build-time check: `pgarchive [--config FILE] check-config`
// on the rendered file, whose output is the file units read.
var checkCommandRe = regexp.MustCompile(`(?m)^pgarchive --config (/nix/store/\S+) check-config\ncp (/nix/store/\S+) "\$out"$`)

// TestConfigIsCheckedAtBuild checks that the file a unit reads is the output
// of `pgarchive check-config` on the rendered TOML, so a rejected config
// fails the system build.
func TestConfigIsCheckedAtBuild(t *testing.T) {
	ev := evaluate(t)
	for _, name := range []string{"example", "backupAll", "observability", "passphraseAppendOnly", "localPrune", "vmTests"} {
		r := ev.Good[name]
		for key, f := range r.ConfigFiles {
			var m []string
			if f.BuildCommand != nil {
				m = checkCommandRe.FindStringSubmatch(*f.BuildCommand)
			}
			if m == nil || m[1] != m[2] {
				t.Errorf("%s: %s: %s is not the output of pgarchive check-config (build command %v)", name, key, f.Path, f.BuildCommand)
			}
		}
		if got := r.Etc["pgarchive/config.toml"]; got != r.ConfigFiles[etcKey].Path {
			t.Errorf("%s: /etc/pgarchive/config.toml is %q, want the checked %q", name, got, r.ConfigFiles[etcKey].Path)
		}
	}
	// checkConfig = false leaves the rendered file unchecked.
	for key, f := range ev.Good["subset"].ConfigFiles {
		if f.BuildCommand != nil {
			t.Errorf("subset (checkConfig = false): %s still runs %q", key, *f.BuildCommand)
		}
	}
}

func TestBackupAll(t *testing.T) {
	r := evaluate(t).Good["backupAll"]
	configs := parseRendered(t, "backupAll", r)
	if got := sortedKeys(r.RenderedSettings); !equal(got, []string{etcKey, "pgarchive-notify@postgresqlBackup.service.service", "postgresqlBackup.service"}) {
		t.Fatalf("rendered files %q: want one for the single postgresqlBackup unit and one for its notifier", got)
	}
	c := configs["postgresqlBackup.service"]
	if c == nil {
		t.Fatal("postgresqlBackup.service config did not parse")
	}
	if c.Compression != "zstd" || c.DumpDir != "/srv/pgdump" || c.Host != "db-prod-1" {
		t.Errorf("compression %q, dump_dir %q, host %q", c.Compression, c.DumpDir, c.Host)
	}
	if c.MaxDumpAge.String() != "1h30m0s" {
		t.Errorf("max_dump_age %v: want 90m from services.pgarchive.settings", c.MaxDumpAge)
	}
	if got := c.DumpPath("all"); got != "/srv/pgdump/all.sql.zstd" {
		t.Errorf("dump path %q", got)
	}
	if c.Targets["offsite"].Remote != "offsite:pg" {
		t.Errorf("offsite target %+v", c.Targets["offsite"])
	}
	u := r.Units["postgresqlBackup"]
	post := lines(u.Service, "ExecStartPost")
	if len(post) != 1 || !strings.HasSuffix(post[0], `"push" "--database" "all"`) {
		t.Errorf("ExecStartPost %q: want push --database all", post)
	}
	if got := lines(u.Service, "TimeoutStartSec"); !equal(got, []string{"2h"}) {
		t.Errorf("TimeoutStartSec %q", got)
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
	for _, key := range sortedKeys(r.RenderedSettings) {
		_, err := config.Parse(settingsTOML(t, r.RenderedSettings[key]))
		if err == nil || !strings.Contains(err.Error(), "max_dump_agee") {
			t.Errorf("settingsKeyTypo: %s: config.Parse error %v, want one naming max_dump_agee", key, err)
		} else {
			t.Logf("settingsKeyTypo: %s: %v", key, err)
		}
	}
	bin := harness.Binary(t)
	for _, name := range sortedKeys(ev.RejectedAtBuild) {
		data := settingsTOML(t, ev.RejectedAtBuild[name].RenderedSettings[etcKey])
		msg, err := checkConfig(t, bin, data)
		if err == nil {
			t.Errorf("%s: pgarchive check-config accepted it: %s", name, msg)
		} else {
			t.Logf("%s: pgarchive check-config: %s", name, msg)
		}
	}
}
