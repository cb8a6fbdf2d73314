package nixeval

// README.md's "Use on NixOS" flake, evaluated: its flake.nix, host.nix and
// agenix lines are taken from between their marker comments
// (<!-- begin NAME ... --> and <!-- end NAME -->), written to a directory,
// and eval.nix evaluates the flake's outputs with stand-ins for its inputs
// (nixosSystem being the module harness), so the host it defines is the
// good case `readme`: it must evaluate without a failed assertion or a
// warning, and render a config the real `pgarchive check-config` accepts.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

const readmeFile = "../../README.md"

// readmeRecipient is the public key README's host.nix leaves to the
// reader. As written it fails check-config (so a host that keeps it fails
// nixos-rebuild); the test puts the VM tests' throwaway recipient there.
const readmeRecipient = `"age1..."`

var readmeBlockRe = regexp.MustCompile("(?s)<!-- begin ([^ ]+)[^>]*-->\n(.*?)<!-- end ([^ ]+) -->")

var nixFenceRe = regexp.MustCompile("(?s)^```nix\n(.*?)```\n$")

// readmeBlocks returns the code of every marked block of README.md, by
// name: one ```nix fence between its markers.
func readmeBlocks() (map[string]string, error) {
	data, err := os.ReadFile(readmeFile)
	if err != nil {
		return nil, err
	}
	blocks := map[string]string{}
	for _, m := range readmeBlockRe.FindAllStringSubmatch(string(data), -1) {
		if m[1] != m[3] {
			return nil, fmt.Errorf("README.md: <!-- begin %s --> ends with <!-- end %s -->", m[1], m[3])
		}
		f := nixFenceRe.FindStringSubmatch(m[2])
		if f == nil {
			return nil, fmt.Errorf("README.md: between the markers of %s: want one ```nix block, and nothing else", m[1])
		}
		blocks[m[1]] = f[1]
	}
	for _, name := range []string{"flake.nix", "host.nix", "agenix.nix"} {
		if _, ok := blocks[name]; !ok {
			return nil, fmt.Errorf("README.md: no block marked %s (<!-- begin %s --> ... <!-- end %s -->)", name, name, name)
		}
	}
	return blocks, nil
}

func init() { evalExtra = readmeEvalArgs }

// readmeEvalArgs writes README's flake to a directory of its own and
// returns eval.nix's argument naming it.
func readmeEvalArgs() (string, func(), error) {
	dir, err := os.MkdirTemp("", "pgarchive-readme-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := writeReadmeFlake(dir); err != nil {
		return "", cleanup, err
	}
	return fmt.Sprintf("readme = %s;", dir), cleanup, nil
}

// writeReadmeFlake writes README's flake.nix and host.nix into dir, the
// recipient placeholder replaced, and its agenix lines as agenix.nix, a
// module of their own.
func writeReadmeFlake(dir string) error {
	blocks, err := readmeBlocks()
	if err != nil {
		return err
	}
	recipient, err := os.ReadFile(ageRecipient)
	if err != nil {
		return err
	}
	host := blocks["host.nix"]
	if n := strings.Count(host, readmeRecipient); n != 1 {
		return fmt.Errorf("README.md's host.nix has %s %d times, want once", readmeRecipient, n)
	}
	host = strings.Replace(host, readmeRecipient, fmt.Sprintf("%q", strings.TrimSpace(string(recipient))), 1)
	files := map[string]string{
		"flake.nix":  blocks["flake.nix"],
		"host.nix":   host,
		"agenix.nix": "{ ... }:\n{\n" + blocks["agenix.nix"] + "}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TestReadmeFlake checks README's flake as evaluated: the inputs (pgarchive
// and sops-nix following nixpkgs), the modules nixosSystem gets, a host
// that evaluates cleanly with the wrapper on its PATH and the secrets of
// sops-nix, and a config the real binary accepts, and refuses with the
// placeholder left in place. The agenix lines give agenix's paths.
func TestReadmeFlake(t *testing.T) {
	ev := evaluate(t)
	if extraErr != nil {
		t.Fatalf("README's flake: %v", extraErr)
	}
	rm := ev.Readme
	if rm == nil {
		t.Fatal("eval.nix did not evaluate README's flake")
	}
	blocks, err := readmeBlocks()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(blocks["host.nix"], "# host.nix\n{ config, ... }:\n") {
		t.Errorf("README's host.nix does not open with its `{ config, ... }:` header:\n%.80s", blocks["host.nix"])
	}

	input := func(name string) map[string]any {
		var v map[string]any
		if err := json.Unmarshal(rm.Inputs[name], &v); err != nil {
			t.Errorf("input %s: %v", name, err)
		}
		return v
	}
	if url, _ := input("nixpkgs")["url"].(string); !strings.HasPrefix(url, "github:NixOS/nixpkgs/") {
		t.Errorf("inputs.nixpkgs.url %q", url)
	}
	for _, name := range []string{"pgarchive", "sops-nix"} {
		in := input(name)
		if url, _ := in["url"].(string); url == "" {
			t.Errorf("inputs.%s has no url", name)
		}
		follows, _ := json.Marshal(in["inputs"])
		if string(follows) != `{"nixpkgs":{"follows":"nixpkgs"}}` {
			t.Errorf("inputs.%s.inputs = %s, want nixpkgs to follow nixpkgs", name, follows)
		}
	}
	wantModules := []string{"pgarchive.nixosModules.default", "sops-nix.nixosModules.sops", "host.nix"}
	if !equal(rm.Modules, wantModules) || len(rm.HostNames) != 1 {
		t.Errorf("nixosConfigurations %q with modules %q, want one host with %q", rm.HostNames, rm.Modules, wantModules)
	}

	r := ev.Good["readme"]
	if r == nil {
		t.Fatal("no good case readme")
	}
	if len(r.FailedAssertions)+len(r.Warnings) > 0 {
		t.Errorf("README's host: failed assertions %q, warnings %q", r.FailedAssertions, r.Warnings)
	}
	if r.Wrapper == nil {
		t.Error("README's host has no pgarchive wrapper on its PATH")
	}
	c := parseRendered(t, "readme", r)
	if c == nil {
		t.FailNow()
	}
	var secrets []string
	for _, s := range c.Secrets() {
		secrets = append(secrets, s.ID+"="+s.Path)
	}
	sort.Strings(secrets)
	wantSecrets := []string{
		"targets.b2.secret_files.access_key_id=/run/secrets/b2/id",
		"targets.b2.secret_files.secret_access_key=/run/secrets/b2/key",
		"targets.nas.secret_files.key_file=/run/secrets/nas_ssh",
	}
	if !equal(secrets, wantSecrets) {
		t.Errorf("README's host: secrets %q, want sops-nix's %q", secrets, wantSecrets)
	}
	for _, unit := range []string{"postgresqlBackup-db1", "postgresqlBackup-db2", "pgarchive-prune", "pgarchive-verify"} {
		if _, ok := r.Units[unit]; !ok {
			t.Errorf("README's host has no unit %s", unit)
		}
	}

	// The placeholder as written is refused at build time.
	var settings map[string]any
	if err := json.Unmarshal(r.Settings, &settings); err != nil {
		t.Fatal(err)
	}
	settings["encryption"].(map[string]any)["recipients"] = []string{strings.Trim(readmeRecipient, `"`)}
	raw, _ := json.Marshal(settings)
	if msg, err := checkConfig(t, harness.Binary(t), settingsTOML(t, raw)); err == nil {
		t.Errorf("check-config accepts README's host.nix with %s left in: %s", readmeRecipient, msg)
	} else {
		t.Logf("with %s left in: %s", readmeRecipient, msg)
	}

	wantAgenix := map[string]string{"b2-id": "/run/agenix/b2-id", "b2-key": "/run/agenix/b2-key", "nas-ssh": "/run/agenix/nas-ssh"}
	if fmt.Sprint(rm.Agenix) != fmt.Sprint(wantAgenix) {
		t.Errorf("README's agenix lines give %v, want %v", rm.Agenix, wantAgenix)
	}
}
