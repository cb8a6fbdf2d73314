package config

import (
	"maps"
	"os"
	"slices"
)

// checkFiles refuses a path the config names that exists and is the wrong
// kind: a directory where a file belongs, a file where a directory does.
// A path that does not exist passes: check-config runs in the Nix build
// sandbox, where no secret exists, and the command that reads the file
// says so when it is missing. Nothing is opened, so no secret is read.
func (c *Config) checkFiles() error {
	type want struct {
		key, path string
		dir       bool
	}
	paths := []want{
		{"dump_dir", c.DumpDir, true},
		{"encryption.recipients_file", c.Encryption.RecipientsFile, false},
		{"encryption.passphrase_file", c.Encryption.PassphraseFile, false},
		{"rclone.config_file", c.Rclone.ConfigFile, false},
		{"drill.identity_file", c.Drill.IdentityFile, false},
		{"drill.passphrase_file", c.Drill.PassphraseFile, false},
		{"drill.state_dir", c.Drill.StateDir, true},
		{"notify.urls_file", c.Notify.URLsFile, false},
		{"healthcheck.url_file", c.Healthcheck.URLFile, false},
		{"metrics.textfile", c.Metrics.Textfile, false},
	}
	for _, name := range c.TargetNames() {
		t := c.Targets[name]
		if t.Type == "local" {
			paths = append(paths, want{"targets." + name + ".path", t.Path, true})
		}
		for _, opt := range slices.Sorted(maps.Keys(t.SecretFiles)) {
			paths = append(paths, want{"targets." + name + ".secret_files." + opt, t.SecretFiles[opt], false})
		}
	}
	for _, p := range paths {
		if p.path == "" {
			continue
		}
		fi, err := os.Stat(p.path)
		if err != nil {
			continue
		}
		switch {
		case p.dir && !fi.IsDir():
			return errorf(p.key, "%q is not a directory", p.path)
		case !p.dir && fi.IsDir():
			return errorf(p.key, "%q is a directory, not a file", p.path)
		}
	}
	return nil
}
