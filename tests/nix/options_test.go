package nixeval

// docs/options.md, generated from the module by options.nix: it must be
// what options.nix renders now, and name every option the module declares.

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

const optionsDoc = "../../docs/options.md"

// updateDocsEnv rewrites docs/options.md instead of comparing it.
const updateDocsEnv = "PGARCHIVE_UPDATE_DOCS"

type optionsPage struct {
	Markdown string   `json:"markdown"`
	Declared []string `json:"declared"`
}

func renderOptions(t *testing.T) optionsPage {
	t.Helper()
	if os.Getenv("NIXPKGS_LIB") == "" {
		t.Skip("NIXPKGS_LIB is not set: docs/options.md is not checked " +
			"(point it at a checkout of github.com/nix-community/nixpkgs.lib kept outside the repository)")
	}
	file, err := filepath.Abs("options.nix")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nix-instantiate", "--readonly-mode", "--eval", "--strict", "--json",
		"--expr", fmt.Sprintf("import %s { }", file))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate options.nix: %v\n%s", err, stderr.String())
	}
	var p optionsPage
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOptionsDoc fails when docs/options.md is not what options.nix
// renders from nix/module.nix (PGARCHIVE_UPDATE_DOCS=1 writes it), or when
// an option the module declares has no section in it.
func TestOptionsDoc(t *testing.T) {
	p := renderOptions(t)
	if os.Getenv(updateDocsEnv) == "1" {
		if err := os.WriteFile(optionsDoc, []byte(p.Markdown), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d options", optionsDoc, len(p.Declared))
	}
	data, err := os.ReadFile(optionsDoc)
	if err != nil {
		t.Fatalf("%v (write it: %s=1 go test ./tests/nix/ -run TestOptionsDoc)", err, updateDocsEnv)
	}
	doc := string(data)
	if doc != p.Markdown {
		got, want := strings.Split(doc, "\n"), strings.Split(p.Markdown, "\n")
		line := 0
		for line < len(got) && line < len(want) && got[line] == want[line] {
			line++
		}
		at := func(l []string) string {
			if line < len(l) {
				return l[line]
			}
			return "(end of file)"
		}
		t.Errorf("docs/options.md is stale: line %d is %q, nix/module.nix makes it %q; "+
			"regenerate it with %s=1 NIXPKGS_LIB=%s go test ./tests/nix/ -run TestOptionsDoc",
			line+1, at(got), at(want), updateDocsEnv, os.Getenv("NIXPKGS_LIB"))
	}
	if len(p.Declared) < 30 {
		t.Errorf("only %d options declared: %q", len(p.Declared), p.Declared)
	}
	for _, name := range p.Declared {
		if !strings.Contains(doc, "\n## `"+name+"`\n") {
			t.Errorf("docs/options.md has no section for %s", name)
		}
	}
}

// declRe is an option declaration in nix/module.nix: an attribute set to
// lib.mkOption, lib.mkEnableOption, lib.mkPackageOption or the module's
// own `count` (the retention counts).
var declRe = regexp.MustCompile(`(?m)^\s*([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*) =\s*(?:lib\.mk(?:Option|EnableOption|PackageOption)\b|count ")`)

// TestOptionsDocCoversModuleText reads nix/module.nix as text, beside the
// evaluation: every name declared there as an option ends the name of an
// option in docs/options.md. It runs without NIXPKGS_LIB.
func TestOptionsDocCoversModuleText(t *testing.T) {
	src, err := os.ReadFile("../../nix/module.nix")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(optionsDoc)
	if err != nil {
		t.Fatal(err)
	}
	headings := regexp.MustCompile("(?m)^## `([^`]+)`$").FindAllStringSubmatch(string(doc), -1)
	decls := declRe.FindAllStringSubmatch(string(src), -1)
	if len(decls) < 30 {
		t.Fatalf("found only %d option declarations in nix/module.nix", len(decls))
	}
	for _, d := range decls {
		found := false
		for _, h := range headings {
			found = found || strings.HasSuffix(h[1], "."+d[1])
		}
		if !found {
			t.Errorf("nix/module.nix declares the option %s, which docs/options.md does not document", d[1])
		}
	}
}
