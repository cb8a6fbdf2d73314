package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A reader's config (a laptop's, a monitoring machine's) needs neither
// [encryption] nor a target; push's does, and a section that is there is
// checked either way.
func TestLoadForReading(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noEncryption := write("a.toml", "host = \"pg1\"\n[targets.nas]\ntype = \"local\"\npath = \"/srv/pg\"\n")
	bare := write("b.toml", "host = \"pg1\"\n")
	badEncryption := write("c.toml", "host = \"pg1\"\n[encryption]\nrecipients_file = \"relative\"\n")

	for _, p := range []string{noEncryption, bare} {
		if _, err := LoadForReading(p); err != nil {
			t.Errorf("LoadForReading(%s): %v", filepath.Base(p), err)
		}
	}
	var cerr *Error
	if _, err := Load(noEncryption); !errors.As(err, &cerr) || cerr.Key != "encryption" {
		t.Errorf("Load without [encryption]: %v, want an error naming encryption", err)
	}
	if _, err := Load(bare); err == nil {
		t.Error("Load accepted a config without targets")
	}
	if _, err := LoadForReading(badEncryption); !errors.As(err, &cerr) || cerr.Key != "encryption.recipients_file" {
		t.Errorf("LoadForReading with a bad [encryption]: %v", err)
	}
}
