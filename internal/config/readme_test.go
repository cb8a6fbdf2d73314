package config

import (
	"os"
	"strings"
	"testing"
)

// The configuration reference in README.md is what users copy: it must
// stay a file the strict parser accepts.
func TestReadmeConfigExampleParses(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	_, block, ok := strings.Cut(section, "```toml\n")
	if !ok {
		t.Fatal("the Configuration section has no toml block")
	}
	block, _, _ = strings.Cut(block, "```")
	c, err := Parse([]byte(block))
	if err != nil {
		t.Fatalf("README's configuration example is refused: %v", err)
	}
	if len(c.Targets) < 2 || c.Retention.Daily == 0 || c.Notify.URLsFile == "" {
		t.Errorf("parsed, but not as documented: %+v", c)
	}
}
